"""The CPU backend's array: a numpy buffer behind the pycuda GPUArray interface that scripts use.

Like pycuda's, it is a separate object from the host ndarray: get() copies out, set() copies in,
and numpy functions do not take it implicitly (so host/device mix-ups fail the same way on both
backends). reshape, ravel and basic indexing return views that share memory.
"""

from numbers import Number
import math, os, platform

import numpy as np

from PuzzleLib.ArrayChecks import checkDtype, checkHost, checkShape
from PuzzleLib.CPU.MemoryPool import MemoryPool
from PuzzleLib.Kernels.Launch import dtypesSupported    # noqa: F401 (the facade takes it from here)
from PuzzleLib.Kernels.SharedArray import SharedArrayBase


memoryPool = MemoryPool()


_NOT_NUMPY = "a GPUArray is not a numpy array (%s): copy it to the host with .get() first"


def _viewOf(buffer, shape, dtype):
	"""shape and dtype over the start of buffer's memory, as pycuda builds an array over gpudata."""
	if not isinstance(buffer, np.ndarray):
		raise TypeError("gpudata must be CPU memory: an array's .gpudata or memoryPool.allocate(nbytes), got %s" % (
			type(buffer).__name__
		))

	nbytes = math.prod(shape) * dtype.itemsize
	if not buffer.flags.c_contiguous:
		raise ValueError("gpudata must be C-contiguous memory")
	if buffer.nbytes < nbytes:
		raise ValueError("gpudata holds %d bytes; %s of %s needs %d" % (buffer.nbytes, shape, dtype, nbytes))
	if buffer.__array_interface__["data"][0] % dtype.alignment:
		raise ValueError("gpudata is not aligned for %s" % dtype)

	return buffer.reshape(-1).view(np.uint8)[:nbytes].view(dtype).reshape(shape)


class DeviceMemoryCopyError(TypeError, RuntimeError):
	"""Raised by deepcopy and pickle of a GPUArray. A TypeError, as Python's own refusals to pickle
	are, and a RuntimeError, as pycuda's refusal for device memory is, so either handler works."""


class GPUArray:
	# Like pycuda's, not a numpy array: numpy refuses it rather than treating it as an object
	# array, which would make np.asarray, np.save, np.array_equal and == silently wrong.
	__array_ufunc__ = None    # numpy defers `ndarray + GPUArray` to us, which refuses it
	__hash__ = object.__hash__

	def __array__(self, dtype=None, copy=None):
		raise TypeError(_NOT_NUMPY % "numpy does not convert it implicitly")

	def __array_function__(self, func, types, args, kwargs):
		raise TypeError(_NOT_NUMPY % ("np.%s takes host arrays" % func.__name__))

	def __eq__(self, other):
		raise TypeError(_NOT_NUMPY % "== compares on the host: ary.get() == other")

	def __ne__(self, other):
		raise TypeError(_NOT_NUMPY % "!= compares on the host: ary.get() != other")

	def __init__(self, shape, dtype=np.float32, allocator=None, gpudata=None):
		shape, dtype = checkShape(shape), checkDtype(dtype)

		if gpudata is None and type(allocator) is MemoryPool:     # the common case, kept lean
			size = math.prod(shape)
			nbytes = size * dtype.itemsize
			self.gpudata, self.ptr = allocator.allocateArray(nbytes, shape, dtype)
			self.shape, self.dtype, self.size, self.nbytes, self._contiguous = shape, dtype, size, nbytes, True
			return

		if gpudata is None:
			nbytes = math.prod(shape) * dtype.itemsize
			if allocator is None:
				gpudata = np.empty(shape, dtype=dtype)
			else:
				if not callable(allocator):
					raise TypeError("allocator must be None or a callable (e.g. gpuarray.memoryPool), got %r" % (allocator, ))
				raw = allocator(nbytes)
				if not isinstance(raw, np.ndarray) or raw.dtype != np.uint8 or raw.nbytes < nbytes:
					raise TypeError("allocator must return a uint8 host buffer of %d bytes (a CPU memory pool's allocate)" % nbytes)
				gpudata = raw[:nbytes].view(dtype).reshape(shape)
		else:
			gpudata = _viewOf(gpudata, shape, dtype)

		self._adopt(gpudata, gpudata.__array_interface__["data"][0], gpudata.flags.c_contiguous)

	def _adopt(self, gpudata, ptr, contiguous):
		# what every kernel call checks is read here once, not from numpy at each call
		self.gpudata, self.ptr = gpudata, ptr
		self.shape, self.dtype, self.size, self.nbytes = gpudata.shape, gpudata.dtype, gpudata.size, gpudata.nbytes
		self._contiguous = contiguous

	@classmethod
	def wrap(cls, ndarray):
		"""Adopts an ndarray (no copy) as the memory of a new GPUArray."""
		if not isinstance(ndarray, np.ndarray):
			# a numpy scalar's address is that of a temporary, freed as soon as it is read
			raise TypeError("GPUArray.wrap takes an ndarray, got %s" % type(ndarray).__name__)

		ary = cls.__new__(cls)
		ary._adopt(ndarray, ndarray.__array_interface__["data"][0], ndarray.flags.c_contiguous)
		return ary

	# Device memory is not copied behind the script's back, as pycuda's is not: a deep copy that
	# kept this address would write into memory the original owns or the pool hands out again
	def __deepcopy__(self, memo):
		raise DeviceMemoryCopyError(
			"a GPUArray is not deep-copied (its memory is the device's, as on pycuda): "
			"use ary.copy() for a device copy, or ary.get() for a host array"
		)

	def __reduce_ex__(self, protocol):
		raise DeviceMemoryCopyError(
			"a GPUArray is not pickled (its memory is the device's, as on pycuda): pickle ary.get(), "
			"and make it a GPUArray again with gpuarray.to_gpu"
		)

	def __copy__(self):
		"""A new array object over the same memory, as copy.copy of a pycuda array is."""
		return GPUArray.wrap(self.gpudata)

	ndim = property(lambda self: self.gpudata.ndim)
	strides = property(lambda self: self.gpudata.strides)
	flags = property(lambda self: self.gpudata.flags)
	itemsize = property(lambda self: self.gpudata.itemsize)
	mem_size = property(lambda self: self.size)

	def __len__(self):
		return len(self.gpudata)

	def get(self, ary=None):
		if ary is None:
			return self.gpudata.copy()

		if not isinstance(ary, np.ndarray) or ary.shape != self.shape or ary.dtype != self.dtype:
			raise ValueError("get(ary) needs an ndarray of shape %s and dtype %s" % (self.shape, self.dtype))

		np.copyto(ary, self.gpudata)
		return ary

	def set(self, ary):
		if isinstance(ary, GPUArray):
			ary = ary.gpudata
		ary = np.asarray(ary)

		if ary.size != self.size:
			raise ValueError("set: the host array has %d elements, this array %d" % (ary.size, self.size))
		if ary.dtype != self.dtype:
			raise ValueError("set: the host array has dtype %s, this array %s" % (ary.dtype, self.dtype))

		np.copyto(self.gpudata, ary.reshape(self.shape))

	def fill(self, value):
		self.gpudata.fill(value)
		return self

	def copy(self):
		return GPUArray.wrap(self.gpudata.copy())

	def astype(self, dtype):
		return GPUArray.wrap(self.gpudata.astype(checkDtype(dtype)))

	def reshape(self, *shape, order="C"):
		if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
			shape = shape[0]
		return GPUArray.wrap(self.gpudata.reshape(shape, order=order))

	def ravel(self):
		return GPUArray.wrap(self.gpudata.reshape(-1))

	def view(self, dtype=None):
		return GPUArray.wrap(self.gpudata.view() if dtype is None else self.gpudata.view(dtype))

	def __getitem__(self, index):
		view = self.gpudata[index]
		if not isinstance(view, np.ndarray):
			# integers for every axis give numpy a scalar; an Ellipsis after them gives the 0-d
			# view of that element, which pycuda's x[i] is too
			view = self.gpudata[(index if isinstance(index, tuple) else (index, )) + (Ellipsis, )]
		return GPUArray.wrap(view)

	def __setitem__(self, index, value):
		self.gpudata[index] = value.gpudata if isinstance(value, GPUArray) else value

	def __str__(self):
		return str(self.gpudata)

	def __repr__(self):
		return repr(self.gpudata)

	def __format__(self, spec):
		return format(self.gpudata, spec) if spec else str(self)

	def __bool__(self):
		return bool(self.gpudata)

	def _operand(self, other):
		if isinstance(other, GPUArray):
			if other.shape != self.shape:
				raise ValueError("operands have different shapes %s and %s" % (self.shape, other.shape))
			return other.gpudata

		if isinstance(other, Number) or (isinstance(other, np.generic) and other.ndim == 0):
			return other

		raise TypeError("a GPUArray combines with a GPUArray or a scalar, not %s" % type(other).__name__)

	@staticmethod
	def _result(value):
		"""A new array of its own, C-contiguous, of value's shape (a numpy operation on 0-d arrays
		gives a scalar; ascontiguousarray would make it 1-d)."""
		return GPUArray.wrap(np.asarray(value, order="C"))

	def _arith(self, op, other, reverse=False):
		other = self._operand(other)
		return self._result(op(other, self.gpudata) if reverse else op(self.gpudata, other))

	def _inplace(self, op, other):
		op(self.gpudata, self._operand(other), out=self.gpudata, casting="same_kind")
		return self

	def __add__(self, other): return self._arith(np.add, other)
	def __radd__(self, other): return self._arith(np.add, other, reverse=True)
	def __sub__(self, other): return self._arith(np.subtract, other)
	def __rsub__(self, other): return self._arith(np.subtract, other, reverse=True)
	def __mul__(self, other): return self._arith(np.multiply, other)
	def __rmul__(self, other): return self._arith(np.multiply, other, reverse=True)
	def __truediv__(self, other): return self._arith(np.true_divide, other)
	def __rtruediv__(self, other): return self._arith(np.true_divide, other, reverse=True)
	def __pow__(self, other): return self._arith(np.power, other)
	def __rpow__(self, other): return self._arith(np.power, other, reverse=True)

	def __iadd__(self, other): return self._inplace(np.add, other)
	def __isub__(self, other): return self._inplace(np.subtract, other)
	def __imul__(self, other): return self._inplace(np.multiply, other)
	def __itruediv__(self, other): return self._inplace(np.true_divide, other)

	def __neg__(self): return self._result(-self.gpudata)
	def __abs__(self): return self._result(np.abs(self.gpudata))


def to_gpu(ary, allocator=None):
	checkHost(ary, GPUArray)
	result = GPUArray(ary.shape, ary.dtype, allocator=allocator)
	np.copyto(result.gpudata, ary)
	return result


empty = GPUArray        # as pycuda's: empty(shape, dtype=np.float32, allocator=None), one call less


def pooledLike(ary):
	"""A new C-contiguous array of ary's shape and dtype from memoryPool: what a module's pass writes
	its output into. ary is a GPUArray, whose shape and dtype were checked when it was made."""
	new = _newArray(GPUArray)
	shape, dtype, nbytes = ary.shape, ary.dtype, ary.nbytes
	new.gpudata, new.ptr = memoryPool.allocateArray(nbytes, shape, dtype)
	new.shape, new.dtype, new.size, new.nbytes, new._contiguous = shape, dtype, ary.size, nbytes, True
	return new


_newArray = object.__new__


def zeros(shape, dtype=np.float32, allocator=None):
	return GPUArray(shape, dtype, allocator=allocator).fill(0)


def copy(dest, source, allocator=None):
	"""Copies source into dest; with dest None, into a new array. Returns dest."""
	if not isinstance(source, GPUArray):
		raise TypeError("copy takes two GPUArrays")

	if dest is None:
		dest = GPUArray(source.shape, source.dtype, allocator=allocator)

	if not isinstance(dest, GPUArray):
		raise TypeError("copy takes two GPUArrays")
	if dest.size != source.size or dest.dtype != source.dtype:
		raise ValueError("copy: %s %s into %s %s" % (source.shape, source.dtype, dest.shape, dest.dtype))

	# the very same memory in the same layout is already a copy (a transposed view of it is not)
	if not (dest.ptr == source.ptr and isContiguous(dest) and isContiguous(source)):
		_copyInto(dest, source)
	return dest


def _copyInto(dest, source):
	disjoint = dest.ptr + dest.nbytes <= source.ptr or source.ptr + source.nbytes <= dest.ptr

	if disjoint and isContiguous(dest) and isContiguous(source):
		from PuzzleLib.CPU.ElementWise import copyBytes    # the kernel library imports this module
		copyFunction = copyBytes()

		if copyFunction is not None:
			copyFunction(dest.ptr, source.ptr, dest.nbytes)
			return

	np.copyto(dest.gpudata, source.gpudata.reshape(dest.shape))


class SharedArray(SharedArrayBase):
	__doc__ = SharedArrayBase.__doc__

	zeros = staticmethod(zeros)
	defaultAllocator = memoryPool


def synchronize():
	"""CPU kernels have finished when they return: nothing to wait for."""


def isContiguous(ary):
	return ary._contiguous


def getDeviceName():
	name = platform.processor() or platform.machine()
	try:
		with open("/proc/cpuinfo") as f:
			name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
	except OSError:
		pass

	return "CPU %s (%d threads)" % (name, os.cpu_count() or 1)
