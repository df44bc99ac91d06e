"""C source of every CPU elementwise kernel, generated from the elementwise table: pure Python.

One translation unit holds every entry x dtype. Each kernel walks a flat range (start, step,
count): a unit-stride loop that OpenMP splits over the cores and vectorizes (the `declare simd`
lines let glibc's libmvec vectorize the math functions), and a strided loop for stepped slices.
"""

import os

import numpy as np

from PuzzleLib.Kernels import Rows
from PuzzleLib.Kernels.Codegen import INLINE_MATH, RNG_ARGS, blockRandomValue, elementBody, kernelName, paramNames
from PuzzleLib.Kernels.Expression import MATH_FUNCTIONS
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, SHORT_NAME
from PuzzleLib.Kernels.Table import TABLE


STORAGE_CTYPE = {np.dtype(np.float16): "uint16_t", np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

# how an element is widened to the compute type and narrowed back (float16 through half_float.c)
LOAD = {np.dtype(np.float16): "pz_half_to_float(%s)", np.dtype(np.float32): "%s", np.dtype(np.float64): "%s"}
STORE = {np.dtype(np.float16): "pz_float_to_half(%s)", np.dtype(np.float32): "%s", np.dtype(np.float64): "%s"}
DTYPES = tuple(STORAGE_CTYPE)

# below this many elements a thread team costs more than it saves
PARALLEL_MIN = 1 << 15

with open(os.path.join(os.path.dirname(__file__), "half_float.c")) as _file:
	HALF_FLOAT = _file.read()

PRELUDE = """\
#include <stdint.h>
#include <math.h>
#include <pthread.h>

/* libgomp's thread pool does not survive fork(): a child that starts a team waits forever for
   threads that exist only in its parent. So a forked child (multiprocessing's default on Linux)
   runs every loop in its own thread. */
static int pz_threads_usable = 1;
static void pz_forked(void) { pz_threads_usable = 0; }
__attribute__((constructor)) static void pz_watch_fork(void) { pthread_atfork(NULL, NULL, pz_forked); }

/* glibc declares its vector math variants only under -ffast-math, which we never use (it breaks
   NaN handling): declare them here so the vectorizer calls libmvec. */
%s
""" % "\n".join(
	"#pragma omp declare simd notinbranch\n%s %s%s(%s);" % (ctype, name, suffix, ctype)
	for name in MATH_FUNCTIONS for ctype, suffix in (("float", "f"), ("double", ""))
)


def kernelSignature(op, dtype):
	ctype = COMPUTE_CTYPE[dtype]
	arrays = [
		"%s%s *a%d" % ("" if operand.isWritten else "const ", STORAGE_CTYPE[storage], k)
		for k, (operand, storage) in enumerate(zip(op.arrays, op.arrayDtypes(dtype)))
	]
	params = ["%s %s" % (ctype, name) for name in paramNames(op)]
	stream = ["int64_t %s" % name for name in RNG_ARGS] if op.isRandom else []

	return "void %s(%s)" % (kernelName(op, SHORT_NAME[dtype]), ", ".join(
		arrays + ["int64_t start", "int64_t step", "int64_t count"] + params + stream
	))


def kernelSource(op, dtype):
	ctype = COMPUTE_CTYPE[dtype]
	storages = op.arrayDtypes(dtype)
	body = elementBody(
		op, ctype,
		load=lambda k: LOAD[storages[k]] % ("a%d[i]" % k),
		store=lambda k, expr: "a%d[i] = %s;" % (k, STORE[storages[k]] % expr),
	)

	def loop(pragma, header, first):
		return [
			"\t\t#pragma omp %s schedule(static) if(parallel: count >= %d && pz_threads_usable)" % (pragma, PARALLEL_MIN),
			"\t\t%s {" % header
		] + first + ["\t\t\t" + line for line in body] + ["\t\t}"]

	if op.isRandom:
		unit = _blockedUnitLoop(op, dtype, body)
	else:
		unit = loop("parallel for simd", "for (int64_t i = start; i < start + count; i++)", [])

	return "\n".join(
		[kernelSignature(op, dtype), "{", "\tif (step == 1) {"] + unit + ["\t} else {"] +
		loop("parallel for", "for (int64_t k = 0; k < count; k++)", ["\t\t\tconst int64_t i = start + k * step;"]) +
		["\t}", "}", ""]
	)


def _blockedUnitLoop(op, dtype, body):
	"""A random entry's unit-step range: a Philox block per four elements (the stream's four words),
	with the ragged ends, elements of a block cut by the range, drawn one by one."""
	ctype, storages = COMPUTE_CTYPE[dtype], op.arrayDtypes(dtype)
	lanes = []
	for lane in range(4):
		lanes += ["\t\t\t{", "\t\t\t\tconst int64_t i = 4 * b + %d;" % lane] + ["\t\t\t\t" + line for line in elementBody(
			op, ctype,
			load=lambda k: LOAD[storages[k]] % ("a%d[i]" % k),
			store=lambda k, expr: "a%d[i] = %s;" % (k, STORE[storages[k]] % expr),
			randomValue=lambda role, lane=lane: blockRandomValue(role, lane)
		)] + ["\t\t\t}"]

	return [
		"\t\tconst int64_t end = start + count;",
		"\t\tconst int64_t first = ((start + 3) & ~(int64_t)3) < end ? ((start + 3) & ~(int64_t)3) : end;",
		"\t\tconst int64_t last = (end & ~(int64_t)3) > first ? (end & ~(int64_t)3) : first;",
		"\t\tfor (int64_t i = start; i < end; i++) {",
		"\t\t\tif (i == first) i = last;",
		"\t\t\tif (i >= end) break;",
	] + ["\t\t\t" + line for line in body] + [
		"\t\t}",
		"\t\t#pragma omp parallel for schedule(static) if(parallel: count >= %d)" % PARALLEL_MIN,
		"\t\tfor (int64_t b = first / 4; b < last / 4; b++) {",
		"\t\t\tuint32_t w[4];",
		"\t\t\tpz_philox_block(w, rng_key, rng_counter, b);",
	] + lanes + ["\t\t}"]


# gpuarray.copy and the slice pass-through: memcpy split over the cores, as the kernels are
COPY_SOURCE = """\
#include <string.h>
#include <omp.h>

void copy_bytes(char *dst, const char *src, int64_t nbytes)
{
	#pragma omp parallel if(nbytes >= %d && pz_threads_usable)
	{
		const int64_t threads = omp_get_num_threads(), thread = omp_get_thread_num();
		/* the share rounded up, so that the threads' chunks together cover every byte */
		const int64_t chunk = ((nbytes + threads - 1) / threads + 63) & ~(int64_t)63;
		const int64_t begin = thread * chunk < nbytes ? thread * chunk : nbytes;
		const int64_t end = begin + chunk < nbytes ? begin + chunk : nbytes;
		memcpy(dst + begin, src + begin, end - begin);
	}
}
""" % (PARALLEL_MIN * 4)


# globalRng.fillInteger: the stream's raw words, a block of four per iteration
PHILOX_WORDS_SOURCE = """\
void philox_words(uint32_t *out, int64_t count, int64_t key, int64_t counter)
{
	#pragma omp parallel for schedule(static) if(count >= %d)
	for (int64_t b = 0; b < (count + 3) / 4; b++)
		pz_philox_store_block(out, count, key, counter, b);
}
""" % PARALLEL_MIN


ROWS_TEMPLATE = """\
/* S == 1 (rows of a matrix) gets its own loop, so that the routines inline with unit stride */
void softmax_%(name)s(const %(s)s *x, %(s)s *y, int64_t N, int64_t C, int64_t S)
{
	if (S == 1) {
		#pragma omp parallel for schedule(static) if(N * C >= %(min)d)
		for (int64_t n = 0; n < N; n++)
			pz_softmax_row_%(name)s(x + n * C, y + n * C, C, 1);
		return;
	}

	#pragma omp parallel for schedule(static) if(N * C * S >= %(min)d)
	for (int64_t r = 0; r < N * S; r++) {
		const int64_t base = (r / S) * C * S + r %% S;
		pz_softmax_row_%(name)s(x + base, y + base, C, S);
	}
}

void softmax_backward_%(name)s(const %(s)s *y, const %(s)s *g, %(s)s *dx, int64_t N, int64_t C, int64_t S)
{
	if (S == 1) {
		#pragma omp parallel for schedule(static) if(N * C >= %(min)d)
		for (int64_t n = 0; n < N; n++)
			pz_softmax_backward_row_%(name)s(y + n * C, g + n * C, dx + n * C, C, 1);
		return;
	}

	#pragma omp parallel for schedule(static) if(N * C * S >= %(min)d)
	for (int64_t r = 0; r < N * S; r++) {
		const int64_t base = (r / S) * C * S + r %% S;
		pz_softmax_backward_row_%(name)s(y + base, g + base, dx + base, C, S);
	}
}

void argmax_%(name)s(const %(s)s *x, int32_t *out, int64_t N, int64_t C, int64_t S)
{
	#pragma omp parallel for schedule(static) if(N * C * S >= %(min)d)
	for (int64_t r = 0; r < N * S; r++)
		out[r] = pz_argmax_row_%(name)s(x + (r / S) * C * S + r %% S, C, S);
}

void add_vec_%(name)s(const %(s)s *vec, const %(s)s *mat, %(s)s *out, int64_t N, int64_t C, int64_t S)
{
	#pragma omp parallel for schedule(static) if(N * C * S >= %(min)d)
	for (int64_t n = 0; n < N; n++)
		for (int64_t c = 0; c < C; c++)
			#pragma omp simd
			for (int64_t s = 0; s < S; s++)
				pz_add_vec_element_%(name)s(vec, mat, out, (n * C + c) * S + s, c);
}
"""


def rowsSource(dtype):
	"""The row kernels of a dtype: Rows' routines, each wrapped in a loop over rows split over the cores."""
	routines = Rows.rowRoutines(
		dtype, STORAGE_CTYPE[dtype], load=lambda expr: LOAD[dtype] % expr, store=lambda expr: STORE[dtype] % expr
	)
	return routines + "\n" + ROWS_TEMPLATE % dict(name=SHORT_NAME[dtype], s=STORAGE_CTYPE[dtype], min=PARALLEL_MIN)


def librarySource():
	kernels = [kernelSource(op, dtype) for op in TABLE.values() for dtype in DTYPES]
	return PRELUDE + "\n" + INLINE_MATH + "\n" + HALF_FLOAT + "\n" + COPY_SOURCE + "\n" + PHILOX_WORDS_SOURCE + "\n" + "\n".join(kernels) + "\n" + "\n".join(
		rowsSource(dtype) for dtype in DTYPES
	)
