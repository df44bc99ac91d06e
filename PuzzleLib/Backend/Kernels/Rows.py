"""What the row kernels' facades (MatVec, Dnn) share: the backend's kernels, the (N, C, S) view, checks."""

import math

import numpy as np

from PuzzleLib import Backend
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Kernels.Launch import KernelError, kernelDtype

if Backend.isCuda:
	from PuzzleLib.Cuda.Rows import kernel
else:
	from PuzzleLib.CPU.Rows import kernel


def checkTensor(ary, what, name, minDims=1):
	"""A contiguous float GPUArray of at least minDims dims; returns its dtype."""
	if not isinstance(ary, gpuarray.GPUArray):
		raise KernelError("%s: %s must be a gpuarray.GPUArray, got %s" % (what, name, type(ary).__name__))
	if len(ary.shape) < minDims:
		raise KernelError("%s: %s must have at least %d dimension(s), got shape %s" % (what, name, minDims, ary.shape))
	if not gpuarray.isContiguous(ary):
		raise KernelError("%s: %s must be C-contiguous" % (what, name))

	try:
		return kernelDtype(ary.dtype)
	except KernelError as e:
		raise KernelError("%s: %s: %s" % (what, name, e)) from None


def checkAxis(axis, ndim, what):
	if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -ndim <= axis < ndim:
		raise KernelError("%s: axis must be an int in [%d, %d), got %r" % (what, -ndim, ndim, axis))
	return int(axis) % ndim


def checkOut(out, shape, dtype, what, sources=()):
	"""A given out must be a contiguous array of the result's shape and dtype, not overlapping a source
	shifted (the very same array is allowed where the kernel reads each element before writing it)."""
	if not isinstance(out, gpuarray.GPUArray):
		raise KernelError("%s: out must be a gpuarray.GPUArray, got %s" % (what, type(out).__name__))
	if out.shape != tuple(shape) or out.dtype != dtype:
		raise KernelError("%s: out must be %s %s, got %s %s" % (what, tuple(shape), np.dtype(dtype), out.shape, out.dtype))
	if not gpuarray.isContiguous(out):
		raise KernelError("%s: out must be C-contiguous" % what)

	for source in sources:
		if out.size and source.size and out.ptr != source.ptr and \
				out.ptr < source.ptr + source.nbytes and source.ptr < out.ptr + out.nbytes:
			raise KernelError("%s: out overlaps an input without being it" % what)


def view(shape, axis):
	"""(N, C, S) of a shape seen along axis."""
	return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


_bound = {}
_BOUND_KEPT = 256


def bound(name, dtype, shape, axis=1):
	"""fn(*arrays): row kernel name of dtype over arrays of shape seen along axis (shape not empty),
	its view and launch worked out once per (name, dtype, shape, axis): a model calls it with the
	same few shapes over and over. Arguments checked already."""
	key = (name, dtype, shape, axis)
	try:
		return _bound[key]
	except KeyError:
		pass

	N, C, S = view(shape, axis)
	call = kernel(name, dtype).bind(N, C, S)
	if len(_bound) >= _BOUND_KEPT:
		_bound.clear()
	_bound[key] = call
	return call


def newArray(shape, dtype):
	return gpuarray.empty(shape, dtype=dtype, allocator=gpuarray.memoryPool)
