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
	return (float)(word >> 8) * 5.9604644775390625e-08f;     /* 2^-24: exact, in [0, 1) */
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
