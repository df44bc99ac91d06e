"""C source of every CPU elementwise kernel, generated from the elementwise table: pure Python.

One translation unit holds every entry x dtype. Each kernel walks a flat range (start, step,
count): a unit-stride loop that the compiler vectorizes (the `declare simd` lines let glibc's
libmvec vectorize the math functions), and a strided loop for stepped slices. Above PARALLEL_MIN
elements the range is shared out in chunks over the thread team of thread_pool.c.
"""

import os

import numpy as np

from PuzzleLib.CPU import CostSource, SoftmaxLanes
from PuzzleLib.Kernels import Rows
from PuzzleLib.Kernels.ElementwiseOp import NORMAL, UNIFORM
from PuzzleLib.Kernels.Codegen import INLINE_MATH, RNG_ARGS, blockRandomValue, elementBody, kernelName, paramNames
from PuzzleLib.Kernels.Expression import MATH_FUNCTIONS
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, SHORT_NAME
from PuzzleLib.Kernels.Table import TABLE


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

# a random entry's outputs of at least this many bytes are written by streaming stores
# (stream_store.c; measured: README, Dropout)
STREAM_MIN_BYTES = 16 << 20
STREAM_STORE = _read("stream_store.c") % STREAM_MIN_BYTES
THREAD_POOL = _read("thread_pool.c")

PRELUDE = """\
#define _GNU_SOURCE                     /* sched_getaffinity, CPU_COUNT */
#include <stdint.h>
#include <string.h>
#include <math.h>

/* glibc declares its vector math variants only under -ffast-math, which we never use (it breaks
   NaN handling): declare them here so the vectorizer calls libmvec. */
%s

#define PZ_PARALLEL_MIN %d
""" % ("\n".join(
	"#pragma omp declare simd notinbranch\n%s %s%s(%s);" % (ctype, name, suffix, ctype)
	for name in MATH_FUNCTIONS for ctype, suffix in (("float", "f"), ("double", ""))
), PARALLEL_MIN)


def callFormat(op, dtype):
	"""The struct module's format of a kernel's one argument, its call packed in the C struct
	`<name>_args` (native alignment, as the compiler lays it out): the arrays' addresses, start and
	step, the params in the compute type, the random stream's key and counter, and the count."""
	param = "f" if COMPUTE_CTYPE[dtype] == "float" else "d"
	return "@" + "P" * len(op.arrays) + "qq" + param * len(op.params) + "qq" * op.isRandom + "q"


def rowCallFormat(arrays):
	"""The struct module's format of a row kernel's one argument (rowKernelSource's `<name>_args`):
	the addresses of its arrays, then C, S and N."""
	return "@" + "P" * arrays + "qqq"


def kernelSource(op, dtype):
	"""The kernel: its arguments packed in a struct, a range function over [begin, end) of the
	call's elements, and the entry point that hands the range to the thread team.

	The entry takes one pointer, to the call packed as callFormat says: a foreign call converts
	one argument instead of one per field, which is most of what a call of a small array costs."""
	ctype, storages = COMPUTE_CTYPE[dtype], op.arrayDtypes(dtype)
	name = kernelName(op, SHORT_NAME[dtype])
	arrays = ["a%d" % k for k in range(len(op.arrays))]
	pointers = [
		"%s%s *" % ("" if operand.isWritten else "const ", STORAGE_CTYPE[storage])
		for operand, storage in zip(op.arrays, storages)
	]
	stream = list(RNG_ARGS) if op.isRandom else []
	fields = (
		["%s%s;" % (pointer, field) for pointer, field in zip(pointers, arrays)] + ["int64_t start, step;"] +
		["%s %s;" % (ctype, param) for param in paramNames(op)] + ["int64_t %s;" % field for field in stream] + ["int64_t count;"]
	)
	unpacked = arrays + ["start", "step"] + list(paramNames(op)) + stream
	declared = pointers + ["const int64_t "] * 2 + ["const %s " % ctype] * len(op.params) + ["const int64_t "] * len(stream)

	body = elementBody(
		op, ctype,
		load=lambda k: LOAD[storages[k]] % ("a%d[i]" % k),
		store=lambda k, expr: "a%d[i] = %s;" % (k, STORE[storages[k]] % expr),
	)

	if op.isRandom:
		unit = _blockedUnitLoop(op, dtype, body)
	else:
		unit = ["\t\t#pragma omp simd", "\t\tfor (int64_t i = start + begin; i < start + end; i++) {"] + [
			"\t\t\t" + line for line in body
		] + ["\t\t}"]

	strided = ["\t\tfor (int64_t k = begin; k < end; k++) {", "\t\t\tconst int64_t i = start + k * step;"] + [
		"\t\t\t" + line for line in body
	] + ["\t\t}"]

	return "\n".join(
		["struct %s_args { %s };" % (name, " ".join(fields)), ""] +
		["static void %s_range(const void *argp, int64_t begin, int64_t end)" % name, "{",
			"\tconst struct %s_args *a = argp;" % name] +
		["\t%s%s = a->%s;" % (decl, field, field) for decl, field in zip(declared, unpacked)] +
		["\tif (step == 1) {"] + unit + ["\t} else {"] + strided + ["\t}", "}", ""] +
		# copied out first: the packed bytes need not be aligned for the struct
		["void %s(const void *packed)" % name, "{",
			"\tstruct %s_args a;" % name,
			"\tmemcpy(&a, packed, sizeof a);",
			"\tpz_run(%s_range, &a, a.count, %d);" % (name, CHUNK),
			"}", ""]
	)


def _blockedUnitLoop(op, dtype, body):
	"""A random entry's unit-step range [start + begin, start + end): the Philox blocks
	PZ_PHILOX_GROUP at a time (pz_philox_blocks: vectorized rounds, the round keys made once per
	range), their elements a loop that vectorizes (uniform entries); the blocks left over one by one,
	four elements each; the ragged ends, elements of a block cut by the range, drawn one by one.

	Where the call's outputs reach STREAM_MIN_BYTES (stream_store.c), a group's outputs go to a
	buffer on the stack and from there to memory by streaming stores."""
	ctype, storages = COMPUTE_CTYPE[dtype], op.arrayDtypes(dtype)
	written = [k for k, operand in enumerate(op.arrays) if operand.isWritten]

	def element(randomValue, indent, store="a%d[i]"):
		return [indent + line for line in elementBody(
			op, ctype,
			load=lambda k: LOAD[storages[k]] % ("a%d[i]" % k),
			store=lambda k, expr: "%s = %s;" % (store % k, STORE[storages[k]] % expr),
			randomValue=randomValue
		)]

	lanes = []
	for lane in range(4):
		lanes += ["\t\t\t{", "\t\t\t\tconst int64_t i = 4 * b + %d;" % lane] + element(
			lambda role, lane=lane: blockRandomValue(role, lane), "\t\t\t\t"
		) + ["\t\t\t}"]

	# a normal's pairs of words and sine-or-cosine choice per element do not vectorize
	normal = any(operand.role == NORMAL for operand in op.readable)

	def grouped(role):
		if role == UNIFORM:
			return "pz_uniform_from_word(words[e])"
		return "pz_normal_from_words(words[e & ~1], words[e | 1], e)"

	def groupLoop(store, before=(), after=()):
		return [
			"\t\t\tfor (; b + PZ_PHILOX_GROUP <= last / 4; b += PZ_PHILOX_GROUP) {",
			"\t\t\t\tuint32_t words[4 * PZ_PHILOX_GROUP];",
			"\t\t\t\tpz_philox_blocks(words, &keys, rng_counter, b);",
		] + ["\t\t\t\t" + line for line in before] + ([] if normal else ["\t\t\t\t#pragma omp simd"]) + [
			"\t\t\t\tfor (int e = 0; e < 4 * PZ_PHILOX_GROUP; e++) {",
			"\t\t\t\t\tconst int64_t i = 4 * b + e;",
		] + element(lambda role: grouped(role), "\t\t\t\t\t", store) + [
			"\t\t\t\t}",
		] + ["\t\t\t\t" + line for line in after] + ["\t\t\t}"]

	streams = " && ".join(
		"pz_streams(a%d + 4 * b, a->count * (int64_t)sizeof *a%d)" % (k, k) for k in written
	)
	buffers = ["%s s%d[4 * PZ_PHILOX_GROUP] __attribute__((aligned(32)));" % (STORAGE_CTYPE[storages[k]], k) for k in written]
	flushes = ["pz_stream_store(a%d + 4 * b, s%d, sizeof s%d);" % (k, k, k) for k in written]

	return [
		"\t\tconst int64_t from = start + begin, to = start + end;",
		"\t\tconst int64_t first = ((from + 3) & ~(int64_t)3) < to ? ((from + 3) & ~(int64_t)3) : to;",
		"\t\tconst int64_t last = (to & ~(int64_t)3) > first ? (to & ~(int64_t)3) : first;",
		"\t\tfor (int64_t i = from; i < to; i++) {",
		"\t\t\tif (i == first) i = last;",
		"\t\t\tif (i >= to) break;",
	] + ["\t\t\t" + line for line in body] + [
		"\t\t}",
		"\t\tint64_t b = first / 4;",
		"\t\tif (last - first >= 4 * PZ_PHILOX_GROUP) {",
		"\t\t\tpz_philox_keys keys;",
		"\t\t\tpz_philox_schedule(&keys, rng_key);",
		"\t\t\tif (%s) {" % streams,
	] + ["\t" + line for line in groupLoop("s%d[e]", before=buffers, after=flushes)] + [
		"\t\t\t\tpz_stream_fence();",
		"\t\t\t}",
	] + groupLoop("a%d[i]") + [
		"\t\t}",
		"\t\tfor (; b < last / 4; b++) {",
		"\t\t\tuint32_t w[4];",
		"\t\t\tpz_philox_block(w, rng_key, rng_counter, b);",
	] + lanes + ["\t\t}"]


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


# globalRng.fillInteger: the stream's raw words, a block of four per iteration
PHILOX_WORDS_SOURCE = """\
void philox_words(uint32_t *out, int64_t count, int64_t key, int64_t counter)
{
	for (int64_t b = 0; b < (count + 3) / 4; b++)
		pz_philox_store_block(out, count, key, counter, b);
}
"""


# numpy's BLAS gemm (CPU/NumpyBlas.py finds it) called through its address with the call packed,
# as the kernels take theirs: one foreign call of one argument instead of fourteen converted ones
GEMM_SOURCE = """\
typedef void (*pz_sgemm_i32)(int, int, int, int32_t, int32_t, int32_t, float, const float *, int32_t,
                             const float *, int32_t, float, float *, int32_t);
typedef void (*pz_sgemm_i64)(int, int, int, int64_t, int64_t, int64_t, float, const float *, int64_t,
                             const float *, int64_t, float, float *, int64_t);
typedef void (*pz_dgemm_i32)(int, int, int, int32_t, int32_t, int32_t, double, const double *, int32_t,
                             const double *, int32_t, double, double *, int32_t);
typedef void (*pz_dgemm_i64)(int, int, int, int64_t, int64_t, int64_t, double, const double *, int64_t,
                             const double *, int64_t, double, double *, int64_t);

/* kind: bit 0 set for double data, bit 1 for 64-bit integers; order and transposes are cblas's */
struct pz_gemm_args {
	void *entry;
	int64_t kind, order, transA, transB, m, n, k, lda, ldb, ldc;
	double alpha, beta;
	const void *a, *b;
	void *c;
};

void pz_gemm(const void *packed)
{
	struct pz_gemm_args g;
	memcpy(&g, packed, sizeof g);
	const int order = (int)g.order, ta = (int)g.transA, tb = (int)g.transB;

	switch (g.kind) {
	case 0:
		((pz_sgemm_i32)g.entry)(order, ta, tb, (int32_t)g.m, (int32_t)g.n, (int32_t)g.k, (float)g.alpha,
			g.a, (int32_t)g.lda, g.b, (int32_t)g.ldb, (float)g.beta, g.c, (int32_t)g.ldc);
		break;
	case 1:
		((pz_dgemm_i32)g.entry)(order, ta, tb, (int32_t)g.m, (int32_t)g.n, (int32_t)g.k, g.alpha,
			g.a, (int32_t)g.lda, g.b, (int32_t)g.ldb, g.beta, g.c, (int32_t)g.ldc);
		break;
	case 2:
		((pz_sgemm_i64)g.entry)(order, ta, tb, g.m, g.n, g.k, (float)g.alpha, g.a, g.lda, g.b, g.ldb, (float)g.beta, g.c, g.ldc);
		break;
	default:
		((pz_dgemm_i64)g.entry)(order, ta, tb, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, g.c, g.ldc);
	}
}
"""

# the struct module's format of pz_gemm's one argument
GEMM_CALL_FORMAT = "@P10q2d3P"


# a row kernel's rows: on the team above PARALLEL_MIN elements, in chunks of whole rows
RUN_ROWS_SOURCE = """\
/* `rows` rows of `width` elements each: a chunk is whole rows, about PZ_ROW_CHUNK elements (at
   least one row), so a row is always computed by one thread, in the same order as alone */
#define PZ_ROW_CHUNK %d

static inline void pz_run_rows(pz_range_fn fn, const void *args, int64_t rows, int64_t width)
{
	if (rows > 1 && rows * width >= pz_parallel_min)
		pz_parallel_units(fn, args, rows, (PZ_ROW_CHUNK + width - 1) / width, 1);
	else
		fn(args, 0, rows);
}
""" % CHUNK


def rowKernelSource(name, arrays, statement, matrixRange=""):
	"""A CPU row kernel `void name(const void *packed)` that runs `statement` for every row (n, s)
	of the (N, C, S) view on the thread team. It takes its call packed as rowCallFormat says (the
	struct `name_args`: the arrays' addresses, then C, S and N), as the elementwise kernels do.

	arrays: the pointer parameters as (C type, name), e.g. ("const float *", "x"). statement: C that
	computes one row from `base` (the offset of its first element), `r` (its index n S + s), C and
	S; for S == 1 (rows of a matrix) it is compiled with S the constant 1, so that the routines it
	calls inline with unit stride. matrixRange: C run first for S == 1, over the rows [begin, end),
	that returns where it has computed them (a loop of its own for some C).
	"""
	fields = " ".join("%s%s;" % array for array in arrays)
	unpack = " ".join("%s%s = a->%s;" % (ctype, field, field) for ctype, field in arrays)
	return """\
struct %(name)s_args { %(fields)s int64_t C, S, N; };

static void %(name)s_range(const void *argp, int64_t begin, int64_t end)
{
	const struct %(name)s_args *a = argp;
	%(unpack)s
	const int64_t C = a->C;
	if (a->S == 1) {
		const int64_t S = 1;
		%(matrixRange)s
		for (int64_t r = begin; r < end; r++) {
			const int64_t base = r * C;
			%(statement)s
		}
	} else {
		const int64_t S = a->S;
		for (int64_t r = begin; r < end; r++) {
			const int64_t base = (r / S) * C * S + r %% S;
			%(statement)s
		}
	}
}

/* copied out first: the packed bytes need not be aligned for the struct */
void %(name)s(const void *packed)
{
	struct %(name)s_args a;
	memcpy(&a, packed, sizeof a);
	pz_run_rows(%(name)s_range, &a, a.N * a.S, a.C);
}
""" % dict(name=name, fields=fields, unpack=unpack, statement=statement, matrixRange=matrixRange)


ADD_VEC_TEMPLATE = """\
/* rows of C (S == 1) or of S elements, whole rows a chunk, each a loop that vectorizes */
struct add_vec_%(name)s_args { const %(s)s *vec; const %(s)s *mat; %(s)s *out; int64_t C, S, N; };

static void add_vec_%(name)s_range(const void *argp, int64_t begin, int64_t end)
{
	const struct add_vec_%(name)s_args *a = argp;
	const %(s)s *vec = a->vec, *mat = a->mat;
	%(s)s *out = a->out;
	const int64_t C = a->C, S = a->S;
	if (S == 1) {
		for (int64_t n = begin; n < end; n++)
			#pragma omp simd
			for (int64_t c = 0; c < C; c++)
				pz_add_vec_element_%(name)s(vec, mat, out, n * C + c, c);
	} else {
		for (int64_t r = begin; r < end; r++)
			#pragma omp simd
			for (int64_t s = 0; s < S; s++)
				pz_add_vec_element_%(name)s(vec, mat, out, r * S + s, r %% C);
	}
}

void add_vec_%(name)s(const void *packed)
{
	struct add_vec_%(name)s_args a;
	memcpy(&a, packed, sizeof a);
	if (a.S == 1)
		pz_run_rows(add_vec_%(name)s_range, &a, a.N, a.C);
	else
		pz_run_rows(add_vec_%(name)s_range, &a, a.N * a.C, a.S);
}
"""


# softmax over rows [begin, end) of a matrix: short ones eight rows a block (SoftmaxLanes), longer
# ones a row at a time, each row's exps taking the next row's maximum on the way
SOFTMAX_MATRIX = """\
PZ_INLINE void pz_softmax_matrix_%(name)s(const %(s)s *x, %(s)s *y, int64_t begin, int64_t end, int64_t C)
{
	if (C <= PZ_LANE_C_MAX) {
		for (int64_t r = begin; r < end; r += PZ_LANES)
			pz_softmax_lane_block_%(name)s(x + r * C, y + r * C, C, end - r < PZ_LANES ? end - r : PZ_LANES);
		return;
	}
	%(ctype)s top = pz_softmax_max_%(name)s(x + begin * C, C, 1);
	for (int64_t r = begin; r < end; r++) {
		%(ctype)s nextTop = 0;
		pz_softmax_row_from_%(name)s(x + r * C, y + r * C, C, 1, top, r + 1 < end ? x + (r + 1) * C : NULL, &nextTop);
		top = nextTop;
	}
}
"""

# float16 rows of a matrix go through float: a block of rows widened into a float buffer, float32's
# softmax (or its backward) of the block in place, each result rounded once to float16. Float32's
# loops run on full vectors, where float16's own would convert every element in and out of its
# half storage at each step (and round each exp once more).
HALF_BLOCK_FLOATS = 4096

SOFTMAX_MATRIX_F16 = """\
/* a float buffer for blocks of float16 rows of `width` floats each: the stack's (*rows a block, whole
   lane blocks where several fit) or, for a row longer than it, one row's from the heap (NULL where
   that fails) */
PZ_INLINE float *pz_half_rows_buffer(float *stack, int64_t width, int64_t *rows)
{
	*rows = %(block)d / width;
	*rows = *rows >= PZ_LANES ? *rows / PZ_LANES * PZ_LANES : *rows;
	if (*rows > 0)
		return stack;
	*rows = 1;
	return malloc((size_t)width * sizeof(float));
}

PZ_INLINE void pz_widen_halves(const uint16_t *from, float *to, int64_t count)
{
	#pragma omp simd
	for (int64_t i = 0; i < count; i++)
		to[i] = pz_half_to_float(from[i]);
}

PZ_INLINE void pz_narrow_floats(const float *from, uint16_t *to, int64_t count)
{
	#pragma omp simd
	for (int64_t i = 0; i < count; i++)
		to[i] = pz_float_to_half(from[i]);
}

PZ_INLINE void pz_softmax_matrix_f16(const uint16_t *x, uint16_t *y, int64_t begin, int64_t end, int64_t C)
{
	float stack[%(block)d] __attribute__((aligned(32)));
	int64_t rows;
	float *buffer = pz_half_rows_buffer(stack, C, &rows);
	if (buffer == NULL) {
		for (int64_t r = begin; r < end; r++)
			pz_softmax_row_f16(x + r * C, y + r * C, C, 1);
		return;
	}

	for (int64_t r0 = begin; r0 < end; r0 += rows) {
		const int64_t count = (end - r0 < rows ? end - r0 : rows) * C;
		pz_widen_halves(x + r0 * C, buffer, count);
		pz_softmax_matrix_f32(buffer, buffer, 0, count / C, C);
		pz_narrow_floats(buffer, y + r0 * C, count);
	}
	if (buffer != stack)
		free(buffer);
}

/* the backward of float16 rows of a matrix the same way: y and g widened side by side, float32's
   backward of each row (its dot in double) into the widened y, narrowed once */
PZ_INLINE void pz_softmax_backward_matrix_f16(const uint16_t *y, const uint16_t *g, uint16_t *dx, int64_t begin, int64_t end,
                                              int64_t C)
{
	float stack[%(block)d] __attribute__((aligned(32)));
	int64_t rows;
	float *buffer = pz_half_rows_buffer(stack, 2 * C, &rows);
	if (buffer == NULL) {
		for (int64_t r = begin; r < end; r++)
			pz_softmax_backward_row_f16(y + r * C, g + r * C, dx + r * C, C, 1);
		return;
	}

	float *ys = buffer, *gs = buffer + rows * C;
	for (int64_t r0 = begin; r0 < end; r0 += rows) {
		const int64_t n = end - r0 < rows ? end - r0 : rows;
		pz_widen_halves(y + r0 * C, ys, n * C);
		pz_widen_halves(g + r0 * C, gs, n * C);
		for (int64_t r = 0; r < n; r++)
			pz_softmax_backward_row_f32(ys + r * C, gs + r * C, ys + r * C, C, 1);
		pz_narrow_floats(ys, dx + r0 * C, n * C);
	}
	if (buffer != stack)
		free(buffer);
}
""" % dict(block=HALF_BLOCK_FLOATS)

SOFTMAX_MATRIX_RANGE = """pz_softmax_matrix_%(name)s(x, y, begin, end, C);
		return;"""
SOFTMAX_BACKWARD_MATRIX_RANGE_F16 = """pz_softmax_backward_matrix_f16(y, g, dx, begin, end, C);
		return;"""


def rowsSource(dtype):
	"""The row kernels of a dtype: Rows' routines, each run over rows on the thread team."""
	name, s = SHORT_NAME[dtype], STORAGE_CTYPE[dtype]
	routines = Rows.rowRoutines(dtype, s, load=lambda expr: LOAD[dtype] % expr, store=lambda expr: STORE[dtype] % expr)
	if dtype == np.float16:             # its rows of a matrix run float32's routines (SOFTMAX_MATRIX_F16)
		lanes, matrix = "", SOFTMAX_MATRIX_F16
	else:
		lanes = SoftmaxLanes.laneRoutines(dtype, s, COMPUTE_CTYPE[dtype], name)
		matrix = SOFTMAX_MATRIX % dict(name=name, s=s, ctype=COMPUTE_CTYPE[dtype])
	kernels = [
		rowKernelSource(
			"softmax_%s" % name, [("const %s *" % s, "x"), ("%s *" % s, "y")],
			"pz_softmax_row_%s(x + base, y + base, C, S);" % name,
			matrixRange=SOFTMAX_MATRIX_RANGE % dict(name=name)
		),
		rowKernelSource(
			"softmax_backward_%s" % name, [("const %s *" % s, "y"), ("const %s *" % s, "g"), ("%s *" % s, "dx")],
			"pz_softmax_backward_row_%s(y + base, g + base, dx + base, C, S);" % name,
			matrixRange=SOFTMAX_BACKWARD_MATRIX_RANGE_F16 if dtype == np.float16 else ""
		),
		rowKernelSource(
			"argmax_%s" % name, [("const %s *" % s, "x"), ("int32_t *", "out")],
			"out[r] = pz_argmax_row_%s(x + base, C, S);" % name
		),
		ADD_VEC_TEMPLATE % dict(name=name, s=s),
	]
	return "\n".join([routines, lanes, matrix] + kernels)


# float16's matrix softmax runs float32's: float32's row routines come first
ROWS_ORDER = (np.dtype(np.float32), np.dtype(np.float16), np.dtype(np.float64))


def librarySource():
	kernels = [kernelSource(op, dtype) for op in TABLE.values() for dtype in DTYPES]
	return "\n".join(
		[PRELUDE, INLINE_MATH, HALF_FLOAT, STREAM_STORE, THREAD_POOL, RUN_SOURCE, RUN_ROWS_SOURCE, COPY_SOURCE, PHILOX_WORDS_SOURCE,
			GEMM_SOURCE, SoftmaxLanes.DEFINES] + kernels +
		[rowsSource(dtype) for dtype in ROWS_ORDER] + [CostSource.labelSource()] + [
			CostSource.costsSource(dtype, STORAGE_CTYPE[dtype], lambda expr, d=dtype: LOAD[d] % expr, lambda expr, d=dtype: STORE[d] % expr)
			for dtype in DTYPES
		]
	)
