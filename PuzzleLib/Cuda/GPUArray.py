"""The CUDA backend's arrays: pycuda's GPUArray itself, a pooled allocator and the facade's helpers.

Imported only when the cuda backend is chosen (it imports pycuda and needs a device).
"""

import atexit

import numpy as np

from PuzzleLib import Config
from PuzzleLib.ArrayChecks import checkDtype, checkHost, checkShape
from PuzzleLib.Cuda import Driver
from PuzzleLib.Kernels.Launch import dtypesSupported    # noqa: F401 (the facade takes it from here)
from PuzzleLib.Kernels.SharedArray import SharedArrayBase

Driver.initialise(Config.deviceIdx)    # done already by the backend's selection; a no-op then

import pycuda.driver as drv                                   # noqa: E402
from pycuda import gpuarray as _pycudaArrays                  # noqa: E402
from pycuda.gpuarray import GPUArray                          # noqa: E402
from pycuda.tools import DeviceMemoryPool                     # noqa: E402


class MemoryPool(DeviceMemoryPool):
	"""pycuda's device memory pool, callable as scripts use it (allocator=memoryPool), with the
	CPU pool's names beside pycuda's (free_held, held_blocks, active_blocks)."""

	__call__ = DeviceMemoryPool.allocate

	def freeHeld(self):
		"""Returns every held block to the device."""
		self.free_held()

	@property
	def heldBytes(self):
		"""Device bytes the pool holds for reuse.

		pycuda counts the bin sizes it manages and the sizes its live blocks asked for, not the
		held bins, so while blocks are held this also counts the rounding slack of live ones.
		"""
		return self.managed_bytes - self.active_bytes if self.held_blocks > 0 else 0

	@property
	def heldBlocks(self):
		return self.held_blocks

	@property
	def activeBlocks(self):
		return self.active_blocks


memoryPool = MemoryPool()

# atexit runs last-registered first, so this runs before Driver pops the context: held blocks go
# back to the device, and blocks of arrays that outlive atexit (module globals) go straight back
# when freed. A pool still holding would take the then current context for a block freed after
# the pop, find none, and pycuda would abort the process from a destructor.
atexit.register(memoryPool.stop_holding)


def _allocator(allocator):
	return drv.mem_alloc if allocator is None else allocator


def to_gpu(ary, allocator=None):
	"""A C-contiguous device copy of a host array (as the CPU backend's, whatever ary's order)."""
	checkHost(ary, GPUArray)
	# not np.ascontiguousarray: it makes a 0-d array 1-d
	host = ary if ary.flags.c_contiguous else ary.copy(order="C")
	return _pycudaArrays.to_gpu(host, allocator=_allocator(allocator))


def empty(shape, dtype=np.float32, allocator=None):
	shape, dtype, allocator = checkShape(shape), checkDtype(dtype), _allocator(allocator)

	# pycuda's constructor re-derives its attributes (strides, sizes, launch shape) from shape and
	# dtype at every call, most of a small module call's host time: they are taken from an array of
	# the same shape and dtype made by that constructor, read before anything else touched it
	try:
		attributes = _attributesOf[shape, dtype]
	except KeyError:
		ary = GPUArray(shape, dtype, allocator=allocator)
		attributes = {name: value for name, value in vars(ary).items() if name not in ("gpudata", "allocator")}
		if len(_attributesOf) >= _ATTRIBUTES_KEPT:
			_attributesOf.clear()
		_attributesOf[shape, dtype] = attributes
		return ary

	return _fromAttributes(attributes, allocator)


_attributesOf = {}             # (shape, dtype) -> the attributes pycuda's constructor sets, but memory
_ATTRIBUTES_KEPT = 256


def _fromAttributes(attributes, allocator):
	"""A new array with the attributes of another of its shape and dtype, and memory of its own."""
	ary = GPUArray.__new__(GPUArray)
	ary.__dict__.update(attributes)
	ary.allocator = allocator
	ary.gpudata = allocator(attributes["nbytes"]) if attributes["size"] else None
	return ary


def pooledLike(ary):
	"""A new C-contiguous array of ary's shape and dtype from memoryPool: what a module's pass writes
	its output into. ary is a GPUArray, whose shape and dtype need no check."""
	try:
		attributes = _attributesOf[ary.shape, ary.dtype]
	except KeyError:
		return empty(ary.shape, ary.dtype, memoryPool)
	return _fromAttributes(attributes, memoryPool)


def zeros(shape, dtype=np.float32, allocator=None):
	ary = empty(shape, dtype, allocator)
	if ary.size > 0:
		drv.memset_d8(ary.ptr, 0, ary.nbytes)    # all-zero bytes are 0 in every dtype here
	return ary


def copy(dest, source, allocator=None):
	"""Copies source into dest on the device; with dest None, into a new array. Returns dest."""
	if not isinstance(source, GPUArray):
		raise TypeError("copy takes GPUArrays, got source %s" % type(source).__name__)

	if dest is None:
		dest = empty(source.shape, source.dtype, allocator)

	if not isinstance(dest, GPUArray):
		raise TypeError("copy takes GPUArrays, got dest %s" % type(dest).__name__)
	if dest.size != source.size or dest.dtype != source.dtype:
		raise ValueError("copy: %s %s into %s %s" % (source.shape, source.dtype, dest.shape, dest.dtype))

	if source.size == 0 or dest.ptr == source.ptr and dest.strides == source.strides:
		return dest

	if isContiguous(dest) and isContiguous(source):
		drv.memcpy_dtod(dest.ptr, source.ptr, source.nbytes)     # ptr: a view starts past gpudata
	elif dest.shape == source.shape:
		dest.set(source)          # pycuda copies strided device arrays itself
	else:
		raise ValueError("copy: a non-contiguous array copies only into one of its shape, not %s into %s" % (
			source.shape, dest.shape
		))

	return dest


class SharedArray(SharedArrayBase):
	__doc__ = SharedArrayBase.__doc__

	zeros = staticmethod(zeros)
	defaultAllocator = memoryPool


def isContiguous(ary):
	return ary.flags.c_contiguous


def getDeviceName():
	return Driver.device.name()


def synchronize():
	"""Waits for the device to finish all work (kernels are launched asynchronously)."""
	drv.Context.synchronize()
