/* Philox4x32-10 (Salmon, Moraes, Dror, Shaw: "Parallel random numbers: as easy as 1, 2, 3", SC'11),
   shared by the CPU and CUDA kernels, so one seed gives the same numbers on both.

   The stream of (key, counter): element e of an array is word (e & 3) of the block
   philox4x32_10({c0, c1, 0, 0}, {k0, k1}) with c0 + 2^32 c1 = counter + e / 4 (mod 2^64) and
   k0 + 2^32 k1 = key. Its uniform float is the word's top 24 bits times 2^-24, in [0, 1). */

#define PZ_PHILOX_M0 0xD2511F53u
#define PZ_PHILOX_M1 0xCD9E8D57u
#define PZ_PHILOX_W0 0x9E3779B9u
#define PZ_PHILOX_W1 0xBB67AE85u

PZ_INLINE uint32_t pz_mulhilo(uint32_t a, uint32_t b, uint32_t *hi)
{
	const uint64_t product = (uint64_t)a * b;
	*hi = (uint32_t)(product >> 32);
	return (uint32_t)product;
}

/* the block of 4 words at c, in place */
PZ_INLINE void pz_philox4x32_10(uint32_t c[4], uint32_t k0, uint32_t k1)
{
	for (int round = 0; round < 10; round++) {
		uint32_t hi0, hi1;
		const uint32_t lo0 = pz_mulhilo(PZ_PHILOX_M0, c[0], &hi0);
		const uint32_t lo1 = pz_mulhilo(PZ_PHILOX_M1, c[2], &hi1);

		const uint32_t c1 = c[1], c3 = c[3];
		c[0] = hi1 ^ c1 ^ k0;
		c[1] = lo1;
		c[2] = hi0 ^ c3 ^ k1;
		c[3] = lo0;

		k0 += PZ_PHILOX_W0;
		k1 += PZ_PHILOX_W1;
	}
}

/* the stream's block b (elements 4 b to 4 b + 3) into c */
PZ_INLINE void pz_philox_block(uint32_t c[4], int64_t key, int64_t counter, int64_t b)
{
	const uint64_t block = (uint64_t)counter + (uint64_t)b;
	c[0] = (uint32_t)block;
	c[1] = (uint32_t)(block >> 32);
	c[2] = 0u;
	c[3] = 0u;
	pz_philox4x32_10(c, (uint32_t)(uint64_t)key, (uint32_t)((uint64_t)key >> 32));
}

#ifndef __CUDACC__
/* The stream's blocks b to b + 15 at once, for elements 4 b to 4 b + 63: words[4 j + lane] is word
   lane of block b + j, in element order. With AVX2 the rounds run on the eight blocks side by side,
   a word's eight values in a vector (the 32 x 32 -> 64 bit products as even- and odd-lane vector
   multiplies): what the compiler's own vectorization of the loops below does with a shuffle per
   operation. The same words either way (tests/test_philox.py). */
#define PZ_PHILOX_GROUP 16

#ifdef __AVX2__
#include <immintrin.h>

PZ_INLINE __m256i pz_mulhilo8(__m256i a, __m256i m, __m256i *hi)
{
	const __m256i even = _mm256_mul_epu32(a, m);                         /* lanes 0, 2, 4, 6 */
	const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);  /* lanes 1, 3, 5, 7 */
	*hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
	return _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
}

PZ_INLINE void pz_philox_blocks(uint32_t words[4 * PZ_PHILOX_GROUP], int64_t key, int64_t counter, int64_t b)
{
	uint32_t low[PZ_PHILOX_GROUP], high[PZ_PHILOX_GROUP];
	for (int j = 0; j < PZ_PHILOX_GROUP; j++) {
		const uint64_t block = (uint64_t)counter + (uint64_t)(b + j);
		low[j] = (uint32_t)block;
		high[j] = (uint32_t)(block >> 32);
	}

	/* two independent sets of eight blocks, interleaved: the multiplies' latency overlaps */
	__m256i c0[2], c1[2], c2[2], c3[2];
	for (int h = 0; h < 2; h++) {
		c0[h] = _mm256_loadu_si256((const __m256i *)(low + 8 * h));
		c1[h] = _mm256_loadu_si256((const __m256i *)(high + 8 * h));
		c2[h] = c3[h] = _mm256_setzero_si256();
	}
	__m256i k0 = _mm256_set1_epi32((int)(uint32_t)(uint64_t)key), k1 = _mm256_set1_epi32((int)(uint32_t)((uint64_t)key >> 32));
	const __m256i m0 = _mm256_set1_epi32((int)PZ_PHILOX_M0), m1 = _mm256_set1_epi32((int)PZ_PHILOX_M1);
	const __m256i w0 = _mm256_set1_epi32((int)PZ_PHILOX_W0), w1 = _mm256_set1_epi32((int)PZ_PHILOX_W1);

	for (int round = 0; round < 10; round++) {
		for (int h = 0; h < 2; h++) {
			__m256i hi0, hi1;
			const __m256i lo0 = pz_mulhilo8(c0[h], m0, &hi0), lo1 = pz_mulhilo8(c2[h], m1, &hi1);
			c0[h] = _mm256_xor_si256(_mm256_xor_si256(hi1, c1[h]), k0);
			c2[h] = _mm256_xor_si256(_mm256_xor_si256(hi0, c3[h]), k1);
			c1[h] = lo1;
			c3[h] = lo0;
		}
		k0 = _mm256_add_epi32(k0, w0);
		k1 = _mm256_add_epi32(k1, w1);
	}

	/* each set's 4 x 8 words to element order: blocks (0 | 4), (1 | 5), (2 | 6), (3 | 7) per 128-bit half */
	for (int h = 0; h < 2; h++) {
		uint32_t *out = words + 32 * h;
		const __m256i t0 = _mm256_unpacklo_epi32(c0[h], c1[h]), t1 = _mm256_unpackhi_epi32(c0[h], c1[h]);
		const __m256i t2 = _mm256_unpacklo_epi32(c2[h], c3[h]), t3 = _mm256_unpackhi_epi32(c2[h], c3[h]);
		const __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);
		const __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);
		_mm256_storeu_si256((__m256i *)out, _mm256_permute2x128_si256(u0, u1, 0x20));
		_mm256_storeu_si256((__m256i *)(out + 8), _mm256_permute2x128_si256(u2, u3, 0x20));
		_mm256_storeu_si256((__m256i *)(out + 16), _mm256_permute2x128_si256(u0, u1, 0x31));
		_mm256_storeu_si256((__m256i *)(out + 24), _mm256_permute2x128_si256(u2, u3, 0x31));
	}
}
#else
PZ_INLINE void pz_philox_blocks(uint32_t words[4 * PZ_PHILOX_GROUP], int64_t key, int64_t counter, int64_t b)
{
	for (int j = 0; j < PZ_PHILOX_GROUP; j++)
		pz_philox_block(words + 4 * j, key, counter, b + j);
}
#endif
#endif

/* word (e & 3) of element e's block in the stream (key, counter) */
PZ_INLINE uint32_t pz_philox_word(int64_t key, int64_t counter, int64_t element)
{
	uint32_t c[4];
	pz_philox_block(c, key, counter, (int64_t)((uint64_t)element >> 2));

	const uint32_t lane = (uint32_t)element & 3u;
	return lane == 0 ? c[0] : lane == 1 ? c[1] : lane == 2 ? c[2] : c[3];
}

PZ_INLINE float pz_uniform_from_word(uint32_t word)
{
	/* 2^-24: exact, in [0, 1); through int32 (the value fits 24 bits), which vectorizes as one
	   conversion where an unsigned one takes several */
	return (float)(int32_t)(word >> 8) * 5.9604644775390625e-08f;
}

PZ_INLINE float pz_philox_uniform(int64_t key, int64_t counter, int64_t element)
{
	return pz_uniform_from_word(pz_philox_word(key, counter, element));
}

/* A standard normal by Box-Muller from the element's pair of lanes (0, 1 or 2, 3): u1 in (0, 1]
   from the even lane, the angle from the odd one; the even element takes the cosine, the odd one
   the sine. Through the C library's (or CUDA's) logf, sinf and cosf: the same stream on both
   backends within a few ulp, not bit for bit. */
PZ_INLINE float pz_normal_from_words(uint32_t even, uint32_t odd, int64_t element)
{
	const float u1 = (float)((even >> 8) + 1u) * 5.9604644775390625e-08f;
	const float angle = 6.28318530717958648f * pz_uniform_from_word(odd);
	const float radius = sqrtf(-2.0f * logf(u1));

	return radius * ((element & 1) ? sinf(angle) : cosf(angle));
}

PZ_INLINE float pz_philox_normal(int64_t key, int64_t counter, int64_t element)
{
	uint32_t c[4];
	pz_philox_block(c, key, counter, (int64_t)((uint64_t)element >> 2));

	const int pair = (int)(element & 2);
	return pz_normal_from_words(c[pair], c[pair + 1], element);
}

/* The stream's raw words for elements [4 b, 4 b + 4) clipped to count: one block, four stores. */
PZ_INLINE void pz_philox_store_block(uint32_t *out, int64_t count, int64_t key, int64_t counter, int64_t b)
{
	uint32_t c[4];
	pz_philox_block(c, key, counter, b);

	for (int lane = 0; lane < 4; lane++)
		if (4 * b + lane < count)
			out[4 * b + lane] = c[lane];
}
