/* A host stand-in for cuBLAS (libcublas.so.13, also linked as .so.12 and .so) beside the
   emulated driver: not NVIDIA's library, a plain correct triple loop over device memory, which
   is host memory here.

   What it has: handles, streams, math mode, the version, cublasSgemm_v2, cublasDgemm_v2 and
   cublasGemmEx over CUDA_R_16F/32F/64F with CUBLAS_COMPUTE_32F(*) / 64F(*), column-major as
   cuBLAS, transposes N and T, alpha and beta on the host. 32F compute accumulates in float,
   64F in double; float16 data is converted to float and the result rounded once to half. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EXPORT __attribute__((visibility("default")))

typedef enum {
	CUBLAS_STATUS_SUCCESS = 0,
	CUBLAS_STATUS_NOT_INITIALIZED = 1,
	CUBLAS_STATUS_ALLOC_FAILED = 3,
	CUBLAS_STATUS_INVALID_VALUE = 7,
	CUBLAS_STATUS_ARCH_MISMATCH = 8,
	CUBLAS_STATUS_MAPPING_ERROR = 11,
	CUBLAS_STATUS_EXECUTION_FAILED = 13,
	CUBLAS_STATUS_INTERNAL_ERROR = 14,
	CUBLAS_STATUS_NOT_SUPPORTED = 15,
	CUBLAS_STATUS_LICENSE_ERROR = 16
} cublasStatus_t;

enum { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 };
enum { CUDA_R_32F = 0, CUDA_R_64F = 1, CUDA_R_16F = 2 };
enum {
	CUBLAS_COMPUTE_32F = 68, CUBLAS_COMPUTE_32F_PEDANTIC = 69, CUBLAS_COMPUTE_32F_FAST_16F = 74,
	CUBLAS_COMPUTE_32F_FAST_16BF = 75, CUBLAS_COMPUTE_32F_FAST_TF32 = 77,
	CUBLAS_COMPUTE_64F = 70, CUBLAS_COMPUTE_64F_PEDANTIC = 71
};

#define EMUCUBLAS_VERSION 130000

struct cublasContext { void *stream; int mathMode; };
typedef struct cublasContext *cublasHandle_t;

EXPORT cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
	if (!handle)
		return CUBLAS_STATUS_INVALID_VALUE;
	*handle = calloc(1, sizeof **handle);
	return *handle ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_ALLOC_FAILED;
}

EXPORT cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	free(handle);
	return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, void *stream)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	handle->stream = stream;
	return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if (!version)
		return CUBLAS_STATUS_INVALID_VALUE;
	*version = EMUCUBLAS_VERSION;
	return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSetMathMode(cublasHandle_t handle, int mode)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	handle->mathMode = mode;
	return CUBLAS_STATUS_SUCCESS;
}

EXPORT const char *cublasGetStatusString(cublasStatus_t status)
{
	switch (status) {
	case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
	case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
	case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
	case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
	case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
	case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
	case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
	case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
	case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED (not in the host stand-in)";
	case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
	}
	return "unknown cuBLAS status";
}

/* {{{ float16 (IEEE binary16, round to nearest even) */

static float halfToFloat(uint16_t h)
{
	const uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
	uint32_t bits;
	if (exponent == 0x1f)
		bits = sign | 0x7f800000u | (mantissa << 13);
	else if (exponent)
		bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
	else {
		float value = ldexpf((float)mantissa, -24);
		return sign ? -value : value;
	}
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

static uint16_t floatToHalf(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	const uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
	u &= 0x7fffffffu;
	if (u > 0x7f800000u)
		return sign | 0x7e00u;
	if (u >= 0x477ff000u)              /* rounds to 65536 or more: inf */
		return sign | 0x7c00u;
	if (u < 0x38800000u) {             /* below the smallest normal: a multiple of 2^-24 */
		float magnitude;
		memcpy(&magnitude, &u, 4);
		return sign | (uint16_t)nearbyintf(magnitude * 16777216.0f);
	}
	const uint32_t rounded = u + 0xfffu + ((u >> 13) & 1u);
	return sign | (uint16_t)((rounded - (112u << 23)) >> 13);
}

/* }}} */

static double load(const void *p, int type, size_t index)
{
	switch (type) {
	case CUDA_R_16F: return halfToFloat(((const uint16_t *)p)[index]);
	case CUDA_R_32F: return ((const float *)p)[index];
	default: return ((const double *)p)[index];
	}
}

static void store(void *p, int type, size_t index, double value)
{
	switch (type) {
	case CUDA_R_16F: ((uint16_t *)p)[index] = floatToHalf((float)value); break;
	case CUDA_R_32F: ((float *)p)[index] = (float)value; break;
	default: ((double *)p)[index] = value;
	}
}

static size_t at(int op, size_t row, size_t col, int ld)
{
	/* element (row, col) of op(X), X column-major with leading dimension ld */
	return op == CUBLAS_OP_N ? row + col * (size_t)ld : col + row * (size_t)ld;
}

/* C = alpha op(A) op(B) + beta C; in double for 64F, in float (each step rounded) for 32F */
static cublasStatus_t gemm(cublasHandle_t handle, int opA, int opB, int m, int n, int k, double alpha,
	const void *A, int typeA, int lda, const void *B, int typeB, int ldb, double beta, void *C, int typeC, int ldc, int inDouble)
{
	if (!handle)
		return CUBLAS_STATUS_NOT_INITIALIZED;
	if ((opA != CUBLAS_OP_N && opA != CUBLAS_OP_T) || (opB != CUBLAS_OP_N && opB != CUBLAS_OP_T))
		return CUBLAS_STATUS_INVALID_VALUE;
	if (m < 0 || n < 0 || k < 0 || ldc < (m > 1 ? m : 1))
		return CUBLAS_STATUS_INVALID_VALUE;
	if (lda < ((opA == CUBLAS_OP_N ? m : k) > 1 ? (opA == CUBLAS_OP_N ? m : k) : 1))
		return CUBLAS_STATUS_INVALID_VALUE;
	if (ldb < ((opB == CUBLAS_OP_N ? k : n) > 1 ? (opB == CUBLAS_OP_N ? k : n) : 1))
		return CUBLAS_STATUS_INVALID_VALUE;

	for (int col = 0; col < n; col++)
		for (int row = 0; row < m; row++) {
			const size_t c = (size_t)row + (size_t)col * (size_t)ldc;
			if (inDouble) {
				double sum = 0.0;
				for (int p = 0; p < k; p++)
					sum += load(A, typeA, at(opA, row, p, lda)) * load(B, typeB, at(opB, p, col, ldb));
				/* beta == 0: C is not read (it may hold NaN), as cuBLAS */
				store(C, typeC, c, alpha * sum + (beta != 0.0 ? beta * load(C, typeC, c) : 0.0));
			} else {
				float sum = 0.0f;
				for (int p = 0; p < k; p++)
					sum += (float)load(A, typeA, at(opA, row, p, lda)) * (float)load(B, typeB, at(opB, p, col, ldb));
				float result = (float)alpha * sum;
				if (beta != 0.0)
					result += (float)beta * (float)load(C, typeC, c);
				store(C, typeC, c, result);
			}
		}
	return CUBLAS_STATUS_SUCCESS;
}

EXPORT cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, int opA, int opB, int m, int n, int k, const float *alpha,
	const float *A, int lda, const float *B, int ldb, const float *beta, float *C, int ldc)
{
	if (!alpha || !beta)
		return CUBLAS_STATUS_INVALID_VALUE;
	return gemm(handle, opA, opB, m, n, k, *alpha, A, CUDA_R_32F, lda, B, CUDA_R_32F, ldb, *beta, C, CUDA_R_32F, ldc, 0);
}

EXPORT cublasStatus_t cublasDgemm_v2(cublasHandle_t handle, int opA, int opB, int m, int n, int k, const double *alpha,
	const double *A, int lda, const double *B, int ldb, const double *beta, double *C, int ldc)
{
	if (!alpha || !beta)
		return CUBLAS_STATUS_INVALID_VALUE;
	return gemm(handle, opA, opB, m, n, k, *alpha, A, CUDA_R_64F, lda, B, CUDA_R_64F, ldb, *beta, C, CUDA_R_64F, ldc, 1);
}

static int knownType(int type) { return type == CUDA_R_16F || type == CUDA_R_32F || type == CUDA_R_64F; }

EXPORT cublasStatus_t cublasGemmEx(cublasHandle_t handle, int opA, int opB, int m, int n, int k, const void *alpha,
	const void *A, int typeA, int lda, const void *B, int typeB, int ldb, const void *beta, void *C, int typeC, int ldc,
	int computeType, int algo)
{
	(void)algo;
	if (!alpha || !beta)
		return CUBLAS_STATUS_INVALID_VALUE;
	if (!knownType(typeA) || !knownType(typeB) || !knownType(typeC))
		return CUBLAS_STATUS_NOT_SUPPORTED;

	int inDouble;
	double a, b;
	switch (computeType) {
	case CUBLAS_COMPUTE_64F: case CUBLAS_COMPUTE_64F_PEDANTIC:
		inDouble = 1;
		a = *(const double *)alpha;
		b = *(const double *)beta;
		break;
	case CUBLAS_COMPUTE_32F: case CUBLAS_COMPUTE_32F_PEDANTIC: case CUBLAS_COMPUTE_32F_FAST_16F:
	case CUBLAS_COMPUTE_32F_FAST_16BF: case CUBLAS_COMPUTE_32F_FAST_TF32:
		inDouble = 0;
		a = *(const float *)alpha;
		b = *(const float *)beta;
		break;
	default:
		return CUBLAS_STATUS_NOT_SUPPORTED;
	}
	if (inDouble != (typeA == CUDA_R_64F) || typeA != typeB || (inDouble && typeC != CUDA_R_64F))
		return CUBLAS_STATUS_NOT_SUPPORTED;         /* cuBLAS has no such mixed combination */
	return gemm(handle, opA, opB, m, n, k, a, A, typeA, lda, B, typeB, ldb, b, C, typeC, ldc, inDouble);
}

/* vim: set foldmethod=marker: */
