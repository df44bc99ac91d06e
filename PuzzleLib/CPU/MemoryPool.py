"""A host memory pool that really reuses freed buffers.

A fresh numpy allocation of a large array faults in new pages on first touch, which costs as much
as the kernel itself. The pool hands out buffers whose memory comes back to it when the last view
of them dies, and gives them out again for the next request of the same size class.
"""

import threading
from collections import OrderedDict

import numpy as np


ALIGNMENT = 64


def sizeClass(nbytes):
	"""Rounds up to 4 classes per power of two (at most 25% slack), at least 256 bytes."""
	if nbytes <= 256:
		return 256

	shift = max(nbytes.bit_length() - 3, 0)
	return -(-nbytes >> shift) << shift


class _Block:
	"""Owns a raw buffer while a user array views it; gives the buffer back to the pool on death."""

	def __init__(self, pool, raw, nbytes):
		self.pool, self.raw = pool, raw
		address = raw.__array_interface__["data"][0]
		offset = -address % ALIGNMENT
		self.__array_interface__ = {
			"shape": (nbytes, ), "typestr": "|u1", "version": 3, "data": (address + offset, False)
		}

	def __del__(self):
		pool = self.pool
		if pool is not None:
			pool._release(self.raw)


class MemoryPool:
	def __init__(self, maxHeldBytes=4 << 30):
		self.maxHeldBytes = maxHeldBytes
		self._held = OrderedDict()      # id -> raw buffer, oldest first
		self._lock = threading.Lock()
		self.heldBytes = 0
		self.activeBlocks = 0

	def allocate(self, nbytes):
		"""A C-contiguous uint8 array of nbytes whose memory returns to the pool when it dies."""
		if isinstance(nbytes, bool) or not isinstance(nbytes, (int, np.integer)) or nbytes < 0:
			raise ValueError("allocate needs a byte count >= 0, got %r" % (nbytes, ))

		nbytes = int(nbytes)
		size = sizeClass(nbytes) + ALIGNMENT

		with self._lock:
			raw = self._takeHeld(size)
			self.activeBlocks += 1

		if raw is None:
			raw = np.empty(size, dtype=np.uint8)

		return np.asarray(_Block(self, raw, nbytes))

	__call__ = allocate        # a pool is itself an allocator, as scripts pass it: allocator=memoryPool

	def _takeHeld(self, size):
		for key, raw in self._held.items():
			if raw.size == size:
				del self._held[key]
				self.heldBytes -= size
				return raw

		return None

	def _release(self, raw):
		with self._lock:
			self.activeBlocks -= 1
			self._held[id(raw)] = raw
			self.heldBytes += raw.size

			while self.heldBytes > self.maxHeldBytes and self._held:
				_, oldest = self._held.popitem(last=False)
				self.heldBytes -= oldest.size

	@property
	def heldBlocks(self):
		return len(self._held)

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
