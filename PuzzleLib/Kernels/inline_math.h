/* Inline float math shared by the CPU and CUDA kernels, so a CPU test run checks the very
   arithmetic the GPU runs.

   exp: glibc's vector expf is a call and off by up to ~2.6 ulp, CUDA's expf by up to 2 ulp; this
   one inlines into the loop, branch-free, within 1 ulp, with the C library's special values:
   exp(-inf) = 0, exp(inf) = inf, NaN in gives NaN out. */

#include <stdint.h>

#ifdef __CUDACC__
#define PZ_INLINE __device__ __forceinline__   /* not static: no unused-function warning */
PZ_INLINE float pz_bits_to_float(int32_t bits) { return __int_as_float(bits); }
#else
#include <string.h>
#include <math.h>
#define PZ_INLINE static inline
PZ_INLINE float pz_bits_to_float(int32_t bits) { float f; memcpy(&f, &bits, sizeof f); return f; }
#endif

PZ_INLINE float pz_expf(float x)
{
	/* exp(x) = 2^k e^r with r = x - k ln2, |r| <= ln2/2. ln2_hi has 12 trailing zero bits, so
	   k * ln2_hi is exact (Cody-Waite) for every k that matters. Out of range the result is fixed
	   by the selects at the end; k itself is clamped as an integer (a float clamp of x would cost
	   the vectorized loop a chain of blends) to [-151, 129], where 2^k applied as two normal
	   factors rounds a subnormal result once and saturates to 0 or inf. */
	const float kf = rintf(x * 1.44269504088896341f);
	const float r = (x - kf * 0.693145751953125f) - kf * 1.42860676533018708e-06f;

	/* Taylor to degree 7: the remainder is below 0.1 ulp on |r| <= ln2/2 */
	float p = 1.98412698412698413e-04f;
	p = p * r + 1.38888888888888889e-03f;
	p = p * r + 8.33333333333333333e-03f;
	p = p * r + 4.16666666666666667e-02f;
	p = p * r + 1.66666666666666667e-01f;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;

	int32_t k = (int32_t)kf;
	k = k < -151 ? -151 : k;
	k = k > 129 ? 129 : k;
	const int32_t k1 = k >> 1, k2 = k - k1;
	float y = (p * pz_bits_to_float((k1 + 127) << 23)) * pz_bits_to_float((k2 + 127) << 23);

	/* beyond these the reduction is inexact (or inf - inf), and the true result is inf or 0 */
	y = x > 89.0f ? pz_bits_to_float(0x7f800000) : y;
	y = x < -104.0f ? 0.0f : y;
	return x != x ? x : y;
}
