"""How one elementwise call is launched: which kernel variant, its arguments, its grid. Pure Python.

Kept apart from pycuda so that the choice (vector or strided, grid size for any count) is tested
without a GPU.
"""

import functools

from PuzzleLib.Cuda.Source import VECTOR_BYTES


BLOCK = 256
BLOCK_SHAPE = (BLOCK, 1, 1)

# A grid a few times what the device holds at once keeps every SM busy; the kernels' grid-stride
# loops cover whatever is beyond it, so a grid never nears CUDA's 2^31 - 1 block limit.
WAVES = 4

ALIGNMENT_MASK = VECTOR_BYTES - 1


def maxBlocks(smCount, maxThreadsPerSM):
	return max(1, smCount * max(1, maxThreadsPerSM // BLOCK) * WAVES)


@functools.lru_cache(maxsize=4096)
def gridShape(work, blocksCap):
	"""(blocks, 1) for `work` thread-iterations of BLOCK threads, at most blocksCap blocks."""
	return (max(1, min(-(-work // BLOCK), blocksCap)), 1)


def plan(pointers, itemsize, span, blocksCap):
	"""(variant, pointers, counts, grid) of one launch over span (a Launch.Range, count > 0).

	pointers is a sequence of the output's and operands' device addresses, in kernel order.

	The vector variant serves a unit-step range whose every pointer, moved to its start, is
	16-byte aligned; it is handed the moved pointers and the count. Anything else runs strided
	over the whole arrays with (start, step, count).
	"""
	start, step, count = span

	if step == 1:
		if start:
			offset = start * itemsize
			moved = [pointer + offset for pointer in pointers]
		else:
			moved = pointers

		bits = 0
		for pointer in moved:
			bits |= pointer

		if not bits & ALIGNMENT_MASK:
			return "vector", moved, (count, ), gridShape(-(-count // (VECTOR_BYTES // itemsize)), blocksCap)

	return "strided", pointers, (start, step, count), gridShape(count, blocksCap)
