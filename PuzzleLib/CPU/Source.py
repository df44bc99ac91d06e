"""C source of every CPU elementwise kernel, generated from the activation table: pure Python.

One translation unit holds every activation x direction x dtype. Each kernel walks a flat range
(start, step, count): a unit-stride loop that the compiler vectorizes (the `declare simd` lines
let glibc's libmvec vectorize the math functions), and a strided loop for stepped slices. Above
PARALLEL_MIN elements the range is shared out in chunks over the thread team of thread_pool.c.
"""

import os

import numpy as np

from PuzzleLib.Kernels.Activations import TABLE, DIRECTIONS
from PuzzleLib.Kernels.Codegen import INLINE_MATH, elementBody, kernelName, paramNames
from PuzzleLib.Kernels.Expression import MATH_FUNCTIONS
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, SHORT_NAME


STORAGE_CTYPE = {np.dtype(np.float16): "uint16_t", np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

# how an element is widened to the compute type and narrowed back (float16 through half_float.c)
LOAD = {np.dtype(np.float16): "pz_half_to_float(%s)", np.dtype(np.float32): "%s", np.dtype(np.float64): "%s"}
STORE = {np.dtype(np.float16): "pz_float_to_half(%s)", np.dtype(np.float32): "%s", np.dtype(np.float64): "%s"}
DTYPES = tuple(STORAGE_CTYPE)

# below this many elements a thread team costs more than it saves (measured: README, Benchmark)
PARALLEL_MIN = 1 << 15

# elements a thread claims at a time (see thread_pool.c): 64 KiB of float32
CHUNK = 1 << 14


def _read(name):
	with open(os.path.join(os.path.dirname(__file__), name)) as file:
		return file.read()


HALF_FLOAT = _read("half_float.c")
THREAD_POOL = _read("thread_pool.c")

PRELUDE = """\
#define _GNU_SOURCE                     /* sched_getaffinity, CPU_COUNT */
#include <stdint.h>
#include <math.h>

/* glibc declares its vector math variants only under -ffast-math, which we never use (it breaks
   NaN handling): declare them here so the vectorizer calls libmvec. */
%s

#define PZ_PARALLEL_MIN %d
""" % ("\n".join(
	"#pragma omp declare simd notinbranch\n%s %s%s(%s);" % (ctype, name, suffix, ctype)
	for name in MATH_FUNCTIONS for ctype, suffix in (("float", "f"), ("double", ""))
), PARALLEL_MIN)


def kernelSignature(spec, direction, dtype):
	storage, ctype = STORAGE_CTYPE[dtype], COMPUTE_CTYPE[dtype]
	operands = ["const %s *in%d" % (storage, k) for k in range(len(DIRECTIONS[direction]))]
	params = ["%s %s" % (ctype, name) for name in paramNames(spec)]

	return "void %s(%s)" % (kernelName(spec, direction, SHORT_NAME[dtype]), ", ".join(
		["%s *out" % storage] + operands + ["int64_t start", "int64_t step", "int64_t count"] + params
	))


def kernelSource(spec, direction, dtype):
	"""The kernel: its arguments packed in a struct, a range function over [begin, end) of the
	call's elements, and the entry point that hands the range to the thread team."""
	ctype, storage = COMPUTE_CTYPE[dtype], STORAGE_CTYPE[dtype]
	name = kernelName(spec, direction, SHORT_NAME[dtype])
	inputs = ["in%d" % k for k in range(len(DIRECTIONS[direction]))]
	fields = (
		["%s *out;" % storage] + ["const %s *%s;" % (storage, field) for field in inputs] +
		["int64_t start, step;"] + ["%s %s;" % (ctype, param) for param in paramNames(spec)]
	)
	unpacked = ["out"] + inputs + ["start", "step"] + list(paramNames(spec))

	def loop(index):
		body = elementBody(
			spec, direction, ctype,
			load=lambda k: LOAD[dtype] % ("in%d[%s]" % (k, index)),
			store=lambda expr: "out[%s] = %s;" % (index, STORE[dtype] % expr),
		)
		return (["\t\t#pragma omp simd"] if index == "k" else []) + [
			"\t\tfor (int64_t k = begin; k < end; k++) {"
		] + (["\t\t\tconst int64_t i = start + k * step;"] if index == "i" else []) + [
			"\t\t\t" + line for line in body
		] + ["\t\t}"]

	shift = "".join(" %s += start;" % field for field in inputs)
	return "\n".join(
		["struct %s_args { %s };" % (name, " ".join(fields)), ""] +
		["static void %s_range(const void *argp, int64_t begin, int64_t end)" % name, "{",
			"\tconst struct %s_args *a = argp;" % name] +
		["\t%s%s = a->%s;" % (decl, field, field) for decl, field in zip(
			["%s *" % storage] + ["const %s *" % storage] * len(inputs) + ["const int64_t "] * 2 +
			["const %s " % ctype] * len(spec.params), unpacked
		)] +
		["\tif (step == 1) {", "\t\tout += start;" + shift] + loop("k") + ["\t} else {"] + loop("i") + ["\t}", "}", ""] +
		[kernelSignature(spec, direction, dtype), "{",
			"\tconst struct %s_args a = { %s };" % (name, ", ".join(unpacked)),
			"\tpz_run(%s_range, &a, count, %d);" % (name, CHUNK),
			"}", ""]
	)


# a kernel's whole range: on the team above PARALLEL_MIN elements, else on the calling thread
RUN_SOURCE = """\
static int64_t pz_parallel_min = PZ_PARALLEL_MIN;

/* for measuring where the team starts to pay (the benchmark's crossover table); returns the old */
int64_t pz_set_parallel_min(int64_t count)
{
	const int64_t old = pz_parallel_min;
	pz_parallel_min = count;
	return old;
}

static inline void pz_run(pz_range_fn fn, const void *args, int64_t count, int64_t chunk)
{
	if (count >= pz_parallel_min)
		pz_parallel(fn, args, count, chunk);
	else
		fn(args, 0, count);
}
"""


# gpuarray.copy and the slice pass-through: memcpy over the thread team, as the kernels are
COPY_SOURCE = """\
#include <string.h>

struct copy_args { char *dst; const char *src; };

static void copy_range(const void *argp, int64_t begin, int64_t end)
{
	const struct copy_args *a = argp;
	memcpy(a->dst + begin, a->src + begin, end - begin);
}

void copy_bytes(char *dst, const char *src, int64_t nbytes)
{
	const struct copy_args a = { dst, src };
	if (nbytes >= %d)
		pz_parallel(copy_range, &a, nbytes, %d);
	else
		copy_range(&a, 0, nbytes);
}
""" % (PARALLEL_MIN * 4, CHUNK * 4)


def librarySource():
	kernels = [
		kernelSource(spec, direction, dtype)
		for spec in TABLE.values() for direction in DIRECTIONS for dtype in DTYPES
	]
	return "\n".join([PRELUDE, INLINE_MATH, HALF_FLOAT, THREAD_POOL, RUN_SOURCE, COPY_SOURCE] + kernels)
