"""The CPU backend's Blas operations: numpy's BLAS (its gemm, matmul, dot) on arrays Kernels.Blas checked.

A float32 or float64 product is one call of numpy's BLAS gemm with alpha and beta (NumpyBlas):
an accumulating product (beta = 1: a weight gradient into its grad, a product onto the bias) is
added inside BLAS's kernel, with no scratch buffer and no pass over out to add it. Where that entry
is not reachable, and for float16, which has no BLAS (its operands are widened to float32,
multiplied by sgemm and rounded once), numpy's matmul computes the product and alpha and beta are
applied after it. Transposes are BLAS's transpose flags, never copies.
"""

import numpy as np

from PuzzleLib.CPU import BlasThreads, NumpyBlas
from PuzzleLib.CPU.ElementWise import kernel as elementwise     # noqa: F401 (the vector updates' kernels)
from PuzzleLib.CPU.GPUArray import GPUArray, memoryPool


POOLED_BYTES = 1 << 16


def _compute(ary):
	"""The host array to compute on: float16 widened to float32, else the data itself."""
	data = ary.gpudata
	return data.astype(np.float32) if data.dtype == np.float16 else data


def _finish(result, out, alpha, beta):
	"""out = alpha result + beta out, computed in result's dtype and stored (rounded once) into out.
	Where out has result's dtype the sum is made in out itself: no pass to copy it back."""
	computeType, target = result.dtype.type, out.gpudata

	if alpha != 1.0:
		result *= computeType(alpha)
	if result is target:
		return

	if target.dtype == result.dtype:
		if beta == 0.0:
			np.copyto(target, result)
			return
		if beta != 1.0:
			target *= computeType(beta)
		target += result
		return

	if beta == 1.0:
		result += target
	elif beta != 0.0:
		result += target.astype(result.dtype, copy=False) * computeType(beta)
	np.copyto(target, result, casting="same_kind")


def gemm(A, B, out, transpA, transpB, alpha, beta):
	direct = NumpyBlas.gemm()
	# alpha = 0 goes through matmul, so that NaN and infinity in the operands still show (BLAS skips the product)
	if direct is not None and out.dtype != np.float16 and out.size and alpha != 0.0 and A.size:
		m, n = out.shape
		BlasThreads.forProduct(A.size * n)
		direct.multiply(out.dtype, A.ptr, B.ptr, out.ptr, m, n, A.size // m, transpA, transpB, alpha, beta)
		return

	a, b = _compute(A), _compute(B)
	a, b = a.T if transpA else a, b.T if transpB else b
	BlasThreads.forProduct(a.shape[0] * a.shape[1] * b.shape[1])

	if out.dtype != np.float16 and beta == 0.0:
		np.matmul(a, b, out=out.gpudata)
		_finish(out.gpudata, out, alpha, 0.0)
		return

	# beta != 0 (or float16): the product goes to a scratch buffer first, pooled when large, so
	# that accumulating faults in no fresh pages; small ones are cheaper from numpy's allocator
	if out.nbytes < POOLED_BYTES:
		_finish(np.matmul(a, b), out, alpha, beta)
		return

	product = GPUArray(out.shape, a.dtype, allocator=memoryPool).gpudata
	np.matmul(a, b, out=product)
	_finish(product, out, alpha, beta)


def sumOnMatrix(A, out, cols, alpha, beta):
	data = A.gpudata
	computeType = np.float32 if data.dtype == np.float16 else data.dtype
	_finish(np.add.reduce(data, axis=0 if cols else 1, dtype=computeType), out, alpha, beta)


def dot(x, y):
	return float(np.dot(_compute(x).reshape(-1), _compute(y).reshape(-1)))


def broadcastRows(vec, out):
	out.gpudata[...] = vec.gpudata
