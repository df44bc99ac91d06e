"""The CPU backend's GEMM: one call of numpy's BLAS gemm with alpha and beta (CPU/NumpyBlas.py),
and numpy's matmul where that entry is not reachable; both against float64 references."""

import numpy as np
import pytest

from cases import gpu, normal
from reference import assertProductClose


@pytest.fixture
def cpu(activeBackend):
	if activeBackend != "cpu":
		pytest.skip("the CPU backend's GEMM paths")


@pytest.fixture(params=["numpy gemm", "matmul"])
def path(request, cpu, monkeypatch):
	from PuzzleLib.CPU import NumpyBlas
	if request.param == "matmul":
		monkeypatch.setattr(NumpyBlas, "gemm", lambda: None)
	elif NumpyBlas.gemm() is None:
		pytest.skip("numpy's BLAS gemm is not reachable here (not OpenBLAS, or no threadpoolctl)")
	return request.param


def wide(ary):
	return np.asarray(ary, dtype=np.float64)


@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("transpA, transpB", [(False, False), (True, False), (False, True), (True, True)])
@pytest.mark.parametrize("alpha, beta", [(1.0, 0.0), (1.0, 1.0), (-0.5, 0.75)])
def test_large_product_with_alpha_beta_and_transposes(path, dtype, transpA, transpB, alpha, beta):
	# large enough to run on every BLAS thread (BlasThreads.SMALL_PRODUCT), odd sizes for the kernels' edges
	m, k, n = 131, 263, 97
	A = normal((k, m) if transpA else (m, k), dtype, seed=1)
	B = normal((n, k) if transpB else (k, n), dtype, seed=2)
	C = normal((m, n), dtype, seed=3)

	from PuzzleLib.Backend import Blas
	out = gpu(C)
	assert Blas.mulMatrixOnMatrix(gpu(A), gpu(B), out=out, transpA=transpA, transpB=transpB, alpha=alpha, beta=beta) is out

	opA, opB = wide(A.T if transpA else A), wide(B.T if transpB else B)
	ref = alpha * (opA @ opB) + beta * wide(C)
	magnitude = abs(alpha) * (np.abs(opA) @ np.abs(opB)) + abs(beta) * np.abs(wide(C))
	assertProductClose(out.get(), ref, magnitude, k + 2, dtype)


def test_accumulating_product_allocates_no_scratch(cpu, monkeypatch):
	"""A weight gradient added into its grad (beta = 1) is added inside BLAS: no buffer for the
	product, so no pass to add it."""
	from PuzzleLib.CPU import NumpyBlas
	if NumpyBlas.gemm() is None:
		pytest.skip("numpy's BLAS gemm is not reachable here (not OpenBLAS, or no threadpoolctl)")

	from PuzzleLib.Backend import Blas, gpuarray
	x, grad, wgrad = gpu(normal((256, 300), seed=4)), gpu(normal((256, 200), seed=5)), gpu(normal((300, 200), seed=6))
	before = wgrad.get()

	allocations = []
	allocate = gpuarray.memoryPool.allocateArray
	monkeypatch.setattr(gpuarray.memoryPool, "allocateArray", lambda *args: allocations.append(args) or allocate(*args))

	Blas.mulMatrixOnMatrix(x, grad, out=wgrad, transpA=True, beta=1.0)
	assert allocations == []

	ref = wide(before) + wide(x.get()).T @ wide(grad.get())
	magnitude = np.abs(wide(before)) + np.abs(wide(x.get())).T @ np.abs(wide(grad.get()))
	assertProductClose(wgrad.get(), ref, magnitude, 256 + 1, np.float32)


def test_zero_alpha_keeps_nan_of_the_operands(path):
	"""alpha = 0 multiplies the product by zero, as the matmul path always did: NaN in an operand
	shows, where a BLAS call would skip the product."""
	from PuzzleLib.Backend import Blas
	A = normal((4, 6), seed=7)
	A[1, 2] = np.nan
	out = gpu(normal((4, 3), seed=8))

	Blas.mulMatrixOnMatrix(gpu(A), gpu(normal((6, 3), seed=9)), out=out, alpha=0.0, beta=1.0)
	got = out.get()
	assert np.isnan(got[1]).all() and np.isfinite(np.delete(got, 1, axis=0)).all()


def test_blas_threads_and_gemm_use_one_library(cpu):
	"""The thread count set for a product is the count of the library that computes it."""
	from PuzzleLib.CPU import BlasThreads, NumpyBlas
	controller = NumpyBlas.controller()
	if controller is None or NumpyBlas.gemm() is None:
		pytest.skip("numpy's BLAS gemm is not reachable here (not OpenBLAS, or no threadpoolctl)")

	for multiplyAdds, expected in ((1, 1), (BlasThreads.SMALL_PRODUCT, BlasThreads._allThreads)):
		BlasThreads.forProduct(multiplyAdds)
		assert controller.num_threads == expected


def test_every_openblas_loaded_reproduces_matmul_through_its_entry(cpu):
	"""The integer width of cblas_?gemm is read from each library's configuration: numpy's wheel
	ships a 64-bit-integer OpenBLAS, scipy's a 32-bit one; both must compute the right product."""
	threadpoolctl = pytest.importorskip("threadpoolctl")
	pytest.importorskip("scipy.linalg")
	from PuzzleLib.CPU import NumpyBlas

	libraries = [ctl.filepath for ctl in threadpoolctl.ThreadpoolController().select(internal_api="openblas").lib_controllers]
	if not libraries:
		pytest.skip("no OpenBLAS loaded here")

	for filepath in libraries:
		entry = NumpyBlas.openblasGemm(filepath)
		assert entry is not None and entry.packed is None and entry.reproducesMatmul(), filepath

		# and called through the compiled library's packed entry, which casts to either width
		NumpyBlas.packIn(entry)
		assert entry.packed is not None and entry.reproducesMatmul(), filepath


def test_accumulation_benchmark_prints_both_sides(cpu):
	from PuzzleLib import BenchmarkLinear
	lines = []
	best, reference, ratio = BenchmarkLinear.accumulation(1, batch=8, insize=16, outsize=12, out=lines.append)
	assert best > 0 and reference > 0 and ratio == reference / best
	assert lines and lines[0].startswith("x^T g added into a (16, 12) grad, batch 8, float32:")
