"""libcublas through ctypes: found the way CuPy finds it, bound to the few entry points used.

The library is looked for, in order: the path in $PUZZLELIB_CUBLAS; the names libcublas.so.13,
libcublas.so.12 and libcublas.so as the dynamic loader resolves them (so LD_LIBRARY_PATH wins);
the CUDA toolkit's lib64 ($CUDA_PATH, $CUDA_HOME, /usr/local/cuda); the nvidia-cublas wheels
(site-packages/nvidia/cublas/lib, nvidia/cu13/lib). Where none loads, ConfigError lists what was
tried. Importing this module loads nothing; the first handle() does. Pure ctypes: no pycuda here.
"""

import atexit, ctypes, glob, os, site, sys, threading

from PuzzleLib import Config


# cublasOperation_t, cudaDataType, cublasComputeType_t, cublasGemmAlgo_t, cublasMath_t
OP_N, OP_T = 0, 1
CUDA_R_32F, CUDA_R_64F, CUDA_R_16F = 0, 1, 2
COMPUTE_32F = 68
GEMM_DEFAULT = -1
DEFAULT_MATH = 0            # no TF32: float32 products keep float32's accuracy

NAMES = ("libcublas.so.13", "libcublas.so.12", "libcublas.so")

c_int, c_void_p = ctypes.c_int, ctypes.c_void_p
c_float_p, c_double_p = ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_double)

# name -> argument types; every entry point returns a cublasStatus_t (int) but the last
PROTOTYPES = {
	"cublasCreate_v2": [ctypes.POINTER(c_void_p)],
	"cublasDestroy_v2": [c_void_p],
	"cublasSetStream_v2": [c_void_p, c_void_p],
	"cublasGetVersion_v2": [c_void_p, ctypes.POINTER(c_int)],
	"cublasSetMathMode": [c_void_p, c_int],
	"cublasSgemm_v2": [
		c_void_p, c_int, c_int, c_int, c_int, c_int, c_float_p, c_void_p, c_int, c_void_p, c_int, c_float_p, c_void_p, c_int
	],
	"cublasDgemm_v2": [
		c_void_p, c_int, c_int, c_int, c_int, c_int, c_double_p, c_void_p, c_int, c_void_p, c_int, c_double_p, c_void_p, c_int
	],
	"cublasGemmEx": [
		c_void_p, c_int, c_int, c_int, c_int, c_int, c_void_p, c_void_p, c_int, c_int, c_void_p, c_int, c_int,
		c_void_p, c_void_p, c_int, c_int, c_int, c_int
	],
	"cublasGetStatusString": [c_int],
}


class CublasError(RuntimeError):
	pass


def _sitePackages():
	folders = list(sys.path)
	try:
		folders += site.getsitepackages() + [site.getusersitepackages()]
	except AttributeError:          # a virtualenv's old site module
		pass
	return [folder for folder in dict.fromkeys(folders) if folder and os.path.isdir(folder)]


def candidates():
	"""What to try dlopen on, in order (paths that do not exist are left out)."""
	tried = []

	explicit = os.environ.get("PUZZLELIB_CUBLAS")
	if explicit:
		tried.append(explicit)

	tried.extend(NAMES)

	roots = [os.environ.get("CUDA_PATH"), os.environ.get("CUDA_HOME"), "/usr/local/cuda"]
	for root in dict.fromkeys(root for root in roots if root):
		for folder in ("lib64", "lib", os.path.join("targets", "x86_64-linux", "lib")):
			tried.extend(sorted(glob.glob(os.path.join(root, folder, "libcublas.so*")), reverse=True))

	for folder in _sitePackages():
		for wheel in (os.path.join("nvidia", "cublas", "lib"), os.path.join("nvidia", "cu13", "lib")):
			tried.extend(sorted(glob.glob(os.path.join(folder, wheel, "libcublas.so*")), reverse=True))

	return list(dict.fromkeys(tried))


def bind(lib):
	"""Sets the prototypes of the entry points on a loaded library; AttributeError names a missing one."""
	for name, argtypes in PROTOTYPES.items():
		function = getattr(lib, name)
		function.argtypes = argtypes
		function.restype = ctypes.c_char_p if name == "cublasGetStatusString" else c_int
	return lib


def load():
	"""The first candidate that loads and has every entry point; ConfigError when none does."""
	explicit = os.environ.get("PUZZLELIB_CUBLAS")
	failures = []

	for candidate in candidates():
		try:
			return bind(ctypes.CDLL(candidate))
		except (OSError, AttributeError) as e:
			if candidate == explicit:
				raise Config.ConfigError("PUZZLELIB_CUBLAS=%s does not load as cuBLAS: %s" % (explicit, e)) from None
			failures.append("%s (%s)" % (candidate, e))

	raise Config.ConfigError(
		"cuBLAS not found (install the CUDA toolkit or `pip install nvidia-cublas`, or set PUZZLELIB_CUBLAS "
		"to libcublas.so); tried: %s" % "; ".join(failures)
	)


class Handle:
	"""One cuBLAS handle on pycuda's default stream, in default math mode; checked calls."""

	def __init__(self, lib):
		self.lib = lib
		self.value = c_void_p()
		self.check(lib.cublasCreate_v2(ctypes.byref(self.value)), "cublasCreate_v2")

		try:
			self.check(lib.cublasSetStream_v2(self.value, None), "cublasSetStream_v2")
			self.check(lib.cublasSetMathMode(self.value, DEFAULT_MATH), "cublasSetMathMode")

			version = c_int()
			self.check(lib.cublasGetVersion_v2(self.value, ctypes.byref(version)), "cublasGetVersion_v2")
			self.version = version.value
		except CublasError:
			self.destroy()
			raise

	def check(self, status, call):
		if status != 0:
			text = self.lib.cublasGetStatusString(status)
			raise CublasError("%s failed: %s (status %d)" % (call, text.decode() if text else "unknown", status))

	def destroy(self):
		if self.value:
			self.lib.cublasDestroy_v2(self.value)
			self.value = c_void_p()


_handle = None
_lock = threading.Lock()


def handle():
	"""The process's handle, created at first use (the CUDA context must be current)."""
	global _handle
	with _lock:
		if _handle is None:
			_handle = Handle(load())
			atexit.register(release)        # runs before the context is popped (registered later)
		return _handle


def release():
	global _handle
	with _lock:
		if _handle is not None:
			_handle.destroy()
			_handle = None
