"""How one elementwise call is launched: which kernel variant, its arguments, its grid. Pure Python.

Kept apart from pycuda so that the choice (vector or strided, grid size for any count) is tested
without a GPU.
"""

import functools

from PuzzleLib.Cuda.Source import ROW_THREADS, VECTOR_BYTES


BLOCK = 256
BLOCK_SHAPE = (BLOCK, 1, 1)

# A grid a few times what the device holds at once keeps every SM busy; the kernels' grid-stride
# loops cover whatever is beyond it, so a grid never nears CUDA's 2^31 - 1 block limit.
WAVES = 4

def maxBlocks(smCount, maxThreadsPerSM):
	return max(1, smCount * max(1, maxThreadsPerSM // BLOCK) * WAVES)


@functools.lru_cache(maxsize=4096)
def gridShape(work, blocksCap):
	"""(blocks, 1) for `work` thread-iterations of BLOCK threads, at most blocksCap blocks."""
	return (max(1, min(-(-work // BLOCK), blocksCap)), 1)


@functools.lru_cache(maxsize=4096)
def rowLaunch(rows, width, blocksCap):
	"""(grid, block) of a block-per-row kernel over `rows` rows of `width` elements: a block of the
	power of two of threads that covers a row (a warp at least, ROW_THREADS at most), a block per
	row up to blocksCap blocks; the kernels' grid-stride loop over rows covers the rest."""
	threads = 32
	while threads < width and threads < ROW_THREADS:
		threads *= 2
	return (max(1, min(rows, blocksCap)), 1), (threads, 1, 1)


def plan(pointers, itemsizes, span, blocksCap):
	"""(variant, pointers, counts, grid) of one launch over span (a Launch.Range, count > 0).

	pointers is a sequence of the arrays' device addresses, in kernel order; itemsizes their item
	sizes (one int when they share it).

	The vector variant serves a unit-step range whose every pointer, moved to its start, is
	aligned to its pack (16 bytes of the widest item, as many items of each array); it is handed
	the moved pointers and the count. Anything else runs strided over the whole arrays with
	(start, step, count).
	"""
	start, step, count = span
	if isinstance(itemsizes, int):
		if step == 1:                # one item size: every pack is VECTOR_BYTES, one test for all
			width = VECTOR_BYTES // itemsizes
			moved = [pointer + start * itemsizes for pointer in pointers] if start else pointers
			combined = 0
			for pointer in moved:
				combined |= pointer
			if combined % VECTOR_BYTES == 0:
				return "vector", moved, (count, ), gridShape(-(-count // width), blocksCap)

			return "strided", pointers, (start, step, count), gridShape(count, blocksCap)

		itemsizes = (itemsizes, ) * len(pointers)

	if step == 1:
		width = VECTOR_BYTES // max(itemsizes)
		moved = [pointer + start * itemsize for pointer, itemsize in zip(pointers, itemsizes)] if start else pointers

		aligned = True
		for pointer, itemsize in zip(moved, itemsizes):
			if pointer % (width * itemsize):
				aligned = False
				break

		if aligned:
			return "vector", moved, (count, ), gridShape(-(-count // width), blocksCap)

	return "strided", pointers, (start, step, count), gridShape(count, blocksCap)
