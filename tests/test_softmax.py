"""SoftMax and the softmax kernels: rows of any magnitude, -inf entries, equal rows, <= 8 ulp in
float32 against a float64 reference, backward by central differences in float64, spatial data,
dtypes and bad input."""

import numpy as np
import pytest

import reference
from cases import gpu
from harness import centralDifferences


def softmaxReference(x):
	"""Plain float64 softmax over axis 1, written out per row."""
	x = x.astype(np.float64)
	top = np.max(x, axis=1, keepdims=True)
	e = np.exp(x - top)
	return e / np.sum(e, axis=1, keepdims=True)


def hardRows(dtype=np.float32, C=97):
	rng = np.random.default_rng(0)
	rows = [
		rng.standard_normal(C) * 3,
		rng.uniform(-1e4, 1e4, C),                          # logits +-1e4
		np.full(C, 1e4), np.full(C, -1e4), np.full(C, 0.5),   # rows of equal values
		np.where(rng.random(C) < 0.5, -np.inf, rng.standard_normal(C)),  # -inf entries
		np.concatenate([[1e4], rng.uniform(-1e4, 1e4 - 200, C - 1)]),   # one dominant entry
		rng.standard_normal(C) * 30,
	]
	with np.errstate(over="ignore"):
		return np.array(rows).astype(dtype)


def test_hard_rows_within_8_ulp(backend):
	from PuzzleLib.Modules import SoftMax
	x = hardRows()
	y = SoftMax()(gpu(x)).get()

	assert np.isfinite(y).all()
	reference.assertClose(y, softmaxReference(x), "softmax float32", bound=8)
	assert np.allclose(y.astype(np.float64).sum(axis=1), 1, rtol=1e-6)


def test_random_rows_of_many_lengths_within_8_ulp(backend):
	from PuzzleLib.Modules import SoftMax
	rng = np.random.default_rng(1)
	for C in (1, 2, 31, 32, 33, 1000, 4099):
		x = (rng.standard_normal((5, C)) * rng.choice([0.1, 5, 80], (5, 1))).astype(np.float32)
		reference.assertClose(SoftMax()(gpu(x)).get(), softmaxReference(x), "softmax C=%d" % C, bound=8)


def test_differences_that_float_cannot_hold_are_within_8_ulp(backend):
	"""Rows whose x - max is not a float: the maximum's ulp is coarser than the entries' ones, and
	exp(d) turns an absolute error in d into a relative one |d| times larger (rounding d near -70
	alone would cost ~30 ulp). Also differences near -88 (outputs near the smallest normal) and rows
	near +-1e4."""
	from PuzzleLib.Modules import SoftMax
	rng = np.random.default_rng(11)
	for C in (10, 33, 1024):
		rows = [
			np.concatenate([[60.1], -10 + rng.uniform(-1e-3, 1e-3, C - 1)]),
			np.concatenate([[40.3], rng.uniform(-30, 30, C - 1)]),
			np.concatenate([[50.123], rng.uniform(-40, 50, C - 1)]),
			np.concatenate([[3.7], rng.uniform(-85, -83, C - 1)]),
			1e4 + rng.standard_normal(C) * 20,
			-1e4 + rng.standard_normal(C) * 20,
		]
		x = np.array(rows).astype(np.float32)
		reference.assertClose(SoftMax()(gpu(x)).get(), softmaxReference(x), "softmax C=%d" % C, bound=8)


@pytest.mark.parametrize("dtype, bound", [(np.float16, 2), (np.float32, 8), (np.float64, 8)])
def test_short_rows_of_every_length_and_count(backend, dtype, bound):
	"""Rows of 1 to 40 elements (the CPU takes rows of up to 32 eight at a time, a row per vector
	lane), 1 to 19 of them (whole and partial blocks of eight), with special rows at every lane: a
	row of only -inf is uniform, one with a NaN or +inf is NaN, -inf entries weigh nothing."""
	from PuzzleLib.Backend.Dnn import softmaxNd
	rng = np.random.default_rng(12)
	for C in range(1, 41):
		for N in (1, 7, 8, 9, 19):
			x = rng.standard_normal((N, C)) * rng.choice([0.1, 5, 30], (N, 1))
			special = rng.permutation(N)[:4]
			x[special[:1]] = -np.inf
			x[special[1:2], rng.integers(C)] = np.nan
			x[special[2:3], rng.integers(C)] = np.inf
			x[special[3:], ::2] = -np.inf
			x = x.astype(dtype)
			y = softmaxNd(gpu(x)).get()

			nan = np.isnan(x).any(axis=1) | np.isposinf(x).any(axis=1)
			empty = np.isneginf(x).all(axis=1) & ~nan
			assert np.isnan(y[nan]).all(), "C=%d N=%d" % (C, N)
			assert np.array_equal(y[empty], np.full((empty.sum(), C), 1 / C, dtype)), "C=%d N=%d" % (C, N)
			rest = ~nan & ~empty
			reference.assertClose(y[rest], softmaxReference(x[rest]), "softmax C=%d N=%d" % (C, N), bound=bound)


@pytest.mark.parametrize("C", [3, 10, 32, 33, 100, 1024])
def test_a_rows_result_does_not_depend_on_its_neighbours(backend, C):
	"""A row's bits are the same alone, in place, and at any position among other rows (in a whole
	block of eight on the CPU, or a partial one)."""
	from PuzzleLib.Backend.Dnn import softmaxNd
	x = (np.random.default_rng(C).standard_normal((21, C)) * 7).astype(np.float32)
	whole = softmaxNd(gpu(x)).get()
	for first in (1, 5, 8, 13, 20):
		assert softmaxNd(gpu(x[first:])).get().tobytes() == whole[first:].tobytes(), "C=%d from row %d" % (C, first)
		assert softmaxNd(gpu(x[:first])).get().tobytes() == whole[:first].tobytes(), "C=%d to row %d" % (C, first)

	data = gpu(x)
	softmaxNd(data, out=data)
	assert data.get().tobytes() == whole.tobytes()


def test_a_row_of_only_minus_infinity_is_uniform(backend):
	from PuzzleLib.Backend.Dnn import softmaxNd
	x = np.full((2, 5), -np.inf, dtype=np.float32)
	x[1, 3] = 0
	y = softmaxNd(gpu(x)).get()
	assert np.array_equal(y[0], np.full(5, 0.2, np.float32)) and np.array_equal(y[1], np.eye(5, dtype=np.float32)[3])


def test_nan_in_a_row_gives_nan_in_that_row_only(backend):
	from PuzzleLib.Backend.Dnn import softmaxNd
	x = np.zeros((3, 4), dtype=np.float32)
	x[1, 2] = np.nan
	y = softmaxNd(gpu(x)).get()
	assert np.isnan(y[1]).all() and np.array_equal(y[[0, 2]], np.full((2, 4), 0.25, np.float32))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_nan_in_a_row_without_finite_entries_gives_nan(backend, dtype):
	"""A NaN entry makes its row NaN even where every other entry is -inf (no maximum to shift by),
	for rows of a matrix and columns of spatial data."""
	from PuzzleLib.Backend.Dnn import softmaxNd
	x = np.full((4, 3), -np.inf, dtype=dtype)
	x[1, 1] = np.nan
	x[2] = np.nan
	x[3] = (np.nan, 0, -np.inf)
	y = softmaxNd(gpu(x)).get()
	assert np.array_equal(y[0], np.full(3, 1 / 3, dtype)) and np.isnan(y[1:]).all()

	spatial = softmaxNd(gpu(np.ascontiguousarray(np.stack([x.T, x.T], axis=0)))).get()
	assert np.array_equal(spatial[:, :, 0], np.full((2, 3), 1 / 3, dtype)) and np.isnan(spatial[:, :, 1:]).all()

	for C in (40, 100, 1024):        # rows longer than the CPU's short-row lanes take
		long = np.full((3, C), -np.inf, dtype=dtype)
		long[1, C // 2] = np.nan
		long[2, -1] = np.nan
		y = softmaxNd(gpu(long)).get()
		assert np.array_equal(y[0], np.full(C, 1 / C, dtype)) and np.isnan(y[1:]).all(), "C=%d" % C


def test_rows_beyond_the_grid_and_longer_than_a_block(backend, monkeypatch):
	"""On CUDA rows of a matrix run a block per row: with the grid capped at 3 blocks, 10 rows of 700
	(each thread of a 256-thread block takes 2 or 3 elements of a row) are all computed."""
	from PuzzleLib.Backend.Dnn import softmaxNd, softmaxNdBackward
	from PuzzleLib.Backend.Kernels.MatVec import argmax
	if backend == "cuda":
		from PuzzleLib.Cuda import Rows
		monkeypatch.setattr(Rows, "blocksCap", lambda: 3)

	rng = np.random.default_rng(7)
	x = (rng.standard_normal((10, 700)) * 10).astype(np.float32)
	g = rng.standard_normal(x.shape).astype(np.float32)
	y = softmaxNd(gpu(x))
	reference.assertClose(y.get(), softmaxReference(x), "softmax 10 x 700", bound=8)

	wideY, wideG = y.get().astype(np.float64), g.astype(np.float64)
	expected = wideY * (wideG - (wideG * wideY).sum(axis=1, keepdims=True))
	assert np.allclose(softmaxNdBackward(y, gpu(g)).get(), expected, rtol=1e-5, atol=1e-7)
	assert np.array_equal(argmax(gpu(x), axis=1).get(), x.argmax(axis=1))


def test_spatial_data_is_softmaxed_per_position(backend):
	from PuzzleLib.Modules import SoftMax
	x = (np.random.default_rng(2).standard_normal((3, 6, 5, 4)) * 10).astype(np.float32)
	y = SoftMax()(gpu(x)).get()
	reference.assertClose(y, softmaxReference(x), "softmax 4-D", bound=8)


@pytest.mark.parametrize("dtype, bound", [(np.float16, 2), (np.float64, 8)])
def test_other_dtypes(backend, dtype, bound):
	from PuzzleLib.Modules import SoftMax
	x = hardRows(dtype, C=40)
	softmax = SoftMax()
	softmax.calcMode(dtype)
	y = softmax(gpu(x)).get()
	assert y.dtype == dtype and np.isfinite(y).all()
	reference.assertClose(y, softmaxReference(x), "softmax %s" % np.dtype(dtype).name, bound=bound)


def halfUlp(value):
	"""The spacing of float16 numbers at each value's magnitude (subnormals: 2^-24)."""
	exponent = np.floor(np.log2(np.maximum(np.abs(value), 2.0**-14)))
	return 2.0 ** (exponent - 10)


@pytest.mark.parametrize("C", [10, 33, 100, 1024, 5000])
def test_float16_rows_are_rounded_once(backend, C):
	"""A float16 softmax is the exact one rounded once: within half a float16 ulp (and a hair for the
	float32 arithmetic under it), where rounding each exp to float16 before the scaling costs up
	to a whole ulp. Rows of a matrix, short and long (5000 is longer than the CPU's float buffer)."""
	from PuzzleLib.Modules import SoftMax
	rng = np.random.default_rng(13)
	x = rng.standard_normal((19, C)) * rng.choice([0.5, 3, 8], (19, 1))
	x[3, ::3] = -np.inf
	x = x.astype(np.float16)

	softmax = SoftMax()
	softmax.calcMode(np.float16)
	y = softmax(gpu(x)).get().astype(np.float64)

	ref = softmaxReference(x)
	error = np.abs(y - ref) / halfUlp(ref)
	assert error.max() <= 0.5 * (1 + 2.0**-8), "%.3f float16 ulp at %s" % (error.max(), np.unravel_index(error.argmax(), error.shape))


def test_backward_matches_the_formula(backend):
	from PuzzleLib.Modules import SoftMax
	rng = np.random.default_rng(3)
	x = (rng.standard_normal((7, 50)) * 4).astype(np.float32)
	g = rng.standard_normal((7, 50)).astype(np.float32)

	softmax = SoftMax()
	y = softmax(gpu(x)).get()
	softmax.backward(gpu(g))

	y64, g64 = y.astype(np.float64), g.astype(np.float64)
	expected = y64 * (g64 - np.sum(g64 * y64, axis=1, keepdims=True))
	got = softmax.grad.get().astype(np.float64)
	assert np.allclose(got, expected, rtol=1e-5, atol=1e-7 * np.abs(g64).max())


@pytest.mark.parametrize("C", [10, 33, 1024, 3000])
def test_float16_backward_within_a_float16_ulp(backend, C):
	"""float16 y (g - sum g y) from float16 y and g, the sum in double: within one float16 ulp of the
	float64 formula (rounded once to float32, then to float16). Rows of a matrix, short and long
	(3000 is longer than the CPU's float buffer holds with its grad)."""
	from PuzzleLib.Backend.Dnn import softmaxNdBackward
	rng = np.random.default_rng(14)
	y = rng.random((21, C)).astype(np.float16)
	g = (rng.standard_normal((21, C)) * 3).astype(np.float16)

	got = softmaxNdBackward(gpu(y), gpu(g)).get().astype(np.float64)

	y64, g64 = y.astype(np.float64), g.astype(np.float64)
	expected = y64 * (g64 - np.sum(g64 * y64, axis=1, keepdims=True))
	error = np.abs(got - expected) / halfUlp(expected)
	assert error.max() <= 1, "%.3f float16 ulp" % error.max()


@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 5)])
def test_backward_by_central_differences(backend, shape):
	from PuzzleLib.Modules import SoftMax
	rng = np.random.default_rng(4)
	x = rng.standard_normal(shape) * 2
	g = rng.standard_normal(shape)

	softmax = SoftMax()
	softmax.calcMode(np.float64)

	def loss(values):
		return float(np.sum(softmax(gpu(values)).get() * g))

	softmax(gpu(x))
	softmax.backward(gpu(g))
	analytic = softmax.grad.get()

	numeric = centralDifferences(lambda: loss(x), x)
	assert np.allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_kernels_run_in_place(backend):
	from PuzzleLib.Backend.Dnn import softmaxNd, softmaxNdBackward
	x = (np.random.default_rng(5).standard_normal((3, 9)) * 5).astype(np.float32)
	g = np.random.default_rng(6).standard_normal((3, 9)).astype(np.float32)

	expected = softmaxNd(gpu(x)).get()
	data = gpu(x)
	assert softmaxNd(data, out=data) is data and np.array_equal(data.get(), expected)

	grad = gpu(g)
	reference_ = softmaxNdBackward(data, gpu(g)).get()
	assert softmaxNdBackward(data, grad, out=grad) is grad and np.array_equal(grad.get(), reference_)


def test_bad_input_is_a_module_error_and_changes_nothing(backend):
	from PuzzleLib.Modules import ModuleError, SoftMax
	softmax = SoftMax()
	x = gpu(np.zeros((2, 3), np.float32))
	y = softmax(x)

	for call in (
		lambda: softmax(gpu(np.zeros(3, np.float32))),                 # rank 1
		lambda: softmax(gpu(np.zeros((2, 3), np.float64))),            # dtype
		lambda: softmax(np.zeros((2, 3), np.float32)),                 # host array
		lambda: softmax.backward(gpu(np.zeros((2, 4), np.float32))),   # width
		lambda: softmax.backward(gpu(np.zeros((2, 3), np.float16))),
	):
		with pytest.raises(ModuleError):
			call()
	assert softmax.data is y and softmax.inData is x and softmax.grad is None

	with pytest.raises(ModuleError, match="before forward"):
		SoftMax().backward(gpu(np.zeros((2, 3), np.float32)))


def test_kernel_errors(backend):
	from PuzzleLib.Backend.Dnn import softmaxNd, softmaxNdBackward
	from PuzzleLib.Kernels.Launch import KernelError
	a = gpu(np.zeros((4, 5), np.float32))

	for call in (
		lambda: softmaxNd(gpu(np.zeros(5, np.float32))),
		lambda: softmaxNd(gpu(np.zeros((4, 5), np.int32))),
		lambda: softmaxNd(a, out=gpu(np.zeros((4, 6), np.float32))),
		lambda: softmaxNd(a, out=a.reshape(20)[1:].reshape(19)),
		lambda: softmaxNdBackward(a, gpu(np.zeros((4, 6), np.float32))),
		lambda: softmaxNdBackward(a, a, out=a),
	):
		with pytest.raises(KernelError):
			call()


def test_blueprint_and_flags(backend):
	from PuzzleLib.Modules import SoftMax
	softmax = SoftMax(name="sm")
	assert softmax.getBlueprint() == {"classname": "SoftMax", "scheme": {"name": "sm"}}
	assert softmax.gradUsesOutData is True
	assert softmax.dataShapeFrom((2, 3)) == (2, 3) and softmax.gradShapeFrom((2, 3)) == (2, 3)
