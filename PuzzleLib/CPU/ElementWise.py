"""The CPU backend's elementwise kernels: compiled from the table's C, or numpy where no compiler is.

PUZZLELIB_CPU_KERNELS=auto (default) | compiled | numpy chooses the path; auto falls back to
numpy, with one warning, when no host compiler is found or the build fails.
"""

import ctypes, functools, os, struct, threading, warnings

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


def threads(count=None):
	"""The compiled kernels' thread team size (the calling thread included); with count, sets it
	first. count 0 restores the default: OMP_NUM_THREADS when set, else the CPUs this process may
	run on. 1 on the numpy path, which count does not change."""
	path = requestedPath()
	lib = None if path == "numpy" else library(path)
	if lib is None:
		return 1

	if count is None:
		return lib.pz_get_threads()

	if isinstance(count, bool) or not isinstance(count, int) or count < 0:
		raise ValueError("threads takes a thread count >= 0 (0: the default), got %r" % (count, ))
	return lib.pz_set_threads(count)


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
		# the call travels packed (Source.callFormat): bytes pass to C as a pointer to their own
		# memory, unconverted, so that a call pays for one pack instead of one conversion per field
		self.function = getattr(lib, self.name)
		self.function.restype = None
		self.pack = struct.Struct(Source.callFormat(op, dtype)).pack

	def run(self, arrays, span, args):
		start, step, count = span
		if len(arrays) == 2:
			out, source = arrays
			self.function(self.pack(out.ptr, source.ptr, start, step, *args, count))
		else:
			self.function(self.pack(*[ary.ptr for ary in arrays], start, step, *args, count))

	def bind(self, span, args):
		# the packed order: arrays, start, step, params, the random stream, count
		function, pack = self.function, self.pack
		start, step, count = span
		if self.nArrays == 2:
			return lambda a, b, *stream: function(pack(a.ptr, b.ptr, start, step, *args, *stream, count))
		if self.nArrays == 3:
			return lambda a, b, c, *stream: function(pack(a.ptr, b.ptr, c.ptr, start, step, *args, *stream, count))
		return super().bind(span, args)


class NumpyKernel(Kernel):
	"""The formula evaluated by numpy, a cache-sized chunk at a time: the temporaries each step of a
	formula makes then stay in the CPU's cache instead of streaming whole arrays through memory."""

	CHUNK = 1 << 15

	def __init__(self, op, dtype):
		super().__init__(op, dtype)
		self.math = NumpyMath(self.computeType)
		self.writtenArrays = tuple(k for k, operand in enumerate(op.arrays) if operand.isWritten)

	def run(self, arrays, span, args):
		ctype = self.computeType
		params, stream = tuple(ctype(arg) for arg in args[:self.nArgs]), args[self.nArgs:]
		flats = [ary.gpudata.reshape(-1)[span.start::span.step][:span.count] for ary in arrays]

		# overflow to inf (also on the float16 store) and NaN are results here, not events to warn of
		with np.errstate(all="ignore"):
			for first in range(0, span.count, self.CHUNK):
				chunk = [flat[first:first + self.CHUNK] for flat in flats]
				values, arrayIndex = [], 0

				for operand in self.op.operands:
					if operand.isArray:
						if operand.isRead:      # every result is computed before any is stored
							values.append(chunk[arrayIndex].astype(ctype, copy=False))
						arrayIndex += 1
					else:
						indices = span.start + span.step * np.arange(first, first + len(chunk[0]), dtype=np.int64)
						values.append(Philox.RANDOM[operand.role](*stream, indices).astype(ctype, copy=False))

				results = self.op.results(self.op.formula(self.math, *values, *params))
				for k, result in zip(self.writtenArrays, results):
					np.copyto(chunk[k], result, casting="same_kind")


@functools.lru_cache(maxsize=None)
def kernel(op, dtype, path=None):
	"""The memoized kernel of one table entry and dtype."""
	path = requestedPath() if path is None else path
	if path not in PATHS:
		raise KernelError("kernel path must be one of %s, got %r" % (", ".join(PATHS), path))

	lib = None if path == "numpy" else library(path)
	return NumpyKernel(op, dtype) if lib is None else CompiledKernel(op, dtype, lib)
