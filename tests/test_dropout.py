"""The Dropout module: the kept fraction, scale, p = 0, refused p, eval mode, the backward mask,
finite-difference gradients, slicing, inplace, dtypes and bad input."""

import numpy as np
import pytest

from cases import gpu
from harness import centralDifferences


class FixedStream:
	"""An rng whose every draw is the same part of the stream: a fixed mask for gradient checks."""

	def __init__(self, key, counter):
		self.stream = (key, counter)

	def reserve(self, size):
		return self.stream


def keptMask(key, counter, n, p):
	from test_philox import streamPlain
	return (streamPlain(key, counter, n) >> 8) / 2.0 ** 24 >= p


def test_kept_fraction_over_ten_million_elements(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Dropout

	n, p = 10 ** 7, 0.3
	drop = Dropout(p, rng=gpuarray.PhiloxRng(2024))
	out = drop(gpuarray.to_gpu(np.ones(n, dtype=np.float32))).get()

	kept = np.count_nonzero(out)
	sigma = np.sqrt(n * p * (1 - p))
	assert abs(kept - n * (1 - p)) < 4 * sigma, (kept, n * (1 - p), sigma)
	assert set(np.unique(out)) == {0.0, np.float32(1 / (1 - p))}


def test_mask_scale_and_backward_reuse_the_draw(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Dropout

	p, seed = 0.4, 77
	x = np.random.default_rng(1).standard_normal((37, 29)).astype(np.float32)
	g = np.random.default_rng(2).standard_normal((37, 29)).astype(np.float32)

	drop = Dropout(p, rng=gpuarray.PhiloxRng(seed))
	y = drop(gpu(x)).get()
	mask = keptMask(seed, 0, x.size, p).reshape(x.shape)
	scale = np.float32(1 / (1 - p))

	assert np.array_equal(y, np.where(mask, x * scale, 0).astype(np.float32))
	drop.backward(gpu(g))
	assert np.array_equal(drop.grad.get(), np.where(mask, g * scale, 0).astype(np.float32))

	# the next pass draws a fresh mask
	y2 = drop(gpu(x)).get()
	assert not np.array_equal(y2 != 0, y != 0)


def test_p_zero_is_identity_and_p_one_is_refused(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Dropout, ModuleError

	x = np.random.default_rng(3).standard_normal(1000).astype(np.float32)
	x[:3] = (np.inf, -np.inf, -0.0)
	y = Dropout(0.0)(gpu(x)).get()
	assert y.tobytes() == x.tobytes()

	for p in (1.0, 1, -0.1, 1.5, float("nan"), True, "0.5", None):
		with pytest.raises(ModuleError, match="p"):
			Dropout(p)


def test_eval_mode_returns_the_input(backend):
	from PuzzleLib.Modules import Dropout
	drop = Dropout(0.5)
	drop.evalMode()

	x, g = gpu(np.ones((4, 4), np.float32)), gpu(np.ones((4, 4), np.float32))
	assert drop(x) is x
	drop.backward(g)
	assert drop.grad is g


def test_gradient_by_central_differences(backend):
	from PuzzleLib.Modules import Dropout

	p = 0.35
	x = np.random.default_rng(5).standard_normal((6, 11))
	g = np.random.default_rng(6).standard_normal((6, 11))
	drop = Dropout(p, rng=FixedStream(123, 456))
	drop.calcMode(np.float64)

	def loss(values):
		return float(np.sum(drop(gpu(values)).get() * g))

	drop(gpu(x))
	drop.backward(gpu(g))
	analytic = drop.grad.get()

	numeric = centralDifferences(lambda: loss(x), x)
	assert np.allclose(analytic, numeric, rtol=1e-7, atol=1e-8)
	assert np.count_nonzero(analytic == 0) > 0 and np.count_nonzero(analytic) > 0


def test_slicing_and_inplace(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Dropout

	p, seed = 0.5, 9
	x = np.random.default_rng(7).standard_normal(200).astype(np.float32)
	slc = slice(10, 150, 2)

	y = Dropout(p, rng=gpuarray.PhiloxRng(seed), slicing=slc)(gpu(x)).get()
	mask = keptMask(seed, 0, x.size, p)
	inside = np.zeros(x.size, dtype=bool)
	inside[slc] = True

	assert np.array_equal(y[~inside], x[~inside])
	expected = np.where(mask, x * np.float32(2), 0).astype(np.float32)
	assert np.array_equal(y[inside], expected[inside])

	data = gpu(x)
	out = Dropout(p, rng=gpuarray.PhiloxRng(seed), inplace=True)(data)
	assert out is data and np.array_equal(data.get(), expected)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_other_dtypes(backend, dtype):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Dropout

	x = np.random.default_rng(8).standard_normal(999).astype(dtype)
	drop = Dropout(0.25, rng=gpuarray.PhiloxRng(4))
	drop.calcMode(dtype)
	y = drop(gpu(x)).get()

	# the scale 1/(1 - p) in the compute type (float32 for float16), the product rounded once
	compute = np.float64 if dtype == np.float64 else np.float32
	scaled = x.astype(compute) * compute(1 / 0.75)
	expected = np.where(keptMask(4, 0, 999, 0.25), scaled, 0).astype(dtype)
	assert y.dtype == dtype and np.array_equal(y, expected)


def test_bad_input_changes_nothing(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Dropout, ModuleError

	rng = gpuarray.PhiloxRng(0)
	drop = Dropout(0.5, rng=rng)
	x = gpu(np.ones((8, 8), np.float32))
	y = drop(x)
	counter, stream = rng.counter, drop.stream

	for call in (
		lambda: drop(gpu(np.ones((8, 8), np.float64))),
		lambda: drop(np.ones((8, 8), np.float32)),
		lambda: drop.backward(gpu(np.ones((8, 9), np.float32))),
		lambda: drop.backward(gpu(np.ones((8, 8), np.float16))),
	):
		with pytest.raises(ModuleError):
			call()

	assert drop.data is y and drop.stream == stream and rng.counter == counter
	for kwargs in ({"slicing": "1:2"}, {"inplace": 1}, {"rng": object()}):
		with pytest.raises(ModuleError):
			Dropout(0.5, **kwargs)

	fresh = Dropout(0.5)
	with pytest.raises(ModuleError, match="before a train-mode forward"):
		fresh.backward(gpu(np.ones(3, np.float32)))


def test_blueprint_leaves_out_the_rng(backend):
	from PuzzleLib.Modules import Dropout
	blueprint = Dropout(0.2, slicing=slice(1, 5), inplace=True, name="drop").getBlueprint()
	assert blueprint == {"classname": "Dropout", "scheme": {
		"p": 0.2, "rng": None, "slicing": slice(1, 5), "inplace": True, "name": "drop"
	}}
