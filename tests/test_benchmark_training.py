"""The training benchmark: its two sides run in turn and the ratio is the median of the rounds'
(checked on a scripted clock), and each comparison measures both sides."""

import itertools


def test_interleaved_alternates_and_takes_the_median_of_the_rounds(monkeypatch):
	from PuzzleLib import BenchmarkTraining

	calls, clock = [], itertools.count()
	durations = {"first": iter([1, 4, 2, 9, 6]), "second": iter([1, 2, 1, 3, 6])}    # a warm-up each, then 4 rounds
	now = [0.0]

	def tick():
		next(clock)
		return now[0]

	def side(name):
		def run():
			calls.append(name)
			now[0] += next(durations[name])
		return run

	monkeypatch.setattr(BenchmarkTraining.time, "perf_counter", tick)
	first, second, ratio = BenchmarkTraining.interleaved(side("first"), side("second"), 4, syncFirst=lambda: None)

	assert calls == ["first", "second"] * 5
	# rounds (4, 2), (2, 1), (9, 3), (6, 6): medians 5 and 2.5, ratios 2, 2, 3, 1 -> 2
	assert (first, second, ratio) == (5.0, 2.5, 2.0)


def test_epoch_and_update_comparisons_measure_each_side(backend):
	from PuzzleLib import BenchmarkTraining
	from PuzzleLib.Benchmark import timeit

	ours, torch, ratio = BenchmarkTraining.epochTimes((8, 16, 4), 64, 16, 1, timeit)
	assert ours > 0
	if backend == "cpu":          # CPU torch is a test dependency; CUDA torch may be missing (then None)
		assert torch > 0 and ratio > 0

	rates = BenchmarkTraining.updateBandwidth(4096, 1, timeit)
	assert set(rates) == {"SGD", "MomentumSGD", "Adam", "copy"} and rates["copy"] > 0
	assert all(rates[name][0] > 0 and rates[name][1] > 0 for name in ("SGD", "MomentumSGD", "Adam"))


def test_per_call_times_are_a_plain_loop_that_keeps_no_output(backend, monkeypatch):
	"""The 32 x 32 per-call table times forward and backward of each module in a loop that drops
	every output before the next call, as a user's loop does: the pool never holds more than a
	few of them at once (a loop that kept them would make and free a buffer per call)."""
	from PuzzleLib import BenchmarkTraining
	from PuzzleLib.Backend import gpuarray

	pool = gpuarray.memoryPool
	before, peak = pool.active_blocks, [0]
	allocate = pool.allocate if backend == "cuda" else pool.allocateArray
	name = "allocate" if backend == "cuda" else "allocateArray"

	def counting(*args):
		peak[0] = max(peak[0], pool.active_blocks - before)
		return allocate(*args)

	monkeypatch.setattr(pool, name, counting, raising=False)
	lines = []
	results = BenchmarkTraining.hostOverhead(calls=200, repeat=2, out=lines.append)

	assert set(results) == {"Activation(sigmoid)", "SoftMax", "Dropout", "Linear"}
	assert all(forward > 0 and backward > 0 for forward, backward in results.values())
	assert len(lines) == 2 + len(results) and all(label in "\n".join(lines) for label in results)
	assert peak[0] <= 8, "the per-call loop held %d outputs at once" % peak[0]
