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
/* The stream's blocks b to b + 31 at once, for elements 4 b to 4 b + 127: words[4 j + lane] is word
   lane of block b + j, in element order. With AVX2 the rounds run on four blocks a vector, one a
   64-bit lane, two such sets side by side so that one's multiplies overlap the other's; the round
   keys are made once (pz_philox_schedule) for all the groups of a range. The same words as
   pz_philox_block's (tests/test_philox.py). */
#define PZ_PHILOX_GROUP 32

#ifdef __AVX2__
#include <immintrin.h>

/* blocks of a set, sets in flight: 2 x 4 blocks hold 8 of the 16 vector registers; more spill */
#define PZ_PHILOX_SETS 2

/* One round on four blocks, one a 64-bit lane: a word is its lane's low half. The high halves are
   don't-care (the multiplies read the low halves only), so a product's low word is the product
   itself, and its high word one shift away. The words' xor with the key is made opaque to the
   compiler, which would otherwise reassociate it onto the multiply's path (a cycle a round). */
PZ_INLINE void pz_philox_round4(__m256i *c0, __m256i *c1, __m256i *c2, __m256i *c3, __m256i m0, __m256i m1, __m256i k0, __m256i k1)
{
	const __m256i p0 = _mm256_mul_epu32(*c0, m0), p1 = _mm256_mul_epu32(*c2, m1);
	__m256i keyed1 = _mm256_xor_si256(*c1, k0), keyed3 = _mm256_xor_si256(*c3, k1);
	__asm__("" : "+x"(keyed1), "+x"(keyed3));
	*c0 = _mm256_xor_si256(_mm256_srli_epi64(p1, 32), keyed1);
	*c2 = _mm256_xor_si256(_mm256_srli_epi64(p0, 32), keyed3);
	*c1 = p1;
	*c3 = p0;
}

/* the round keys of a key, made once for many groups: words 0 and 1 of round r's key in each lane */
typedef struct { __m256i round[10][2]; } pz_philox_keys;

PZ_INLINE void pz_philox_schedule(pz_philox_keys *keys, int64_t key)
{
	uint32_t k0 = (uint32_t)(uint64_t)key, k1 = (uint32_t)((uint64_t)key >> 32);
	for (int round = 0; round < 10; round++) {
		keys->round[round][0] = _mm256_set1_epi32((int)k0);
		keys->round[round][1] = _mm256_set1_epi32((int)k1);
		k0 += PZ_PHILOX_W0;
		k1 += PZ_PHILOX_W1;
	}
}

PZ_INLINE void pz_philox_blocks(uint32_t words[4 * PZ_PHILOX_GROUP], const pz_philox_keys *keys, int64_t counter, int64_t b)
{
	const __m256i m0 = _mm256_set1_epi32((int)PZ_PHILOX_M0), m1 = _mm256_set1_epi32((int)PZ_PHILOX_M1);

	/* a pass at a time: the four passes unrolled are four times the code, no faster (measured) */
	#pragma GCC unroll 1
	for (int pass = 0; pass < PZ_PHILOX_GROUP / (4 * PZ_PHILOX_SETS); pass++) {
		/* the sets' blocks: the 64-bit counter of each is its words 0 (low half) and 1 */
		const int64_t first = b + 4 * PZ_PHILOX_SETS * pass;
		const __m256i base = _mm256_add_epi64(_mm256_set1_epi64x((int64_t)((uint64_t)counter + (uint64_t)first)), _mm256_setr_epi64x(0, 1, 2, 3));
		__m256i c0[PZ_PHILOX_SETS], c1[PZ_PHILOX_SETS], c2[PZ_PHILOX_SETS], c3[PZ_PHILOX_SETS];
		#pragma GCC unroll 8
		for (int s = 0; s < PZ_PHILOX_SETS; s++) {
			c0[s] = _mm256_add_epi64(base, _mm256_set1_epi64x(4 * s));
			c1[s] = _mm256_srli_epi64(c0[s], 32);
			c2[s] = c3[s] = _mm256_setzero_si256();
		}

		#pragma GCC unroll 10
		for (int round = 0; round < 10; round++) {
			#pragma GCC unroll 8
			for (int s = 0; s < PZ_PHILOX_SETS; s++)
				pz_philox_round4(&c0[s], &c1[s], &c2[s], &c3[s], m0, m1, keys->round[round][0], keys->round[round][1]);
		}

		/* words 0 and 1, 2 and 3 of each block paired in its lane; then blocks (0 | 2), (1 | 3) per
		   128-bit half, and the halves to element order */
		#pragma GCC unroll 8
		for (int s = 0; s < PZ_PHILOX_SETS; s++) {
			uint32_t *out = words + 16 * (PZ_PHILOX_SETS * pass + s);
			const __m256i low = _mm256_blend_epi32(c0[s], _mm256_slli_epi64(c1[s], 32), 0xAA);
			const __m256i high = _mm256_blend_epi32(c2[s], _mm256_slli_epi64(c3[s], 32), 0xAA);
			const __m256i even = _mm256_unpacklo_epi64(low, high), odd = _mm256_unpackhi_epi64(low, high);
			_mm256_storeu_si256((__m256i *)out, _mm256_permute2x128_si256(even, odd, 0x20));
			_mm256_storeu_si256((__m256i *)(out + 8), _mm256_permute2x128_si256(even, odd, 0x31));
		}
	}
}
#else
typedef struct { int64_t key; } pz_philox_keys;

PZ_INLINE void pz_philox_schedule(pz_philox_keys *keys, int64_t key)
{
	keys->key = key;
}

PZ_INLINE void pz_philox_blocks(uint32_t words[4 * PZ_PHILOX_GROUP], const pz_philox_keys *keys, int64_t counter, int64_t b)
{
	for (int j = 0; j < PZ_PHILOX_GROUP; j++)
		pz_philox_block(words + 4 * j, keys->key, counter, b + j);
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
