"""The CUDA backend's Blas products, GEMMs through cuBLAS on arrays Kernels.Blas checked (the
vector updates are elementwise kernels of the table, see Kernels/Blas.py).

Arrays are row-major and cuBLAS is column-major: a row-major (r, c) matrix is its column-major
transpose, so C = op(A) op(B) is computed as C^T = op(B)^T op(A)^T, the operands swapped, each
with leading dimension its row length. float32 runs cublasSgemm, float64 cublasDgemm, float16
cublasGemmEx with float32 compute (rounded once on the store). Sums and row broadcasts are GEMMs
with a vector of ones: a row sum is ones(1, N) A, rows of vec are ones(N, 1) vec(1, M).
"""

import ctypes

import numpy as np

from PuzzleLib.Cuda import Cublas
from PuzzleLib.Cuda.ElementWise import kernel as elementwise     # noqa: F401 (the vector updates' kernels)
from PuzzleLib.Cuda.GPUArray import to_gpu


_ones = {}


def ones(dtype, count):
	"""The address of at least count ones of dtype on the device (one buffer per dtype, grown)."""
	buffer = _ones.get(dtype)
	if buffer is None or buffer.size < count:
		buffer = _ones[dtype] = to_gpu(np.ones(max(count, 1024), dtype=dtype))
	return buffer.ptr


def _scalars(dtype, alpha, beta):
	scalar = ctypes.c_double if dtype == np.float64 else ctypes.c_float
	return scalar(alpha), scalar(beta)


def gemmRaw(dtype, m, n, k, A, transpA, B, transpB, C, alpha, beta, outDtype=None):
	"""Row-major C(m, n) = alpha op(A) op(B) + beta C on device addresses, op(A) (m, k), op(B) (k, n)."""
	if m == 0 or n == 0:
		return

	handle = Cublas.handle()
	lib, outDtype = handle.lib, dtype if outDtype is None else outDtype

	lda = m if transpA else k             # the row length of A as stored
	ldb = k if transpB else n
	opA, opB = (Cublas.OP_T if transpA else Cublas.OP_N), (Cublas.OP_T if transpB else Cublas.OP_N)

	# k == 0: cuBLAS then scales C by beta; the leading dimensions must still be >= 1
	lda, ldb = max(lda, 1), max(ldb, 1)
	a, b = _scalars(dtype if dtype != np.float16 else np.float32, alpha, beta)

	if dtype == np.float32 and outDtype == np.float32:
		status = lib.cublasSgemm_v2(handle.value, opB, opA, n, m, k, a, B, ldb, A, lda, b, C, n)
		call = "cublasSgemm_v2"
	elif dtype == np.float64:
		status = lib.cublasDgemm_v2(handle.value, opB, opA, n, m, k, a, B, ldb, A, lda, b, C, n)
		call = "cublasDgemm_v2"
	else:
		types = {np.dtype(np.float16): Cublas.CUDA_R_16F, np.dtype(np.float32): Cublas.CUDA_R_32F}
		status = lib.cublasGemmEx(
			handle.value, opB, opA, n, m, k, ctypes.byref(a), B, types[np.dtype(dtype)], ldb, A, types[np.dtype(dtype)],
			lda, ctypes.byref(b), C, types[np.dtype(outDtype)], n, Cublas.COMPUTE_32F, Cublas.GEMM_DEFAULT
		)
		call = "cublasGemmEx"

	handle.check(status, call)


def address(ary):
	"""The array's device address; an empty array has none on pycuda (cuBLAS reads nothing there)."""
	return ary.ptr if ary.size else None


def gemm(A, B, out, transpA, transpB, alpha, beta):
	m, k = A.shape[::-1] if transpA else A.shape
	n = B.shape[0] if transpB else B.shape[1]
	gemmRaw(A.dtype, m, n, k, address(A), transpA, address(B), transpB, address(out), alpha, beta)


def sumOnMatrix(A, out, cols, alpha, beta):
	rows, columns = A.shape
	if out.size == 0:
		return

	if cols:        # out(1, columns) = ones(1, rows) A
		gemmRaw(A.dtype, 1, columns, rows, ones(A.dtype, rows), False, address(A), False, out.ptr, alpha, beta)
	else:           # out(rows, 1) = A ones(columns, 1)
		gemmRaw(A.dtype, rows, 1, columns, address(A), False, ones(A.dtype, columns), False, out.ptr, alpha, beta)


def dot(x, y):
	"""sum x y as a (1, n) (n, 1) GEMM into a float32 (float64) scalar on the device."""
	outDtype = np.float64 if x.dtype == np.float64 else np.float32
	result = to_gpu(np.zeros(1, dtype=outDtype))
	gemmRaw(x.dtype, 1, 1, x.size, x.ptr, False, y.ptr, False, result.ptr, 1.0, 0.0, outDtype=outDtype)
	return float(result.get()[0])


def broadcastRows(vec, out):
	"""out(N, M) = ones(N, 1) vec(1, M): a rank-1 GEMM, exact (each element is 1 * vec)."""
	rows, columns = out.shape
	gemmRaw(out.dtype, rows, columns, 1, ones(out.dtype, rows), False, vec.ptr, False, out.ptr, 1.0, 0.0)
