"""Size limits: a float16 tensor of more than 2^31 elements (~4.3 GB) computes correctly, forward and
backward, also with a slice that crosses index 2^31, checked at a sample of positions: the start, both
sides of 2^31 (and of 2^32 / 2, where a 32-bit index would wrap), random positions and the last
element. A kernel indexing with 32 bits would miss or misplace every element past 2^31.

Slow and memory-hungry (each test holds two such tensors, ~8.6 GB): marked slow, run with
`pytest -m slow`. The inputs are generated on the device chunk by chunk, from an index pattern with a
period prime to 2^31 and 2^32, so no element equals the one 2^31 or 2^32 positions away.
"""

import gc, time

import numpy as np
import pytest

import reference
from cases import Case, refBackward
from harness import assertSameBits, peakRssBytes


pytestmark = pytest.mark.slow

N = (1 << 31) + 3 * (1 << 20) + 17
CHUNK = 1 << 24
WINDOW = 256
PERIOD = 8191                  # prime; 2^31 = 32 and 2^32 = 64 modulo it
GiB = 1 << 30


def pattern(start, stop, multiplier, dtype=np.float16):
	"""Values in [-8, 8] at flat indices [start, stop), computed from the index alone:
	((i * multiplier) mod PERIOD - PERIOD // 2) / 512, by repeating one period of it."""
	period = (((np.arange(PERIOD, dtype=np.int64) * multiplier) % PERIOD - PERIOD // 2) / 512.0).astype(dtype)
	return np.resize(np.roll(period, -(start % PERIOD)), stop - start)


def filled(multiplier):
	from PuzzleLib.Backend import gpuarray

	ary = gpuarray.empty(N, dtype=np.float16)
	for start in range(0, N, CHUNK):
		stop = min(start + CHUNK, N)
		ary[start:stop].set(pattern(start, stop, multiplier))
	return ary


def windows():
	"""Starts of the sampled windows: the ends, around 2^31, and random positions all over."""
	fixed = [0, (1 << 30) - WINDOW // 2, (1 << 31) - WINDOW, (1 << 31) - WINDOW // 2, 1 << 31, N - WINDOW]
	rng = np.random.default_rng(31)
	return sorted(set(fixed) | set(int(s) for s in rng.integers(0, N - WINDOW, 200)) | set(
		int(s) for s in rng.integers((1 << 31) - (1 << 22), (1 << 31) + (1 << 21), 40)
	))


def sample(ary, start):
	return ary[start:start + WINDOW].get()


def report(record_property, what, started):
	elapsed, peak = time.perf_counter() - started, peakRssBytes()
	record_property("seconds", round(elapsed, 1))
	record_property("peak_rss_gib", round(peak / GiB, 2))
	print("\n%s: %.1f s, peak RSS of this process so far %.2f GiB" % (what, elapsed, peak / GiB))


def test_beyond_2_31_elements(backend, record_property):
	"""Not inplace: the output is a new (pooled) 4.3 GB tensor. The input is freed after the forward
	pass (the gradient needs only the output), and the output itself is fed back as the gradient."""
	from PuzzleLib.Modules import Activation

	started = time.perf_counter()
	case = Case("sigmoid", (), ())
	act = Activation(case.name)
	act.calcMode(np.float16)

	x = filled(7919)
	y = act(x)
	assert y is not x and y.shape == (N, ) and y.dtype == np.float16

	starts = windows()
	outputs = {}
	for start in starts:
		xs = pattern(start, start + WINDOW, 7919)
		assertSameBits(sample(x, start), xs, "the input at %d was modified" % start)
		outputs[start] = sample(y, start)
		reference.assertClose(outputs[start], reference.forward(case.name, xs), context="forward at %d" % start)

	del x
	act.inData = None             # as a graph frees an input once no one needs it
	gc.collect()

	act.backward(y)
	dx = act.grad
	assert dx is not y and dx.shape == (N, )
	for start in starts:
		ys = outputs[start]
		assertSameBits(sample(y, start), ys, "the incoming gradient (the output) at %d was modified" % start)
		reference.assertClose(sample(dx, start), refBackward(case, ys, ys), context="backward at %d" % start)

	report(record_property, "2^31+ elements, not inplace", started)


def test_slice_across_2_31_inplace(backend, record_property):
	"""Inplace, with a stepped, reversed slice from the last element down across 2^31: inside it the
	function, outside it the input bitwise, forward and backward."""
	from PuzzleLib import Config
	from PuzzleLib.Modules import Activation

	started = time.perf_counter()
	first = (1 << 31) - (1 << 22)
	slc = slice(N - 1, first - 1, -3)
	case = Case("elu", (0.5, ), (0.5, ))

	showWarnings, Config.showWarnings = Config.showWarnings, False
	try:
		act = Activation(case.name, slc=slc, inplace=True, args=case.moduleArgs)
	finally:
		Config.showWarnings = showWarnings
	act.calcMode(np.float16)

	def inside(start):
		i = np.arange(start, start + WINDOW)
		return (i >= first) & ((N - 1 - i) % 3 == 0)

	data = filled(7919)
	assert act(data) is data

	starts = windows()
	outputs = {}
	for start in starts:
		xs, got, mask = pattern(start, start + WINDOW, 7919), sample(data, start), inside(start)
		reference.assertClose(got[mask], reference.forward(case.name, xs[mask], case.args), context="forward at %d" % start)
		assertSameBits(got[~mask], xs[~mask], "forward outside the slice at %d" % start)
		outputs[start] = got

	grad = filled(104729)
	act.backward(grad)
	assert act.grad is grad

	for start in starts:
		dys, got, mask = pattern(start, start + WINDOW, 104729), sample(grad, start), inside(start)
		reference.assertClose(
			got[mask], refBackward(case, dys[mask], outputs[start][mask]), context="backward at %d" % start
		)
		assertSameBits(got[~mask], dys[~mask], "backward outside the slice at %d" % start)

	report(record_property, "2^31+ elements, slice across 2^31, inplace", started)
