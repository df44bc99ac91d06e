/* float16 <-> float conversions for the CPU kernels, in integer arithmetic (uses inline_math.h).
   GCC does not vectorize _Float16 conversions without AVX512-FP16; these are branch-free, so the
   float16 loops vectorize too. Both are exact: the widening is exact, the narrowing rounds to
   nearest-even once (NaN stays a quiet NaN with its sign, overflow becomes inf, subnormals are
   kept). */

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
