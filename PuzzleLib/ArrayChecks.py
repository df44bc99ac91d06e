"""What both backends' gpuarray check of their arguments, with the same errors: shapes, dtypes and
host arrays. (pycuda itself would take a negative size as an OverflowError, a dtype of None as
float64.)"""

import numpy as np


# the last tuple that passed: a model hands the same shape object from array to array (held here,
# so that its identity is not reused by another object)
_lastShape = ()


def checkShape(shape):
	"""A shape as a tuple of ints >= 0 (an int is a 1-D shape); TypeError or ValueError otherwise."""
	global _lastShape
	if shape is _lastShape:
		return shape

	if type(shape) is tuple and all(type(dim) is int and dim >= 0 for dim in shape):
		_lastShape = shape
		return shape

	if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
		shape = (shape, )

	try:
		shape = tuple(shape)
	except TypeError:
		raise TypeError("shape must be an int or a tuple of ints, got %r" % (shape, )) from None

	for dim in shape:
		if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)):
			raise TypeError("shape must be an int or a tuple of ints, got %r" % (shape, ))
		if dim < 0:
			raise ValueError("shape must not have negative dimensions, got %r" % (shape, ))

	return tuple(int(dim) for dim in shape)


def parseDtype(requested, error, allowed, expected, refusal):
	"""requested as a numpy dtype in allowed (anything with `in`), else error(message): expected
	says what is asked for, for a request that is no dtype; refusal, with %s for the dtype, refuses
	one outside allowed. None is refused, which np.dtype would silently take for float64."""
	if requested is None:
		raise error("%s, got None" % expected)

	try:
		dtype = np.dtype(requested)
	except TypeError:
		raise error("%s, got %r" % (expected, requested)) from None

	if dtype not in allowed:
		raise error(refusal % dtype)

	return dtype


class Kinds:
	"""The dtypes of some numpy kinds ("biuf": booleans, integers, floats), as parseDtype's allowed."""

	def __init__(self, kinds):
		self.kinds = kinds

	def __contains__(self, dtype):
		return dtype.kind in self.kinds


VALUE_KINDS = Kinds("biuf")

_dtypes = {}


def checkDtype(requested):
	"""The numpy dtype asked for, of booleans, integers or floats; a TypeError otherwise."""
	try:
		return _dtypes[requested]
	except (KeyError, TypeError):           # TypeError: an unhashable request, refused below
		pass

	dtype = parseDtype(
		requested, TypeError, VALUE_KINDS, "dtype must be a numpy dtype", "arrays hold booleans, integers or floats, not %s"
	)
	_dtypes[requested] = dtype
	return dtype


def checkHost(ary, arrayType):
	"""A host ndarray to copy to the device (arrayType: the backend's device array)."""
	if isinstance(ary, arrayType):
		raise TypeError("to_gpu takes a host numpy array; this is already a GPUArray")
	if not isinstance(ary, np.ndarray):
		raise TypeError("to_gpu takes a numpy ndarray, got %s" % type(ary).__name__)
	checkDtype(ary.dtype)
