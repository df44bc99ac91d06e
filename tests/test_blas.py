"""Backend.Blas: GEMM, sums, vector updates and dot against float64 references, within the
standard error bound of a float32 (or float64) dot product; bad arguments refused untouched."""

import numpy as np
import pytest

from cases import gpu, normal
from reference import assertProductClose


DTYPES = (np.float32, np.float16, np.float64)
dtypeIds = lambda d: np.dtype(d).name        # noqa: E731


def blas():
	from PuzzleLib.Backend import Blas
	return Blas


def wide(ary):
	return np.asarray(ary, dtype=np.float64)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtypeIds)
@pytest.mark.parametrize("transpA", (False, True))
@pytest.mark.parametrize("transpB", (False, True))
def test_gemm_within_dot_product_bound(backend, dtype, transpA, transpB):
	m, k, n = 37, 301, 19
	A = normal((k, m) if transpA else (m, k), dtype, seed=1)
	B = normal((n, k) if transpB else (k, n), dtype, seed=2)

	got = blas().mulMatrixOnMatrix(gpu(A), gpu(B), transpA=transpA, transpB=transpB).get()

	opA, opB = (A.T if transpA else A), (B.T if transpB else B)
	assert got.shape == (m, n) and got.dtype == np.dtype(dtype)
	assertProductClose(got, wide(opA) @ wide(opB), np.abs(wide(opA)) @ np.abs(wide(opB)), k, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtypeIds)
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (0.5, 1.0), (-2.0, 0.25), (1.0, 1.0), (0.0, 3.0)])
def test_gemm_alpha_beta_into_out(backend, dtype, alpha, beta):
	A, B, C = normal((8, 64), dtype, seed=3), normal((64, 5), dtype, seed=4), normal((8, 5), dtype, seed=5)
	out = gpu(C)

	result = blas().mulMatrixOnMatrix(gpu(A), gpu(B), out=out, alpha=alpha, beta=beta)
	assert result is out

	ref = alpha * (wide(A) @ wide(B)) + beta * wide(C)
	magnitude = abs(alpha) * (np.abs(wide(A)) @ np.abs(wide(B))) + abs(beta) * np.abs(wide(C))
	assertProductClose(out.get(), ref, magnitude, 64 + 2, dtype)


def test_gemm_beta_zero_never_reads_out(backend):
	A, B = normal((4, 6), seed=6), normal((6, 3), seed=7)
	out = gpu(np.full((4, 3), np.nan, np.float32))
	blas().mulMatrixOnMatrix(gpu(A), gpu(B), out=out, alpha=2.0)
	assert np.isfinite(out.get()).all()


def test_gemm_float16_rounds_once_from_float32_accumulation(backend):
	# 2048 + 1 + 1 + ...: a float16 accumulator stalls at 2048 (2049 rounds back to it); float32
	# reaches 3071, which rounds once to 3072
	k = 1024
	A = np.ones((1, k), np.float16)
	B = np.ones((k, 1), np.float16)
	B[0, 0] = 2048
	got = blas().mulMatrixOnMatrix(gpu(A), gpu(B)).get()
	assert got[0, 0] == np.float16(3071.0) == 3072


@pytest.mark.parametrize("dtype", DTYPES, ids=dtypeIds)
@pytest.mark.parametrize("cols", (True, False))
def test_sum_on_matrix(backend, dtype, cols):
	A, C = normal((129, 33), dtype, seed=8), normal((33 if cols else 129, ), dtype, seed=9)
	out = gpu(C)
	blas().sumOnMatrix(gpu(A), out=out, cols=cols, alpha=0.5, beta=-1.0)

	axis, terms = (0, 129) if cols else (1, 33)
	ref = 0.5 * wide(A).sum(axis=axis) - wide(C)
	magnitude = 0.5 * np.abs(wide(A)).sum(axis=axis) + np.abs(wide(C))
	assertProductClose(out.get(), ref, magnitude, terms + 2, dtype)

	fresh = blas().sumOnMatrix(gpu(A), cols=cols).get()
	assertProductClose(fresh, wide(A).sum(axis=axis), np.abs(wide(A)).sum(axis=axis), terms, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtypeIds)
def test_vector_updates(backend, dtype):
	x, y = normal((7, 9), dtype, seed=10), normal((63, ), dtype, seed=11)
	X, Y = gpu(x), gpu(y)

	assert blas().toVectorAddVector(Y, X, alpha=0.25) is Y
	ref = wide(y) + 0.25 * wide(x).ravel()
	assertProductClose(Y.get(), ref, np.abs(wide(y)) + 0.25 * np.abs(wide(x)).ravel(), 2, dtype)

	y2 = Y.get()
	out = blas().addVectorToVector(X, Y, alpha=2.0, beta=-0.5)
	assert out.shape == (7, 9)
	ref = (2 * wide(x) - 0.5 * wide(y2).reshape(7, 9))
	assertProductClose(out.get(), ref, 2 * np.abs(wide(x)) + 0.5 * np.abs(wide(y2)).reshape(7, 9), 2, dtype)


@pytest.mark.parametrize("which", ("x", "y"))
def test_add_vector_to_vector_into_an_operand(backend, which):
	x, y = normal((50, ), seed=12), normal((50, ), seed=13)
	X, Y = gpu(x), gpu(y)
	out = X if which == "x" else Y

	assert blas().addVectorToVector(X, Y, out=out, alpha=3.0, beta=0.5) is out
	assertProductClose(out.get(), 3 * wide(x) + 0.5 * wide(y), 3 * np.abs(wide(x)) + 0.5 * np.abs(wide(y)), 2, np.float32)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtypeIds)
def test_add_vector_to_vector_with_beta_zero_never_reads_y(backend, dtype):
	x = normal((33, ), dtype, seed=16)
	y = np.full(33, np.nan, dtype)
	y[::2] = np.inf
	out = blas().addVectorToVector(gpu(x), gpu(y), alpha=-1.5, beta=0.0)
	assertProductClose(out.get(), -1.5 * wide(x), 1.5 * np.abs(wide(x)), 1, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtypeIds)
def test_to_vector_add_vector_of_an_array_with_itself(backend, dtype):
	y = normal((5, 8), dtype, seed=17)
	Y = gpu(y)
	blas().toVectorAddVector(Y, Y, alpha=0.5)
	assertProductClose(Y.get(), 1.5 * wide(y), 1.5 * np.abs(wide(y)), 2, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtypeIds)
def test_dot(backend, dtype):
	x, y = normal((1000, ), dtype, seed=14), normal((10, 100), dtype, seed=15)
	got = blas().dot(gpu(x), gpu(y))
	assert isinstance(got, float)
	# the result is a float32 (or float64) accumulation, not rounded to float16
	assertProductClose(got, wide(x) @ wide(y).ravel(), np.abs(wide(x)) @ np.abs(wide(y)).ravel(), 1000, np.float64 if dtype == np.float64 else np.float32)


def test_empty_inner_dimension_gives_zeros_and_beta_scaling(backend):
	out = gpu(np.full((3, 2), 4.0, np.float32))
	blas().mulMatrixOnMatrix(gpu(np.zeros((3, 0), np.float32)), gpu(np.zeros((0, 2), np.float32)), out=out, beta=0.5)
	assert np.array_equal(out.get(), np.full((3, 2), 2.0, np.float32))


# --- refused arguments --------------------------------------------------------------------------

def refusals():
	A, B = normal((4, 6), seed=20), normal((6, 3), seed=21)
	return [
		("rank", lambda Blas, d: Blas.mulMatrixOnMatrix(d(A.ravel()), d(B)), "A must be 2-D"),
		("inner", lambda Blas, d: Blas.mulMatrixOnMatrix(d(A), d(B), transpB=True), "inner dimensions 6 and 3 differ"),
		("dtype", lambda Blas, d: Blas.mulMatrixOnMatrix(d(A), d(B.astype(np.float64))), "B has dtype float64"),
		("int", lambda Blas, d: Blas.mulMatrixOnMatrix(d(A.astype(np.int32)), d(B)), "Blas works on float16"),
		("host", lambda Blas, d: Blas.mulMatrixOnMatrix(A, d(B)), "A must be a GPUArray"),
		("out shape", lambda Blas, d: Blas.mulMatrixOnMatrix(d(A), d(B), out=d(np.zeros((3, 4), np.float32))), "out must have shape"),
		("alpha", lambda Blas, d: Blas.mulMatrixOnMatrix(d(A), d(B), alpha="2"), "alpha must be a real number"),
		("non-contiguous", lambda Blas, d: Blas.mulMatrixOnMatrix(d(A)[:, ::2], d(B)[::2]), "must be C-contiguous"),
		("sizes", lambda Blas, d: Blas.toVectorAddVector(d(A), d(B)), "x has 18 elements, y 24"),
		("dot dtype", lambda Blas, d: Blas.dot(d(A), d(A.astype(np.float16))), "y has dtype float16"),
	]


@pytest.mark.parametrize("name, call, message", refusals(), ids=[r[0] for r in refusals()])
def test_refused(backend, name, call, message):
	from PuzzleLib.Backend.Blas import BlasError
	with pytest.raises(BlasError, match=message):
		call(blas(), gpu)


def test_out_overlapping_an_operand_is_refused_untouched(backend):
	from PuzzleLib.Backend.Blas import BlasError
	A = gpu(normal((4, 4), seed=22))
	before = A.get()
	with pytest.raises(BlasError, match="out overlaps A"):
		blas().mulMatrixOnMatrix(A, gpu(normal((4, 4), seed=23)), out=A)
	assert np.array_equal(A.get(), before)


@pytest.mark.parametrize("dtype", DTYPES, ids=dtypeIds)
def test_broadcast_rows_is_exact(backend, dtype):
	vec = normal((7, ), dtype, seed=24)
	out = gpu(np.full((5, 7), np.nan, dtype))
	assert blas().broadcastRows(gpu(vec), out) is out
	assert np.array_equal(out.get(), np.tile(vec, (5, 1)))


def test_broadcast_rows_refuses_a_wrong_width(backend):
	from PuzzleLib.Backend.Blas import BlasError
	out = gpu(np.zeros((2, 3), np.float32))
	with pytest.raises(BlasError, match="vec has 4 elements, out's rows 3"):
		blas().broadcastRows(gpu(np.ones(4, np.float32)), out)
	assert not out.get().any()
