/* CUDA C++ as host C++: what the nvcc stand-in (nvcc.py) puts before every kernel source.

   Every thread of a launch runs in turn on the calling host thread, block by block; the
   built-in indices are plain globals of the module. A kernel that calls __syncthreads() runs
   each block's threads as fibers instead, switched at each barrier, so shared memory and
   barriers mean what they mean on a GPU. */
#pragma once

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <float.h>
#include <limits.h>
#include <ucontext.h>
#include <tuple>
#include <type_traits>
#include <utility>

#include "emucuda.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__
#define __shared__ static
#define __constant__
#define __managed__
#define __restrict__ __restrict
#define __align__(n) alignas(n)
#define __launch_bounds__(...)
#define __CUDA_ARCH__ 900

struct uint3 { unsigned x, y, z; };
struct dim3 {
	unsigned x, y, z;
	constexpr dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
};

static uint3 threadIdx, blockIdx;
static dim3 blockDim, gridDim;
static const int warpSize = 32;

/* {{{ device functions on the host */

template <typename A, typename B> static inline typename std::common_type<A, B>::type min(A a, B b) { return b < a ? b : a; }
template <typename A, typename B> static inline typename std::common_type<A, B>::type max(A a, B b) { return a < b ? b : a; }

static inline float __int_as_float(int bits) { float f; memcpy(&f, &bits, 4); return f; }
static inline int __float_as_int(float f) { int bits; memcpy(&bits, &f, 4); return bits; }
static inline float __uint_as_float(unsigned bits) { float f; memcpy(&f, &bits, 4); return f; }
static inline unsigned __float_as_uint(float f) { unsigned bits; memcpy(&bits, &f, 4); return bits; }
static inline double __longlong_as_double(long long bits) { double d; memcpy(&d, &bits, 8); return d; }
static inline long long __double_as_longlong(double d) { long long bits; memcpy(&bits, &d, 8); return bits; }

static inline void sincos(float x, float *s, float *c) { sincosf(x, s, c); }     /* CUDA's float overload */
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
/* glibc declares these names itself: macros, not redeclarations */
#define __expf(x) expf(x)
#define __logf(x) logf(x)
#define __powf(x, y) powf(x, y)
static inline float __fdividef(float x, float y) { return x / y; }
static inline float __saturatef(float x) { return x != x ? 0.0f : x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x; }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
static inline int __float2int_rn(float x) { return (int)rintf(x); }
static inline int __float2int_rz(float x) { return (int)x; }
static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
static inline int __ffs(int x) { return __builtin_ffs(x); }
template <typename T> static inline T __ldg(const T *p) { return *p; }

/* one thread at a time: atomics are plain read-modify-writes */
template <typename T> static inline T atomicAdd(T *p, T v) { T old = *p; *p = old + v; return old; }
template <typename T> static inline T atomicSub(T *p, T v) { T old = *p; *p = old - v; return old; }
template <typename T> static inline T atomicExch(T *p, T v) { T old = *p; *p = v; return old; }
template <typename T> static inline T atomicMax(T *p, T v) { T old = *p; *p = old < v ? v : old; return old; }
template <typename T> static inline T atomicMin(T *p, T v) { T old = *p; *p = v < old ? v : old; return old; }
template <typename T> static inline T atomicCAS(T *p, T compare, T v) { T old = *p; if (old == compare) *p = v; return old; }

static inline void __threadfence(void) {}
static inline void __threadfence_block(void) {}

/* }}} */


/* {{{ launches */

namespace emucuda {

/* the fibers of the block that runs now, when the kernel has barriers */
struct Fibers {
	ucontext_t scheduler;
	ucontext_t *threads = nullptr;
	bool *done = nullptr;                     /* ran to its end (not stopped at a barrier) */
	unsigned running = 0;
};
static Fibers *fibers;

template <typename T> static inline T take(const emucuda_launch *launch, size_t index, size_t &offset)
{
	T value;
	if (launch->params)
		memcpy(&value, launch->params[index], sizeof(T));
	else {
		offset = (offset + alignof(T) - 1) / alignof(T) * alignof(T);
		memcpy(&value, (const char *)launch->buffer + offset, sizeof(T));
		offset += sizeof(T);
	}
	return value;
}

/* where the last parameter ends in the CUDA ABI's buffer: each aligned to its own alignment */
template <typename... A> static constexpr size_t paramsSize(void (*)(A...))
{
	size_t offset = 0;
	((offset = (offset + alignof(A) - 1) / alignof(A) * alignof(A) + sizeof(A)), ...);
	return offset;
}

static inline uint3 threadOf(unsigned k)
{
	return uint3{k % blockDim.x, k / blockDim.x % blockDim.y, k / (blockDim.x * blockDim.y)};
}

template <typename Body> static void eachBlock(const emucuda_launch *launch, Body body)
{
	gridDim = dim3(launch->grid[0], launch->grid[1], launch->grid[2]);
	blockDim = dim3(launch->block[0], launch->block[1], launch->block[2]);
	for (unsigned z = 0; z < gridDim.z; z++)
		for (unsigned y = 0; y < gridDim.y; y++)
			for (unsigned x = 0; x < gridDim.x; x++) {
				blockIdx = uint3{x, y, z};
				body();
			}
}

template <typename Call> struct FiberEntry {
	static Call *call;
	static void run() { (*call)(); }
};
template <typename Call> Call *FiberEntry<Call>::call;

template <typename... A, size_t... I>
static void run(void (*kernel)(A...), const emucuda_launch *launch, bool barriers, std::index_sequence<I...>)
{
	size_t offset = 0;
	std::tuple<A...> args{take<A>(launch, I, offset)...};       /* braces: evaluated in order */
	(void)offset;
	auto call = [&]() { kernel(std::get<I>(args)...); };

	if (!barriers) {
		eachBlock(launch, [&]() {
			for (unsigned z = 0; z < blockDim.z; z++)
				for (unsigned y = 0; y < blockDim.y; y++)
					for (unsigned x = 0; x < blockDim.x; x++) {
						threadIdx = uint3{x, y, z};
						call();
					}
		});
		return;
	}

	const unsigned threads = launch->block[0] * launch->block[1] * launch->block[2];
	const size_t stackBytes = 256 << 10;
	Fibers state;
	state.threads = new ucontext_t[threads];
	char *stacks = (char *)malloc(stackBytes * threads);
	bool *done = state.done = new bool[threads];
	FiberEntry<decltype(call)>::call = &call;
	fibers = &state;

	eachBlock(launch, [&]() {
		for (unsigned k = 0; k < threads; k++) {
			getcontext(&state.threads[k]);
			state.threads[k].uc_stack.ss_sp = stacks + k * stackBytes;
			state.threads[k].uc_stack.ss_size = stackBytes;
			state.threads[k].uc_link = &state.scheduler;
			makecontext(&state.threads[k], (void (*)())FiberEntry<decltype(call)>::run, 0);
			done[k] = false;
		}
		/* each round runs every live thread up to its next barrier or its end */
		for (unsigned live = threads; live;) {
			live = 0;
			for (unsigned k = 0; k < threads; k++) {
				if (done[k])
					continue;
				state.running = k;
				threadIdx = threadOf(k);
				done[k] = true;                    /* a barrier sets it back */
				swapcontext(&state.scheduler, &state.threads[k]);
				live += !done[k];
			}
		}
	});

	fibers = nullptr;
	delete[] done;
	free(stacks);
	delete[] state.threads;
}

template <typename... A> static void launchKernel(void (*kernel)(A...), const emucuda_launch *launch, bool barriers)
{
	run(kernel, launch, barriers, std::index_sequence_for<A...>{});
}

}

/* A barrier: back to the scheduler, which resumes this thread once the others reached it. */
static inline void __syncthreads(void)
{
	emucuda::Fibers *state = emucuda::fibers;
	if (!state) {
		/* nvcc.py gives fibers to every kernel of a source that spells __syncthreads */
		fputs("emucuda: __syncthreads() in a kernel launched without fibers\n", stderr);
		abort();
	}
	state->done[state->running] = false;
	swapcontext(&state->threads[state->running], &state->scheduler);
}

/* }}} */
