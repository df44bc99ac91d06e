"""A host memory pool that really reuses freed buffers.

A fresh numpy allocation of a large array faults in new pages on first touch, which costs as much
as the kernel itself. The pool hands out buffers whose memory comes back to it when the last view
of them dies, and gives them out again for the next request of the same size class.
"""

import ctypes, threading

import numpy as np


ALIGNMENT = 64


def sizeClass(nbytes):
	"""Rounds up to 4 classes per power of two (at most 25% slack), at least 256 bytes."""
	if nbytes <= 256:
		return 256

	shift = max(nbytes.bit_length() - 3, 0)
	return -(-nbytes >> shift) << shift


class _Block(np.ndarray):
	"""A pooled buffer's memory while user arrays view it: the base every view of it leads to, which
	gives the buffer back to the pool when the last of them dies.

	Made over the buffer's anchor (a ctypes view of it, not an ndarray), so that numpy, which
	collapses a view's base to the first array that owns its memory, stops at this block instead
	of passing it by for the raw buffer."""

	__slots__ = ("pool", "held")

	def __del__(self):
		try:
			pool, held = self.pool, self.held
		except AttributeError:          # a block numpy made of this one (block.copy()) owns no buffer
			return
		pool._release(held)


def _kept(raw):
	"""What the pool keeps of a buffer, so that handing it out again asks numpy nothing: (raw, its
	anchor, the offset of its first ALIGNMENT-aligned byte, that byte's address)."""
	address = raw.__array_interface__["data"][0]
	offset = -address % ALIGNMENT
	return raw, (ctypes.c_char * raw.size).from_buffer(raw), offset, address + offset


_newBlock = np.ndarray.__new__
_BYTE = np.dtype(np.uint8)


def _byteCount(value, what):
	if type(value) is not int and (isinstance(value, bool) or not isinstance(value, (int, np.integer))) or value < 0:
		raise ValueError("%s a byte count >= 0, got %r" % (what, value))
	return int(value)


class MemoryPool:
	def __init__(self, maxHeldBytes=4 << 30):
		self.maxHeldBytes = _byteCount(maxHeldBytes, "maxHeldBytes must be")
		self._held = {}                 # raw buffer size -> freed buffers of that size
		self._sizes = {}                # nbytes -> raw buffer size
		# re-entrant: a garbage collection can run at any allocation made under the lock, and free
		# another pooled array, whose release then takes the lock again in the same thread
		self._lock = threading.RLock()
		self.heldBytes = 0
		self.activeBlocks = 0

	def allocate(self, nbytes):
		"""A C-contiguous uint8 array of nbytes whose memory returns to the pool when it dies."""
		return self.allocateAt(nbytes)[0]

	__call__ = allocate        # a pool is itself an allocator, as scripts pass it: allocator=memoryPool

	def allocateAt(self, nbytes):
		"""(allocate(nbytes), the address of its first byte)."""
		if type(nbytes) is not int or nbytes < 0:
			nbytes = _byteCount(nbytes, "allocate needs")
		return self.allocateArray(nbytes, (nbytes, ), _BYTE)

	def allocateArray(self, nbytes, shape, dtype):
		"""(a C-contiguous array of shape and dtype (a numpy dtype) over nbytes >= 0 of pooled memory,
		its address): what GPUArray asks, made as two numpy views, no question to numpy for the address."""
		size = self._sizes.get(nbytes)
		if size is None:
			size = self._sizeOf(nbytes)

		with self._lock:
			self.activeBlocks += 1
			free = self._held.get(size)
			held = free.pop() if free else None
			if held is not None:
				self.heldBytes -= size

		if held is None:
			try:
				held = _kept(np.empty(size, dtype=np.uint8))
			except BaseException:       # MemoryError: no block came to be, so none is active
				with self._lock:
					self.activeBlocks -= 1
				raise

		block = _newBlock(_Block, shape, dtype, held[1], held[2])
		block.pool, block.held = self, held
		return block.view(np.ndarray), held[3]

	# a model asks for the same few sizes over and over: their raw sizes are remembered
	SIZES_KEPT = 1024

	def _sizeOf(self, nbytes):
		"""The raw size of a buffer of nbytes: its size class and room to align its start."""
		size = sizeClass(nbytes) + ALIGNMENT
		if len(self._sizes) >= self.SIZES_KEPT:
			self._sizes.clear()
		self._sizes[nbytes] = size
		return size

	def _release(self, held):
		size = held[0].size
		with self._lock:
			self.activeBlocks -= 1
			if self.heldBytes + size > self.maxHeldBytes:
				return                  # over the bound: let this buffer go back to the system

			self._held.setdefault(size, []).append(held)
			self.heldBytes += size

	@property
	def heldBlocks(self):
		with self._lock:            # another thread's release may add a size class meanwhile
			return sum(len(free) for free in self._held.values())

	def freeHeld(self):
		"""Returns every held buffer to the system."""
		with self._lock:
			self._held.clear()
			self.heldBytes = 0

	# pycuda's DeviceMemoryPool spellings, for scripts written against it
	free_held = freeHeld
	held_blocks = heldBlocks

	@property
	def active_blocks(self):
		return self.activeBlocks

	def __repr__(self):
		return "MemoryPool(active=%d, held=%d blocks, %d bytes)" % (self.activeBlocks, self.heldBlocks, self.heldBytes)
