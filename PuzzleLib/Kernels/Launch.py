"""What every backend's elementwise kernel checks and resolves before it runs: pure Python."""

from collections import namedtuple

import numpy as np


# dtype -> the C type the math is computed in: float16 computes in float32 and rounds once
COMPUTE_CTYPE = {
	np.dtype(np.float16): "float",
	np.dtype(np.float32): "float",
	np.dtype(np.float64): "double"
}

SHORT_NAME = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


class KernelError(ValueError):
	pass


def kernelDtype(dtype):
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
	"""Every array is of the backend's type, the kernel's dtype, one size, and C-contiguous."""
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
