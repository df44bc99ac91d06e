/* An inline float exp for the CPU kernels.

   glibc's vector expf is a call, and off by up to ~2.6 ulp; this one inlines into the vectorized
   loop, branch-free, within 1 ulp, with the C library's special values: exp(-inf) = 0,
   exp(inf) = inf, NaN in gives NaN out. */

#include <stdint.h>
#include <string.h>

static inline float pz_bits_to_float(int32_t bits) { float f; memcpy(&f, &bits, sizeof f); return f; }

static inline float pz_expf(float x)
{
	/* exp(x) = 2^k e^r with r = x - k ln2, |r| <= ln2/2. ln2_hi has 12 trailing zero bits, so
	   k * ln2_hi is exact (Cody-Waite). The clamp keeps k in [-150, 128]; 2^k is applied as two
	   normal factors, so a subnormal result is rounded once. */
	float t = x > -104.0f ? x : -104.0f;
	t = t < 89.0f ? t : 89.0f;

	const float kf = __builtin_rintf(t * 1.44269504088896341f);
	const float r = (t - kf * 0.693145751953125f) - kf * 1.42860676533018708e-06f;

	/* Taylor to degree 7: the remainder is below 0.1 ulp on |r| <= ln2/2 */
	float p = 1.98412698412698413e-04f;
	p = p * r + 1.38888888888888889e-03f;
	p = p * r + 8.33333333333333333e-03f;
	p = p * r + 4.16666666666666667e-02f;
	p = p * r + 1.66666666666666667e-01f;
	p = p * r + 0.5f;
	p = p * r + 1.0f;
	p = p * r + 1.0f;

	const int32_t k = (int32_t)kf;
	const int32_t k1 = k >> 1, k2 = k - k1;
	const float y = (p * pz_bits_to_float((k1 + 127) << 23)) * pz_bits_to_float((k2 + 127) << 23);

	return x != x ? x : y;
}

/* float16 <-> float conversions in integer arithmetic. GCC does not vectorize _Float16
   conversions without AVX512-FP16; these are branch-free, so the float16 loops vectorize too.
   Both are exact: the widening is exact, the narrowing rounds to nearest-even once (NaN stays a
   quiet NaN with its sign, overflow becomes inf, subnormals are kept). */

static inline int32_t pz_float_bits(float f) { int32_t bits; memcpy(&bits, &f, sizeof bits); return bits; }

static inline float pz_half_to_float(uint16_t h)
{
	const int32_t sign = (int32_t)(h & 0x8000u) << 16;
	const int32_t magnitude = h & 0x7fff;

	/* the half's exponent and mantissa placed in a float, then rescaled by 2^(127 - 15): exact for
	   normals and subnormals alike */
	const int32_t finite = pz_float_bits(pz_bits_to_float(magnitude << 13) * 0x1p112f);
	const int32_t special = (magnitude << 13) | 0x7f800000;      /* inf and NaN */

	return pz_bits_to_float((magnitude >= 0x7c00 ? special : finite) | sign);
}

static inline uint16_t pz_float_to_half(float value)
{
	const int32_t bits = pz_float_bits(value);
	const int32_t sign = (bits >> 16) & 0x8000;
	const int32_t magnitude = bits & 0x7fffffff;

	/* at or above 65520 rounds to inf; NaN stays NaN (quiet) */
	const int32_t overflow = magnitude > 0x7f800000 ? 0x7e00 : 0x7c00;

	/* below 2^-14, the half subnormal range: adding 0.5 aligns the value's bits to the half's
	   spacing, and the float addition rounds to nearest-even */
	const float shifted = pz_bits_to_float(magnitude) + 0.5f;
	const int32_t subnormal = pz_float_bits(shifted) - pz_float_bits(0.5f);

	/* normal: rebias the exponent, then round the 13 dropped mantissa bits to nearest-even */
	const int32_t odd = (magnitude >> 13) & 1;
	const int32_t normal = (magnitude + ((15 - 127) << 23) + 0xfff + odd) >> 13;

	const int32_t half = magnitude >= (143 << 23) ? overflow : magnitude < (113 << 23) ? subnormal : normal;
	return (uint16_t)(half | sign);
}
