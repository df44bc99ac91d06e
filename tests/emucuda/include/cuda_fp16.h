/* cuda_fp16.h for kernels compiled as host C++: __half as its 16 bits, with IEEE
   round-to-nearest-even conversions in portable C++ (F. Giesen's float_to_half_fast3_rtne and
   half_to_float). Used by the emulated toolchain (nvcc.py) and by tests/fakepycuda.py; the tests
   check the conversions against numpy's. */
#pragma once
#include <string.h>

struct __half { unsigned short bits; };
typedef __half half;

static inline unsigned fake_bits(float f) { unsigned u; memcpy(&u, &f, 4); return u; }
static inline float fake_float(unsigned u) { float f; memcpy(&f, &u, 4); return f; }

static inline float __half2float(__half h)
{
	const unsigned shiftedExp = 0x7c00u << 13;
	unsigned o = (h.bits & 0x7fffu) << 13;
	const unsigned exp = shiftedExp & o;
	o += (127u - 15u) << 23;
	if (exp == shiftedExp)
		o += (128u - 16u) << 23;                                   /* inf, NaN */
	else if (exp == 0)
		o = fake_bits(fake_float(o + (1u << 23)) - fake_float(113u << 23));   /* subnormal */
	return fake_float(o | ((unsigned)(h.bits & 0x8000u) << 16));
}

static inline __half __float2half_rn(float value)
{
	const unsigned f16max = (127u + 16u) << 23, denormMagic = ((127u - 15u) + (23u - 10u) + 1u) << 23;
	unsigned u = fake_bits(value), o;
	const unsigned sign = u & 0x80000000u;
	u ^= sign;

	if (u >= f16max)
		o = u > (255u << 23) ? 0x7e00u : 0x7c00u;                     /* NaN, or inf */
	else if (u < (113u << 23))
		o = fake_bits(fake_float(u) + fake_float(denormMagic)) - denormMagic;   /* subnormal, zero */
	else
		o = (u + ((unsigned)(15 - 127) << 23) + 0xfffu + ((u >> 13) & 1u)) >> 13;

	__half h;
	h.bits = (unsigned short)(o | (sign >> 16));
	return h;
}

static inline __half __float2half(float value) { return __float2half_rn(value); }
static inline float __low2float(__half h) { return __half2float(h); }
static inline __half __ushort_as_half(unsigned short bits) { __half h; h.bits = bits; return h; }
static inline unsigned short __half_as_ushort(__half h) { return h.bits; }
static inline __half __hadd(__half a, __half b) { return __float2half_rn(__half2float(a) + __half2float(b)); }
static inline __half __hsub(__half a, __half b) { return __float2half_rn(__half2float(a) - __half2float(b)); }
static inline __half __hmul(__half a, __half b) { return __float2half_rn(__half2float(a) * __half2float(b)); }

extern "C" float fake_half_to_float(unsigned short bits) { return __half2float(__ushort_as_half(bits)); }
extern "C" unsigned short fake_float_to_half_rn(float value) { return __float2half_rn(value).bits; }
