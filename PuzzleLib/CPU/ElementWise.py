"""The CPU backend's elementwise kernels: compiled from the table's C, or numpy where no compiler is.

PUZZLELIB_CPU_KERNELS=auto (default) | compiled | numpy chooses the path; auto falls back to
numpy, with one warning, when no host compiler is found or the build fails.
"""

import ctypes, functools, os, threading, warnings

import numpy as np

from PuzzleLib import Config
from PuzzleLib.CPU import HostCompiler, Source
from PuzzleLib.CPU.GPUArray import GPUArray, isContiguous
from PuzzleLib.Kernels import Philox
from PuzzleLib.Kernels.Expression import NumpyMath
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, ElementwiseKernel, KernelError


PATHS = ("auto", "compiled", "numpy")


class KernelWarning(UserWarning):
	pass


def warn(message):
	"""Reports trouble with the kernels: to the log (when Config.showWarnings) and as a KernelWarning."""
	if Config.showWarnings:
		Config.getLogger().warning(message)
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


@functools.lru_cache(maxsize=None)
def philoxWords():
	"""words(out, key, counter): the Philox stream's raw words into a contiguous uint32 array."""
	path = requestedPath()
	lib = None if path == "numpy" else library(path)
	if lib is None:
		def words(out, key, counter):
			out.gpudata.reshape(-1)[...] = Philox.words(key, counter, np.arange(out.size, dtype=np.int64))
		return words

	function = lib.philox_words
	function.argtypes, function.restype = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64], None
	return lambda out, key, counter: function(out.ptr, out.size, key, counter)


class Kernel(ElementwiseKernel):
	"""ker(*arrays, *args, slice=None): one table entry over the flat slice (ElementwiseKernel's call)."""

	arrayType = GPUArray
	isContiguous = staticmethod(isContiguous)

	def __init__(self, op, dtype):
		super().__init__(op, dtype)
		self.computeType = np.float32 if COMPUTE_CTYPE[dtype] == "float" else np.float64


class CompiledKernel(Kernel):
	def __init__(self, op, dtype, lib):
		super().__init__(op, dtype)
		self.function = getattr(lib, self.name)

		argType = ctypes.c_float if self.computeType == np.float32 else ctypes.c_double
		self.function.argtypes = (
			[ctypes.c_void_p] * self.nArrays + [ctypes.c_int64] * 3 + [argType] * self.nArgs +
			[ctypes.c_int64] * (2 if op.isRandom else 0)
		)
		self.function.restype = None

	def run(self, arrays, span, args):
		self.function(*(ary.ptr for ary in arrays), *span, *args)


class NumpyKernel(Kernel):
	def run(self, arrays, span, args):
		def flat(ary):
			return ary.gpudata.reshape(-1)[span.start::span.step][:span.count]

		ctype = self.computeType
		params, stream = args[:self.nArgs], args[self.nArgs:]
		values, arrayIndex = [], 0

		for operand in self.op.operands:
			if operand.isArray:
				if operand.isRead:
					values.append(flat(arrays[arrayIndex]).astype(ctype))
				arrayIndex += 1
			else:
				indices = span.start + span.step * np.arange(span.count, dtype=np.int64)
				values.append(Philox.RANDOM[operand.role](*stream, indices).astype(ctype))

		# overflow to inf (also on the float16 store) and NaN are results here, not events to warn of
		with np.errstate(all="ignore"):
			results = self.op.results(self.op.formula(NumpyMath(ctype), *values, *(ctype(arg) for arg in params)))
			written = [(ary, dtype) for ary, dtype, operand in zip(arrays, self.dtypes, self.op.arrays) if operand.isWritten]
			for (ary, dtype), result in zip(written, results):
				flat(ary)[...] = np.asarray(result).astype(dtype)


@functools.lru_cache(maxsize=None)
def kernel(op, dtype, path=None):
	"""The memoized kernel of one table entry and dtype."""
	path = requestedPath() if path is None else path
	if path not in PATHS:
		raise KernelError("kernel path must be one of %s, got %r" % (", ".join(PATHS), path))

	lib = None if path == "numpy" else library(path)
	return NumpyKernel(op, dtype) if lib is None else CompiledKernel(op, dtype, lib)
