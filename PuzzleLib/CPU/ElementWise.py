"""The CPU backend's elementwise kernels: compiled from the table's C, or numpy where no compiler is.

PUZZLELIB_CPU_KERNELS=auto (default) | compiled | numpy chooses the path; auto falls back to
numpy, with one warning, when no host compiler is found or the build fails.
"""

import ctypes, functools, os, threading, warnings

import numpy as np

from PuzzleLib import Config
from PuzzleLib.CPU import HostCompiler, Source
from PuzzleLib.CPU.GPUArray import GPUArray, isContiguous
from PuzzleLib.Kernels.Activations import DIRECTIONS, checkArgs, kernelFormula
from PuzzleLib.Kernels.Codegen import kernelName
from PuzzleLib.Kernels.Expression import NumpyMath
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, SHORT_NAME, KernelError, checkOperands, resolveSlice


PATHS = ("auto", "compiled", "numpy")


class KernelWarning(UserWarning):
	pass


def warnOnce(message):
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

	return HostCompiler.load(Source.librarySource(), cc, warn=warnOnce)


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
				warnOnce("CPU kernels fall back to numpy (slower, same results): %s" % e)
			return None


class Kernel:
	"""ker(out, *operands, *args, slice=None): out[i] = f(operands[i]) for i in the flat slice.

	Elements outside the slice are not touched.
	"""

	def __init__(self, spec, direction, dtype):
		self.spec, self.direction, self.dtype = spec, direction, dtype
		self.name = kernelName(spec, direction, SHORT_NAME[dtype])
		self.nOperands = len(DIRECTIONS[direction])
		self.computeType = np.float32 if COMPUTE_CTYPE[dtype] == "float" else np.float64

	def __call__(self, out, *operandsAndArgs, slice=None):
		operands, args = operandsAndArgs[:self.nOperands], operandsAndArgs[self.nOperands:]
		if len(operands) != self.nOperands:
			raise KernelError("%s kernel takes %d array(s) after the output, got %d" % (
				self.name, self.nOperands, len(operands)
			))

		try:
			args = checkArgs(self.spec, args)
		except ValueError as e:
			raise KernelError("%s kernel: %s" % (self.name, e)) from None

		checkOperands(self.name, self.dtype, (out, ) + operands, GPUArray, isContiguous)
		span = resolveSlice(slice, out.size)

		if span.count > 0:
			self.run(out, operands, span, args)

	def run(self, out, operands, span, args):
		raise NotImplementedError


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
	def __init__(self, spec, direction, dtype):
		super().__init__(spec, direction, dtype)
		self.formula = kernelFormula(spec, direction)[1]

	def run(self, out, operands, span, args):
		def flat(ary):
			return ary.gpudata.reshape(-1)[span.start::span.step][:span.count]

		ctype = self.computeType
		values = [flat(operand).astype(ctype) for operand in operands]

		with np.errstate(all="ignore"):
			result = self.formula(NumpyMath, *values, *(ctype(arg) for arg in args))

		flat(out)[...] = result.astype(self.dtype)


@functools.lru_cache(maxsize=None)
def kernel(spec, direction, dtype, path=None):
	"""The memoized kernel of one activation, direction ("forward"/"backward") and dtype."""
	path = requestedPath() if path is None else path
	if path not in PATHS:
		raise KernelError("kernel path must be one of %s, got %r" % (", ".join(PATHS), path))

	lib = None if path == "numpy" else library(path)
	return NumpyKernel(spec, direction, dtype) if lib is None else CompiledKernel(spec, direction, dtype, lib)
