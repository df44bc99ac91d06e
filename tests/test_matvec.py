"""MatVec.addVecToMat and argmax, gpuarray.minimum and maximum, against numpy."""

import numpy as np
import pytest

from cases import gpu
from harness import assertSameBits


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_add_vec_to_mat_along_each_axis(backend, dtype):
	from PuzzleLib.Backend.Kernels.MatVec import addVecToMat
	rng = np.random.default_rng(0)
	mat = rng.standard_normal((37, 70)).astype(dtype)

	for axis in (0, 1, -1):
		vec = rng.standard_normal(mat.shape[axis]).astype(dtype)
		got = addVecToMat(gpu(vec), gpu(mat), axis=axis).get()
		wide = np.float64 if dtype == np.float64 else np.float32       # float16 adds in float32, rounds once
		broadcast = vec[:, None] if axis == 0 else vec[None, :]
		expected = (mat.astype(wide) + broadcast.astype(wide)).astype(dtype)
		assertSameBits(got, expected, "addVecToMat axis=%d %s" % (axis, np.dtype(dtype).name))


def test_add_vec_to_mat_in_place_and_on_3d(backend):
	from PuzzleLib.Backend.Kernels.MatVec import addVecToMat
	rng = np.random.default_rng(1)
	mat = rng.standard_normal((4, 5, 6)).astype(np.float32)
	vec = rng.standard_normal(5).astype(np.float32)

	data = gpu(mat)
	assert addVecToMat(gpu(vec), data, axis=1, out=data) is data
	assertSameBits(data.get(), mat + vec[None, :, None], "in place, axis 1 of 3-D")


def test_add_vec_to_mat_errors(backend):
	from PuzzleLib.Backend.Kernels.MatVec import addVecToMat
	from PuzzleLib.Kernels.Launch import KernelError
	mat, vec = gpu(np.zeros((3, 4), np.float32)), gpu(np.zeros(4, np.float32))

	for call in (
		lambda: addVecToMat(vec, mat, axis=0),                                  # length is mat.shape[0] = 3
		lambda: addVecToMat(gpu(np.zeros(4, np.float64)), mat, axis=1),
		lambda: addVecToMat(vec, mat, axis=2),
		lambda: addVecToMat(vec, mat, axis=1.0),
		lambda: addVecToMat(vec, mat, axis=1, out=gpu(np.zeros((4, 3), np.float32))),
		lambda: addVecToMat(np.zeros(4, np.float32), mat, axis=1),
	):
		with pytest.raises(KernelError):
			call()


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_argmax(backend, dtype):
	from PuzzleLib.Backend.Kernels.MatVec import argmax
	rng = np.random.default_rng(2)
	x = rng.integers(-3, 4, (6, 9, 5)).astype(dtype)         # ties: the first maximum wins
	x[0, 4, 1] = np.nan
	x[2, 7, 3] = np.inf

	for axis in (0, 1, 2):
		got = argmax(gpu(x), axis=axis).get()
		assert got.dtype == np.int32 and np.array_equal(got, np.argmax(x, axis=axis)), axis


def test_argmax_errors(backend):
	from PuzzleLib.Backend.Kernels.MatVec import argmax
	from PuzzleLib.Kernels.Launch import KernelError
	for call in (
		lambda: argmax(gpu(np.zeros((3, 0), np.float32)), axis=1),
		lambda: argmax(gpu(np.zeros((3, 4), np.int32)), axis=1),
		lambda: argmax(gpu(np.zeros((3, 4), np.float32)), axis=1, out=gpu(np.zeros(3, np.int64))),
	):
		with pytest.raises(KernelError):
			call()


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_minimum_and_maximum_are_numpys(backend, dtype):
	from PuzzleLib.Backend import gpuarray
	rng = np.random.default_rng(3)
	a, b = rng.standard_normal(1003).astype(dtype), rng.standard_normal(1003).astype(dtype)
	a[:8] = (np.nan, 1, np.nan, 0.0, -0.0, np.inf, -np.inf, 2)
	b[:8] = (1, np.nan, np.nan, -0.0, 0.0, 3, 5, 2)
	b[8:100] = a[8:100]

	# numpy's float16 loops keep the first zero of a (0, -0) tie, its float32 loops the second: the
	# kernels follow the float32 rule in every dtype
	def numpy(function):
		wide = np.float32 if dtype == np.float16 else dtype
		return function(a.astype(wide), b.astype(wide)).astype(dtype)

	assertSameBits(gpuarray.minimum(gpu(a), gpu(b)).get(), numpy(np.minimum), "minimum")
	assertSameBits(gpuarray.maximum(gpu(a), gpu(b)).get(), numpy(np.maximum), "maximum")

	out = gpu(np.zeros(1003, dtype))
	assert gpuarray.maximum(gpu(a), gpu(b), out=out) is out
	assertSameBits(out.get(), numpy(np.maximum), "maximum into out")


def test_minimum_errors(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Kernels.Launch import KernelError
	a = gpu(np.zeros(4, np.float32))
	for call in (
		lambda: gpuarray.minimum(a, gpu(np.zeros(5, np.float32))),
		lambda: gpuarray.minimum(a, gpu(np.zeros(4, np.float64))),
		lambda: gpuarray.minimum(a, np.zeros(4, np.float32)),
		lambda: gpuarray.maximum(a, a, out=gpu(np.zeros(5, np.float32))),
	):
		with pytest.raises(KernelError):
			call()
