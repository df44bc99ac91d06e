/* Inline math shared by the CPU and CUDA kernels, so a CPU test run checks the very arithmetic
   the GPU runs.

   exp: glibc's vector expf is a call and off by up to ~2.6 ulp, CUDA's expf by up to 2 ulp, and
   glibc's vector double exp by up to ~4 ulp, which put sigmoid and softPlus beyond 4 ulp in
   float64. These inline into the loop, branch-free, within 1 ulp, with the C library's special
   values: exp(-inf) = 0, exp(inf) = inf, NaN in gives NaN out. */

#include <stdint.h>

#ifdef __CUDACC__
#define PZ_INLINE __device__ __forceinline__   /* not static: no unused-function warning */
PZ_INLINE float pz_bits_to_float(int32_t bits) { return __int_as_float(bits); }
PZ_INLINE int32_t pz_float_to_bits(float f) { return __float_as_int(f); }
PZ_INLINE double pz_bits_to_double(int64_t bits) { return __longlong_as_double(bits); }
PZ_INLINE int64_t pz_double_to_bits(double d) { return __double_as_longlong(d); }
#else
#include <string.h>
#include <math.h>
/* forced: in a library of a few hundred kernels gcc's inlining budget runs out, and a loop that
   calls pz_expf instead of inlining it is not vectorized (10x slower) */
#define PZ_INLINE static inline __attribute__((always_inline))
PZ_INLINE float pz_bits_to_float(int32_t bits) { float f; memcpy(&f, &bits, sizeof f); return f; }
PZ_INLINE int32_t pz_float_to_bits(float f) { int32_t bits; memcpy(&bits, &f, sizeof bits); return bits; }
PZ_INLINE double pz_bits_to_double(int64_t bits) { double d; memcpy(&d, &bits, sizeof d); return d; }
PZ_INLINE int64_t pz_double_to_bits(double d) { int64_t bits; memcpy(&bits, &d, sizeof bits); return bits; }
#endif

/* e^r on |r| <= ln2/2 (a little beyond, for a reduction's rounding), Taylor to degree 7: the
   remainder is below 0.1 ulp */
PZ_INLINE float pz_expf_reduced(float r)
{
	float p = 1.98412698412698413e-04f;
	p = p * r + 1.38888888888888889e-03f;
	p = p * r + 8.33333333333333333e-03f;
	p = p * r + 4.16666666666666667e-02f;
	p = p * r + 1.66666666666666667e-01f;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;
	return p;
}

PZ_INLINE float pz_expf(float x)
{
	/* exp(x) = 2^k e^r with r = x - k ln2, |r| <= ln2/2. ln2_hi has 12 trailing zero bits, so
	   k * ln2_hi is exact (Cody-Waite) for every k that matters. Out of range the result is fixed
	   by the selects at the end; k itself is clamped as an integer (a float clamp of x would cost
	   the vectorized loop a chain of blends) to [-151, 129], where 2^k applied as two normal
	   factors rounds a subnormal result once and saturates to 0 or inf. */
	const float kf = rintf(x * 1.44269504088896341f);
	const float r = (x - kf * 0.693145751953125f) - kf * 1.42860676533018708e-06f;
	const float p = pz_expf_reduced(r);

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

/* exp(x - m) for floats x <= m, m finite (softmax's row maximum; x may be -inf), within 1 ulp
   whatever their magnitudes, in float arithmetic alone (twice the lanes of double): the difference
   is carried exactly as hi + lo, hi = fl(x - m) and lo its rounding error (TwoSum, exact in
   float), and lo joins the reduced argument, so the result is the exact difference's exp. hi <= 0
   puts k in [-150, 0], so 2^k is applied as 2^(k + 64), exact on p, then 2^-64, which rounds a
   subnormal result once. A NaN x gives NaN (through lo). */
PZ_INLINE float pz_expf_difference(float x, float m)
{
	const float hi = x - m;
	const float back = hi - x;
	const float lo = (x - (hi - back)) + (-m - back);

	/* k is rounded by adding 1.5 * 2^23, whose low bits then hold it as an integer (no conversion);
	   below hi = -104 the result is 0, the select at the end (k out of range, lo NaN for x = -inf:
	   anything computed there is discarded; unsigned, so that nothing overflows) */
	const float shifter = 12582912.0f;
	const float kd = hi * 1.44269504088896341f + shifter;
	const float kf = kd - shifter;
	const float r = ((hi - kf * 0.693145751953125f) + lo) - kf * 1.42860676533018708e-06f;
	const float p = pz_expf_reduced(r);

	const uint32_t biased = (uint32_t)pz_float_to_bits(kd) - (uint32_t)pz_float_to_bits(shifter) + 64u + 127u;
	const float y = (p * pz_bits_to_float((int32_t)(biased << 23))) * 5.42101086242752217e-20f;
	return hi < -104.0f ? 0.0f : y;
}

PZ_INLINE double pz_exp(double x)
{
	/* As pz_expf, in double: r = x - k ln2 with ln2_hi's 21 trailing zero bits (k * ln2_hi exact for
	   the clamped |k| <= 1076). k is rounded with the 1.5 * 2^52 shifter, whose low bits then hold
	   k as an integer: no double-to-int64 conversion, which AVX2 cannot vectorize. */
	double t = x > -746.0 ? x : -746.0;
	t = t < 710.0 ? t : 710.0;

	const double shifter = 6755399441055744.0;
	const double kd = t * 1.4426950408889634 + shifter;
	const double kf = kd - shifter;
	const double r = (t - kf * 6.93147180369123816490e-01) - kf * 1.90821492927058770002e-10;

	/* Taylor to degree 13: the remainder is below 0.1 ulp on |r| <= ln2/2 */
	double p = 1.6059043836821613e-10;
	p = p * r + 2.08767569878681e-09;
	p = p * r + 2.505210838544172e-08;
	p = p * r + 2.755731922398589e-07;
	p = p * r + 2.7557319223985893e-06;
	p = p * r + 2.48015873015873e-05;
	p = p * r + 0.0001984126984126984;
	p = p * r + 0.001388888888888889;
	p = p * r + 0.008333333333333333;
	p = p * r + 0.041666666666666664;
	p = p * r + 0.16666666666666666;
	p = p * r + 0.5;
	p = p * r + 1.0;
	p = p * r + 1.0;

	/* 2^k as two normal factors 2^k1 2^k2, so a subnormal result is rounded once */
	const double k1d = kf * 0.5 + shifter;
	const int64_t k = pz_double_to_bits(kd) - pz_double_to_bits(shifter);
	const int64_t k1 = pz_double_to_bits(k1d) - pz_double_to_bits(shifter), k2 = k - k1;
	const double y = (p * pz_bits_to_double((k1 + 1023) << 52)) * pz_bits_to_double((k2 + 1023) << 52);

	return x != x ? x : y;
}
