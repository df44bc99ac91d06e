"""The CPU backend's elementwise kernels: compiled from the table's C, or numpy where no compiler is.

PUZZLELIB_CPU_KERNELS=auto (default) | compiled | numpy chooses the path; auto falls back to
numpy, with one warning, when no host compiler is found or the build fails.
"""

import ctypes, functools, os, threading, warnings

import numpy as np

from PuzzleLib import Config
from PuzzleLib.CPU import HostCompiler, Source
from PuzzleLib.CPU.GPUArray import GPUArray, isContiguous
from PuzzleLib.Kernels.Activations import kernelFormula
from PuzzleLib.Kernels.Expression import NumpyMath
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, ElementwiseKernel, KernelError


PATHS = ("auto", "compiled", "numpy")


class KernelWarning(UserWarning):
	pass


def warn(message):
	"""Reports trouble with the kernels once, as a KernelWarning (when Config.showWarnings); an
	application that wants it in its log calls logging.captureWarnings(True)."""
	if Config.showWarnings:
		warnings.warn(message, KernelWarning, stacklevel=3)


def requestedPath():
	path = os.environ.get("PUZZLELIB_CPU_KERNELS", "auto").strip().lower() or "auto"
	if path not in PATHS:
		raise KernelError("PUZZLELIB_CPU_KERNELS=%r: expected one of %s" % (path, ", ".join(PATHS)))
	return path


_libraryLock = threading.Lock()


@functools.lru_cache(maxsize=None)
def _build():
	cc = HostCompiler.findCompiler()
	if cc is None:
		raise HostCompiler.CompilerError("no host C compiler found (set CC, or install gcc)")

	return HostCompiler.load(Source.librarySource(), cc, warn=warn)


def library(path):
	"""The compiled kernel library, or None when path is auto and it cannot be built."""
	with _libraryLock:
		try:
			return _build()
		except (HostCompiler.CompilerError, OSError) as e:
			if path == "compiled":
				raise
			if not getattr(library, "warned", False):
				library.warned = True
				warn("CPU kernels fall back to numpy (slower, same results): %s" % e)
			return None


@functools.lru_cache(maxsize=None)
def copyBytes():
	"""The library's memcpy split over the cores, copy_bytes(dst, src, nbytes); None on the numpy path."""
	path = requestedPath()
	lib = None if path == "numpy" else library(path)
	if lib is None:
		return None

	function = lib.copy_bytes
	function.argtypes, function.restype = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64], None
	return function


class Kernel(ElementwiseKernel):
	"""ker(out, *operands, *args, slice=None): out[i] = f(operands[i]) for i in the flat slice.

	Elements outside the slice are not touched. The call's checks are ElementwiseKernel's.
	"""

	arrayType = GPUArray
	isContiguous = staticmethod(isContiguous)

	def __init__(self, spec, direction, dtype):
		super().__init__(spec, direction, dtype)
		self.computeType = np.float32 if COMPUTE_CTYPE[dtype] == "float" else np.float64


class CompiledKernel(Kernel):
	def __init__(self, spec, direction, dtype, lib):
		super().__init__(spec, direction, dtype)
		self.function = getattr(lib, self.name)

		argType = ctypes.c_float if self.computeType == np.float32 else ctypes.c_double
		self.function.argtypes = (
			[ctypes.c_void_p] * (1 + self.nOperands) + [ctypes.c_int64] * 3 + [argType] * len(spec.params)
		)
		self.function.restype = None

	def run(self, out, operands, span, args):
		self.function(out.ptr, *(operand.ptr for operand in operands), *span, *args)


class NumpyKernel(Kernel):
	"""The formula evaluated by numpy, a cache-sized chunk at a time: the temporaries each step of a
	formula makes then stay in the CPU's cache instead of streaming whole arrays through memory."""

	CHUNK = 1 << 15

	def __init__(self, spec, direction, dtype):
		super().__init__(spec, direction, dtype)
		self.formula = kernelFormula(spec, direction)[1]
		self.math = NumpyMath(self.computeType)

	def run(self, out, operands, span, args):
		ctype = self.computeType
		args = tuple(ctype(arg) for arg in args)
		flats = [ary.gpudata.reshape(-1)[span.start::span.step][:span.count] for ary in (out, ) + tuple(operands)]

		# overflow to inf (also on the float16 store) and NaN are results here, not events to warn of
		with np.errstate(all="ignore"):
			for start in range(0, span.count, self.CHUNK):
				chunk = [flat[start:start + self.CHUNK] for flat in flats]
				values = [operand.astype(ctype, copy=False) for operand in chunk[1:]]    # formulas never write them
				np.copyto(chunk[0], self.formula(self.math, *values, *args), casting="same_kind")


@functools.lru_cache(maxsize=None)
def kernel(spec, direction, dtype, path=None):
	"""The memoized kernel of one activation, direction ("forward"/"backward") and dtype."""
	path = requestedPath() if path is None else path
	if path not in PATHS:
		raise KernelError("kernel path must be one of %s, got %r" % (", ".join(PATHS), path))

	lib = None if path == "numpy" else library(path)
	return NumpyKernel(spec, direction, dtype) if lib is None else CompiledKernel(spec, direction, dtype, lib)
