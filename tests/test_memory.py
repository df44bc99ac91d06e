"""Memory: 10^4 forward/backward passes over a 1M-element float32 tensor leave the process's resident
memory flat after warm-up; the CPU memory pool holds at most its bound, gives everything back on
freeHeld(), and survives a garbage collection that frees a pooled array while it holds its lock.
"""

import gc, time

import numpy as np
import pytest

import reference
from cases import Case, refForward
from harness import rssBytes


PASSES = 10_000
SIZE = 1 << 20
WARMUP = 300
RSS_SLACK = 8 << 20          # two 1M float32 tensors; a leak of one tensor per pass would be 40 GB
MiB = 1 << 20


def cpuOnly(backend, what):
	if backend != "cpu":
		pytest.skip("%s is the CPU backend's (pycuda's device pool has no byte bound)" % what)


def test_rss_flat_over_many_passes(backend, monkeypatch, record_property):
	"""Three modules in turn, covering every way a pass gets its output: a fresh pooled array, a
	pooled copy of the input (a slice), and the input itself (inplace)."""
	from PuzzleLib import Config
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Activation

	monkeypatch.setattr(Config, "showWarnings", False)
	gc.collect()
	activeBefore = gpuarray.memoryPool.active_blocks

	rng = np.random.default_rng(0)
	host = rng.standard_normal(SIZE).astype(np.float32) * 4
	grad = rng.standard_normal(SIZE).astype(np.float32)
	modules = [
		(Activation("relu"), gpuarray.to_gpu(host), gpuarray.to_gpu(grad)),
		(Activation("leakyRelu", slc=slice(1, -1)), gpuarray.to_gpu(host), gpuarray.to_gpu(grad)),
		(Activation("clip", inplace=True), gpuarray.to_gpu(host), gpuarray.to_gpu(grad)),
	]

	def run(passes):
		for k in range(passes):
			module, data, dy = modules[k % len(modules)]
			module(data)
			module.backward(dy)

	run(WARMUP)
	gc.collect()
	baseline = rssBytes()

	samples, start = [], time.perf_counter()
	for _ in range(20):
		run(PASSES // 20)
		samples.append(rssBytes())
	elapsed = time.perf_counter() - start

	gc.collect()
	samples.append(rssBytes())
	record_property("passes_per_second", PASSES / elapsed)
	print("%d passes of %d elements: %.1f s; RSS baseline %.1f MiB, peak growth %.2f MiB" % (
		PASSES, SIZE, elapsed, baseline / MiB, (max(samples) - baseline) / MiB
	))

	growth = max(samples) - baseline
	assert growth <= RSS_SLACK, "RSS grew by %.1f MiB over %d passes (samples, MiB: %s)" % (
		growth / MiB, PASSES, [round((s - baseline) / MiB, 1) for s in samples]
	)

	relu, data, _ = modules[0]
	reference.assertClose(relu.data.get(), refForward(Case("relu", (), ()), host), context="relu after the passes")

	modules.clear()
	del relu, data
	gc.collect()
	assert gpuarray.memoryPool.active_blocks == activeBefore, "pooled arrays outlived their modules"
	gpuarray.memoryPool.free_held()
	assert gpuarray.memoryPool.held_blocks == 0


def test_pool_holds_at_most_its_bound(backend):
	cpuOnly(backend, "MemoryPool(maxHeldBytes=...)")
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.CPU.MemoryPool import MemoryPool

	bound = 8 * MiB
	pool = MemoryPool(maxHeldBytes=bound)
	arrays = [gpuarray.empty(MiB // 4, dtype=np.float32, allocator=pool) for _ in range(20)]
	addresses = {ary.ptr for ary in arrays}
	assert pool.activeBlocks == 20 and pool.heldBlocks == 0

	del arrays
	gc.collect()
	assert pool.activeBlocks == 0
	assert 0 < pool.heldBytes <= bound, "the pool holds %d bytes, over its bound of %d" % (pool.heldBytes, bound)
	assert pool.heldBlocks == pool.heldBytes // (MiB + 64)      # each held buffer: the 1 MiB class + alignment
	held = pool.heldBlocks

	again = gpuarray.empty(MiB // 4, dtype=np.float32, allocator=pool)
	assert again.ptr in addresses and pool.heldBlocks == held - 1, "a held buffer of the same size was not reused"

	del again
	pool.freeHeld()
	assert pool.heldBytes == 0 and pool.heldBlocks == 0 and pool.activeBlocks == 0


def trimmedRss():
	"""RSS after glibc hands every free page back (malloc_trim): what is left is memory in use. A
	large buffer may come from free space in the heap rather than its own mapping, and freeing it
	then keeps it resident until a trim."""
	import ctypes, ctypes.util

	gc.collect()
	name = ctypes.util.find_library("c")
	try:
		ctypes.CDLL(name).malloc_trim(0)
	except (OSError, AttributeError, TypeError):
		pytest.skip("no glibc malloc_trim (%s): resident memory cannot tell freed from held" % name)

	return rssBytes()


def test_free_held_returns_memory_to_the_system(backend):
	cpuOnly(backend, "the host memory pool")
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.CPU.MemoryPool import MemoryPool

	pool = MemoryPool(maxHeldBytes=1 << 30)
	arrays = [gpuarray.empty(10 * MiB, dtype=np.float32, allocator=pool).fill(1) for _ in range(4)]     # 160 MiB, touched

	del arrays
	gc.collect()
	assert pool.heldBlocks == 4 and pool.heldBytes >= 160 * MiB, "freed arrays should be held for reuse"
	held = trimmedRss()

	pool.freeHeld()
	assert pool.heldBytes == 0 and pool.heldBlocks == 0
	assert held - trimmedRss() >= 150 * MiB, "freeHeld() did not give the memory back (RSS %.0f -> %.0f MiB)" % (
		held / MiB, rssBytes() / MiB
	)


def test_pool_survives_a_collection_under_its_lock(backend):
	"""A garbage collection can run at any allocation, including one the pool makes while it holds its
	lock, and can free another pooled array (here one in a reference cycle), whose release takes the
	lock again from the same thread. That must not deadlock. The collection is injected where the
	pool reads and writes its table of held buffers."""
	cpuOnly(backend, "the host memory pool")
	import threading
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.CPU.MemoryPool import MemoryPool

	class CollectingDict(dict):
		def get(self, *args):
			gc.collect()
			return super().get(*args)

		def setdefault(self, *args):
			gc.collect()
			return super().setdefault(*args)

	class Node:
		pass

	pool = MemoryPool()
	pool._held = CollectingDict()

	def churn():
		gc.disable()
		try:
			for _ in range(3):
				plain = gpuarray.empty(16, allocator=pool)
				cycle = Node()
				cycle.me, cycle.ary = cycle, gpuarray.empty(16, allocator=pool)
				del cycle          # garbage only a collection finds
				del plain          # its release collects, which releases the cycle's array
		finally:
			gc.enable()

	worker = threading.Thread(target=churn, daemon=True)
	worker.start()
	worker.join(timeout=30)
	assert not worker.is_alive(), "the pool deadlocked on a release from inside its own lock"

	gc.collect()
	assert pool.activeBlocks == 0 and pool.heldBlocks == 2
