"""What every backend's elementwise kernel checks and resolves before it runs: pure Python."""

import itertools, math
from collections import namedtuple

import numpy as np

from PuzzleLib.Kernels.Activations import DIRECTIONS, checkArgs
from PuzzleLib.Kernels.Codegen import kernelName


# dtype -> the C type the math is computed in: float16 computes in float32 and rounds once
COMPUTE_CTYPE = {
	np.dtype(np.float16): "float",
	np.dtype(np.float32): "float",
	np.dtype(np.float64): "double"
}

SHORT_NAME = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def dtypesSupported():
	"""(dtype, atol) of every dtype the kernels exist in, as the original's Backend.Utils gave them."""
	return [(np.float32, 1e-5), (np.float16, 1e-2), (np.float64, 1e-8)]


class KernelError(ValueError):
	pass


def kernelDtype(dtype):
	if dtype is None:                # np.dtype(None) would silently mean float64
		raise KernelError("kernel dtype must be a numpy float dtype, got None")

	try:
		dtype = np.dtype(dtype)
	except TypeError:
		raise KernelError("kernel dtype must be a numpy float dtype, got %r" % (dtype, )) from None

	if dtype not in COMPUTE_CTYPE:
		raise KernelError(
			"kernels exist for float16, float32 and float64, not %s" % dtype
		)

	return dtype


Range = namedtuple("Range", ["start", "step", "count"])


def resolveSlice(slc, size):
	"""The flat element range a `slice=` argument selects, resolved like slice.indices(size)."""
	if slc is None:
		return Range(0, 1, size)

	checkSlice(slc)
	start, stop, step = slc.indices(size)
	return Range(start, step, len(range(start, stop, step)))


def checkSlice(slc):
	if not isinstance(slc, slice):
		raise KernelError("slice must be a Python slice or None, got %r" % (slc, ))

	for part in (slc.start, slc.stop, slc.step):
		if part is not None and (isinstance(part, bool) or not isinstance(part, (int, np.integer))):
			raise KernelError("slice bounds must be integers or None, got %r" % (slc, ))

	if slc.step == 0:
		raise KernelError("slice step must not be zero, got %r" % (slc, ))


def checkOperands(name, dtype, arrays, arrayType, contiguous):
	"""Every array is of the backend's type, the kernel's dtype, one size, C-contiguous, and no input
	overlaps the output unless it is the output."""
	first = arrays[0]

	for index, ary in enumerate(arrays):
		if not isinstance(ary, arrayType):
			raise KernelError("%s kernel: operand %d must be a %s.%s, got %s" % (
				name, index, arrayType.__module__, arrayType.__name__, type(ary).__name__
			))

		if ary.dtype != dtype:
			raise KernelError("%s kernel: operand %d has dtype %s, the kernel is for %s" % (name, index, ary.dtype, dtype))

		if ary.size != first.size:
			raise KernelError("%s kernel: operand %d has %d elements, operand 0 has %d" % (
				name, index, ary.size, first.size
			))

		if not contiguous(ary):
			raise KernelError("%s kernel: operand %d is not C-contiguous" % (name, index))

	if first.size == 0:
		return          # nothing is written (and pycuda's empty arrays have no address)

	# an input may be the output itself (inplace), but not overlap it shifted: it would be read
	# after it is written, in an order that depends on the vectorization and the threads
	start = int(first.ptr)
	for index, ary in enumerate(arrays[1:], 1):
		other = int(ary.ptr)
		if other != start and other < start + first.nbytes and start < other + ary.nbytes:
			raise KernelError("%s kernel: operand %d overlaps the output (operand 0) without being it; "
				"only the very same array may be both" % (name, index))


class ElementwiseKernel:
	"""ker(out, *operands, *args, slice=None): out[i] = f(operands[i]) for i in the flat slice.

	Elements outside the slice are not touched. A `stream=` keyword, which the original's callers
	pass, is accepted and ignored: kernels run in the default stream. The checks every backend makes before a kernel
	runs live here once; a backend subclass names its array type and contiguity test and
	implements run(out, operands, span, args), which is called only when the slice selects at
	least one element, with args already validated floats.
	"""

	arrayType = None                 # the backend's GPUArray class
	isContiguous = None              # staticmethod(ary -> bool)

	def __init__(self, spec, direction, dtype):
		self.spec, self.direction, self.dtype = spec, direction, dtype
		self.name = kernelName(spec, direction, SHORT_NAME[dtype])
		self.nOperands = len(DIRECTIONS[direction])
		self.checkedArgs = {}

	# a model calls a kernel with the same few args over and over: validate each set once
	CHECKED_ARGS_KEPT = 64

	def __call__(self, out, *operandsAndArgs, slice=None, stream=None):
		operands, args = operandsAndArgs[:self.nOperands], operandsAndArgs[self.nOperands:]
		if len(operands) != self.nOperands:
			raise KernelError("%s kernel takes %d array(s) after the output, got %d" % (
				self.name, self.nOperands, len(operands)
			))

		if args or self.spec.params:
			args = self.checkArgs(args)

		checkOperands(self.name, self.dtype, (out, ) + operands, self.arrayType, self.isContiguous)
		span = resolveSlice(slice, out.size)

		if span.count > 0:
			self.run(out, operands, span, args)

	def checkArgs(self, args):
		# args that compare equal may still differ: True == 1.0 == 1 (a bool is refused) and
		# -0.0 == 0.0 (clip to min=-0.0 gives -0.0), so the key holds the types and the signs
		try:
			key = (args, tuple(map(type, args)), tuple(map(math.copysign, itertools.repeat(1.0), args)))
			return self.checkedArgs[key]
		except KeyError:
			pass
		except (TypeError, ValueError, OverflowError):     # a bad arg, which checkArgs refuses
			key = None

		try:
			checked = checkArgs(self.spec, args, COMPUTE_CTYPE[self.dtype])
		except ValueError as e:
			raise KernelError("%s kernel: %s" % (self.name, e)) from None

		if key is not None:
			if len(self.checkedArgs) >= self.CHECKED_ARGS_KEPT:
				self.checkedArgs.clear()
			self.checkedArgs[key] = checked
		return checked

	def run(self, out, operands, span, args):
		raise NotImplementedError
