"""SharedArray: many tensors of one dtype as views of one buffer, so one kernel reaches them all
(an optimizer's global state packs every parameter, and every gradient, so). Backend-neutral:
each backend's gpuarray binds it to its own zeros and memory pool.

    shared = gpuarray.SharedArray(np.float32)
    shared.register((256, 128), np.float32, "0.W")
    shared.register((128, ), np.float32, "0.b")
    shared.build()                   # one zeroed buffer, shared.ary; shared["0.W"] is a view of it

Each view starts a multiple of 256 bytes into the buffer (on CUDA, whose allocations are 256-byte
aligned, vector loads and cuBLAS see aligned tensors); the gaps
between them are zeros, which an update over the whole buffer keeps zero.
"""

import math

import numpy as np


ALIGN_BYTES = 256


class SharedArrayError(ValueError):
	pass


class SharedArrayBase:
	zeros = None                # set by each backend: its zeros(shape, dtype, allocator) and pool
	defaultAllocator = None

	def __init__(self, dtype=np.float32, allocator=None):
		self.dtype = np.dtype(dtype)
		if self.dtype.kind not in "biuf":
			raise SharedArrayError("a SharedArray holds booleans, integers or floats, not %s" % self.dtype)

		self.allocator = self.defaultAllocator if allocator is None else allocator
		self.regs = []              # (name, shape, offset in elements)
		self.offset = 0
		self.ary = None
		self.blocks = {}

	def register(self, shape, dtype, name):
		"""Reserves room for a tensor of shape under name (before build)."""
		if self.ary is not None:
			raise SharedArrayError("register(%r) after build: the buffer is already laid out" % (name, ))
		if np.dtype(dtype) != self.dtype:
			raise SharedArrayError("%r has dtype %s, this SharedArray holds %s" % (name, np.dtype(dtype), self.dtype))
		if name in self.blocks or any(name == reg[0] for reg in self.regs):
			raise SharedArrayError("%r is registered already" % (name, ))

		shape = (shape, ) if isinstance(shape, (int, np.integer)) else tuple(shape)
		if not all(isinstance(dim, (int, np.integer)) and dim >= 0 for dim in shape):
			raise SharedArrayError("%r: shape must be a tuple of ints >= 0, got %r" % (name, shape))

		self.regs.append((name, tuple(int(dim) for dim in shape), self.offset))

		step = max(ALIGN_BYTES // self.dtype.itemsize, 1)
		self.offset += -(-math.prod(shape) // step) * step

	def build(self):
		"""Allocates the zeroed buffer and cuts every registered tensor's view from it."""
		if self.ary is not None:
			raise SharedArrayError("build called twice")

		self.ary = type(self).zeros((self.offset, ), self.dtype, allocator=self.allocator)
		for name, shape, offset in self.regs:
			self.blocks[name] = self.ary[offset:offset + math.prod(shape)].reshape(shape)

		return self

	def __getitem__(self, name):
		if self.ary is None:
			raise SharedArrayError("SharedArray[%r] before build" % (name, ))
		return self.blocks[name]

	def __contains__(self, name):
		return name in self.blocks

	def __len__(self):
		return len(self.regs)
