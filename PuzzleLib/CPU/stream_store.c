/* Streaming (non-temporal) stores: a kernel's output written around the caches, for outputs that
   do not fit the last-level cache. A normal store first reads its line into the cache (to own
   it), so an output that is only written moves twice over the memory bus; a streaming store moves
   it once. For an output that fits the cache it is slower (the next reader finds it in memory,
   not in the cache), hence the size threshold. */

#if defined(__AVX__)
#include <immintrin.h>
#define PZ_STREAM_ALIGN 32
#elif defined(__SSE2__)
#include <emmintrin.h>
#define PZ_STREAM_ALIGN 16
#else
#define PZ_STREAM_ALIGN 1
#endif

/* Outputs of at least this many bytes are streamed: half of the 32 MiB last-level cache this was
   measured on (README, Dropout). Below that the next op finds much of its input in the cache. */
static int64_t pz_stream_min = %d;

/* for measuring where streaming starts to pay; returns the old threshold */
int64_t pz_set_stream_min(int64_t bytes)
{
	const int64_t old = pz_stream_min;
	pz_stream_min = bytes;
	return old;
}

/* whether an output of `bytes` in all is streamed from dst on */
PZ_INLINE int pz_streams(const void *dst, int64_t bytes)
{
	return PZ_STREAM_ALIGN > 1 && bytes >= pz_stream_min && ((uintptr_t)dst & (PZ_STREAM_ALIGN - 1)) == 0;
}

/* bytes (a multiple of 32) from an aligned src to an aligned dst, around the caches */
PZ_INLINE void pz_stream_store(void *dst, const void *src, int64_t bytes)
{
#if defined(__AVX__)
	for (int64_t k = 0; k < bytes; k += 32)
		_mm256_stream_si256((__m256i *)((char *)dst + k), _mm256_load_si256((const __m256i *)((const char *)src + k)));
#elif defined(__SSE2__)
	for (int64_t k = 0; k < bytes; k += 16)
		_mm_stream_si128((__m128i *)((char *)dst + k), _mm_load_si128((const __m128i *)((const char *)src + k)));
#else
	memcpy(dst, src, bytes);
#endif
}

/* streaming stores are weakly ordered: a range that made any fences them before it returns, so
   whoever waits for the range sees its output */
PZ_INLINE void pz_stream_fence(void)
{
#if defined(__SSE2__)
	_mm_sfence();
#endif
}
