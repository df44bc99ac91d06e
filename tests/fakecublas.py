"""A host stand-in for libcublas, for the CUDA backend's tests on tests/fakepycuda.py.

It is a real shared library, built with the host C++ compiler, exporting the entry points
PuzzleLib/Cuda/Cublas.py binds (cublasCreate_v2, cublasSgemm_v2, cublasGemmEx, ...) with
cuBLAS's C signatures, so the ctypes loading, the argument packing and the row-major to
column-major mapping are all exercised: PUZZLELIB_CUBLAS=path loads it. The fake's "device"
memory is host memory, so the GEMMs run on the host: column-major, accumulating in float (double
for Dgemm), rounding once on the store. Like cuBLAS it refuses (CUBLAS_STATUS_INVALID_VALUE) a
null handle, negative sizes and leading dimensions below cuBLAS's minimum, and type combinations
cublasGemmEx does not take (CUBLAS_STATUS_NOT_SUPPORTED). fake_cublas_last_call() names the
entry point of the last GEMM, for tests.
"""

import atexit, os, shutil, subprocess, tempfile

from fakepycuda import FAKE_FP16, hostCompiler


SOURCE = FAKE_FP16.replace("#pragma once\n", "") + r"""
#include <stdlib.h>
#include <string.h>

enum { SUCCESS = 0, NOT_INITIALIZED = 1, INVALID_VALUE = 7, NOT_SUPPORTED = 15 };
enum { R_32F = 0, R_64F = 1, R_16F = 2 };

struct FakeHandle { void *stream; int mathMode; };
static char lastCall[64];

static int checkDims(const FakeHandle *h, int ta, int tb, int m, int n, int k, int lda, int ldb, int ldc)
{
	if (h == 0) return NOT_INITIALIZED;
	if ((ta != 0 && ta != 1) || (tb != 0 && tb != 1) || m < 0 || n < 0 || k < 0) return INVALID_VALUE;
	int rowsA = ta ? k : m, rowsB = tb ? n : k;
	if (lda < (rowsA > 1 ? rowsA : 1) || ldb < (rowsB > 1 ? rowsB : 1) || ldc < (m > 1 ? m : 1)) return INVALID_VALUE;
	return SUCCESS;
}

static double load(const void *p, int type, long i)
{
	if (type == R_32F) return ((const float *)p)[i];
	if (type == R_64F) return ((const double *)p)[i];
	return __half2float(((const __half *)p)[i]);
}

static void store(void *p, int type, long i, double v)
{
	if (type == R_32F) ((float *)p)[i] = (float)v;
	else if (type == R_64F) ((double *)p)[i] = v;
	else ((__half *)p)[i] = __float2half_rn((float)v);
}

/* column-major C = alpha op(A) op(B) + beta C; accumulated in float unless wide, beta 0 never reads C */
static void gemm(int ta, int tb, int m, int n, int k, double alpha, const void *A, int at, int lda,
	const void *B, int bt, int ldb, double beta, void *C, int ct, int ldc, int wide)
{
	for (int j = 0; j < n; j++)
		for (int i = 0; i < m; i++) {
			double dacc = 0.0;
			float facc = 0.0f;
			for (int l = 0; l < k; l++) {
				double a = load(A, at, ta ? (long)i * lda + l : (long)l * lda + i);
				double b = load(B, bt, tb ? (long)l * ldb + j : (long)j * ldb + l);
				if (wide) dacc += a * b; else facc += (float)a * (float)b;
			}
			double acc = wide ? dacc : (double)facc;
			double result;
			if (wide)
				result = alpha * acc + (beta == 0.0 ? 0.0 : beta * load(C, ct, (long)j * ldc + i));
			else
				result = (float)alpha * (float)acc + (beta == 0.0 ? 0.0f : (float)beta * (float)load(C, ct, (long)j * ldc + i));
			store(C, ct, (long)j * ldc + i, result);
		}
}

extern "C" {

int cublasCreate_v2(void **handle)
{
	FakeHandle *h = (FakeHandle *)calloc(1, sizeof(FakeHandle));
	*handle = h;
	return SUCCESS;
}

int cublasDestroy_v2(void *handle) { if (!handle) return NOT_INITIALIZED; free(handle); return SUCCESS; }

int cublasSetStream_v2(void *handle, void *stream)
{
	if (!handle) return NOT_INITIALIZED;
	((FakeHandle *)handle)->stream = stream;
	return SUCCESS;
}

int cublasGetVersion_v2(void *handle, int *version) { if (!handle) return NOT_INITIALIZED; *version = 130000; return SUCCESS; }

int cublasSetMathMode(void *handle, int mode)
{
	if (!handle) return NOT_INITIALIZED;
	if (mode < 0 || mode > 3) return INVALID_VALUE;
	((FakeHandle *)handle)->mathMode = mode;
	return SUCCESS;
}

int cublasSgemm_v2(void *handle, int ta, int tb, int m, int n, int k, const float *alpha, const float *A, int lda,
	const float *B, int ldb, const float *beta, float *C, int ldc)
{
	int status = checkDims((FakeHandle *)handle, ta, tb, m, n, k, lda, ldb, ldc);
	if (status != SUCCESS) return status;
	strcpy(lastCall, "cublasSgemm_v2");
	gemm(ta, tb, m, n, k, *alpha, A, R_32F, lda, B, R_32F, ldb, *beta, C, R_32F, ldc, 0);
	return SUCCESS;
}

int cublasDgemm_v2(void *handle, int ta, int tb, int m, int n, int k, const double *alpha, const double *A, int lda,
	const double *B, int ldb, const double *beta, double *C, int ldc)
{
	int status = checkDims((FakeHandle *)handle, ta, tb, m, n, k, lda, ldb, ldc);
	if (status != SUCCESS) return status;
	strcpy(lastCall, "cublasDgemm_v2");
	gemm(ta, tb, m, n, k, *alpha, A, R_64F, lda, B, R_64F, ldb, *beta, C, R_64F, ldc, 1);
	return SUCCESS;
}

int cublasGemmEx(void *handle, int ta, int tb, int m, int n, int k, const void *alpha, const void *A, int at, int lda,
	const void *B, int bt, int ldb, const void *beta, void *C, int ct, int ldc, int computeType, int algo)
{
	int status = checkDims((FakeHandle *)handle, ta, tb, m, n, k, lda, ldb, ldc);
	if (status != SUCCESS) return status;
	/* compute 32F (float scalars) with 16F or 32F inputs, and 16F or 32F outputs */
	if (computeType != 68 || at != bt || (at != R_16F && at != R_32F) || (ct != R_16F && ct != R_32F) || (at == R_32F && ct != R_32F))
		return NOT_SUPPORTED;
	if (algo != -1) return INVALID_VALUE;
	strcpy(lastCall, "cublasGemmEx");
	gemm(ta, tb, m, n, k, *(const float *)alpha, A, at, lda, B, bt, ldb, *(const float *)beta, C, ct, ldc, 0);
	return SUCCESS;
}

const char *cublasGetStatusString(int status)
{
	switch (status) {
		case SUCCESS: return "CUBLAS_STATUS_SUCCESS";
		case NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
		case INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
		case NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
		default: return "CUBLAS_STATUS_UNKNOWN";
	}
}

const char *fake_cublas_last_call(void) { return lastCall; }

}
"""

_built = None


def build():
	"""The stand-in's path (built once per process), or None without a host C++ compiler."""
	global _built
	if _built is None and hostCompiler() is not None:
		folder = tempfile.mkdtemp(prefix="fakecublas-")
		atexit.register(shutil.rmtree, folder, True)

		source, library = os.path.join(folder, "fakecublas.cpp"), os.path.join(folder, "libcublas.so.13")
		with open(source, "w") as f:
			f.write(SOURCE)

		result = subprocess.run(
			[hostCompiler(), "-O2", "-fPIC", "-shared", "-std=c++17", "-o", library, source], capture_output=True, text=True
		)
		if result.returncode != 0:
			raise RuntimeError("building the cuBLAS stand-in failed:\n%s" % result.stderr)
		_built = library

	return _built
