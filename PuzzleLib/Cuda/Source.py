"""CUDA C source of every elementwise kernel, generated from the elementwise table: pure Python.

Nothing here imports pycuda or needs a GPU, so the test suite compiles every kernel with nvcc
wherever nvcc exists. The per-element math comes from Codegen.elementBody, the same statements
the CPU backend compiles.

A module is one (table entry, dtype, variant) with its kernel:

    moduleSource(op, dtype, variant) == prelude(dtype) + moduleBody(op, dtype, variant)

and every text below is a function of its arguments only, so what pycuda compiles at run time is
exactly what the nvcc test compiled. Two variants:

- "vector": 16-byte loads and stores (4 floats, 8 halves or 2 doubles per thread-iteration; an
  entry whose operands mix dtypes moves 16 bytes of the widest) over a contiguous range whose
  pointers are all aligned to their packs, then the last n % width elements one per thread.
  Streaming kernels need the wide accesses to reach memory bandwidth. A random entry also takes
  the range's first element index (origin), which numbers its stream.
- "strided": element start + k * step for k in [0, count), any step sign: slices, misaligned
  pointers, everything else.

Both loop grid-stride over 64-bit indices, so a grid of bounded size covers any count (arrays
over 2^31 elements included).
"""

import numpy as np

from PuzzleLib.Kernels import Rows
from PuzzleLib.Kernels.Codegen import (
	INLINE_MATH, RNG_ARGS, blockRandomValue, elementBody, kernelName as baseKernelName, paramNames
)
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, SHORT_NAME
from PuzzleLib.Kernels.Table import TABLE


STORAGE_CTYPE = {np.dtype(np.float32): "float", np.dtype(np.float16): "__half", np.dtype(np.float64): "double"}
DTYPES = tuple(STORAGE_CTYPE)

VARIANTS = ("vector", "strided")
VECTOR_BYTES = 16

# Deliberate, and the same in the nvcc test: IEEE division and square root, denormals kept (no
# -use_fast_math: it flushes denormals and approximates exp/log/tanh, which breaks the accuracy
# and NaN guarantees). Passing options also keeps PYCUDA_DEFAULT_NVCC_FLAGS out of the numerics;
# nvcc's own NVCC_APPEND_FLAGS still serves for host-side settings such as -ccbin.
NVCC_OPTIONS = ("--ftz=false", "--prec-div=true", "--prec-sqrt=true", "--fmad=true")


def vectorWidth(dtype):
	return VECTOR_BYTES // np.dtype(dtype).itemsize


def opWidth(op, dtype):
	"""Elements per thread-iteration of the vector variant: 16 bytes of the widest operand."""
	return min(vectorWidth(storage) for storage in op.arrayDtypes(dtype))


def kernelName(op, dtype, variant):
	return "%s_%s" % (baseKernelName(op, SHORT_NAME[np.dtype(dtype)]), variant)


def argFormat(op, dtype, variant):
	"""The kernel's parameters for pycuda's Function.prepare: pointers, 64-bit ints, the params."""
	pointers = "P" * len(op.arrays)
	counts = ("qq" if op.isRandom else "q") if variant == "vector" else "qqq"
	param = "f" if COMPUTE_CTYPE[np.dtype(dtype)] == "float" else "d"
	return pointers + counts + param * len(op.params) + ("qq" if op.isRandom else "")


def _packName(storage, width):
	return "pack_%s_%d" % (SHORT_NAME[storage], width)


def _storages(dtype):
	"""The storage dtypes a module of dtype may hold: its own, and float32 (state kept beside float16 data)."""
	return (dtype, ) if dtype == np.float32 else (dtype, np.dtype(np.float32))


def prelude(dtype):
	"""What every module of a dtype starts with: headers, the shared inline math and Philox, the pack types.

	Outside extern "C": cuda_fp16.h is C++ and must not get C linkage.
	"""
	dtype = np.dtype(dtype)
	lines = ["/* PuzzleLib elementwise kernels, %s */" % dtype.name]
	if dtype == np.float16:
		lines.append("#include <cuda_fp16.h>")

	lines += ["", INLINE_MATH, "/* Aligned to its size, so a copy of it is one load or store (ld/st.global.v4 at 16 bytes). */"]
	for storage in _storages(dtype):
		for width in (2, 4, 8):
			if width * storage.itemsize <= VECTOR_BYTES:
				lines.append("struct __align__(%d) %s { %s v[%d]; };" % (
					width * storage.itemsize, _packName(storage, width), STORAGE_CTYPE[storage], width
				))

	return "\n".join(lines + [""]) + "\n"


_CONVERTERS = {
	np.dtype(np.float16): ((lambda expr: "__half2float(%s)" % expr), (lambda expr: "__float2half_rn(%s)" % expr)),
	np.dtype(np.float32): ((lambda expr: expr), (lambda expr: expr)),
	np.dtype(np.float64): ((lambda expr: expr), (lambda expr: expr)),
}


def _converters(storage, ctype):
	"""(load(expr), store(expr)): storage -> compute type and back; float16 rounds once, to nearest."""
	load, store = _CONVERTERS[storage]
	if storage == np.float32 and ctype == "double":
		return (lambda expr: "(double)%s" % expr), (lambda expr: "(float)%s" % expr)
	return load, store


def _signature(op, dtype, variant):
	ctype = COMPUTE_CTYPE[dtype]
	# no __restrict__: inplace calls pass an output as an input too
	params = [
		"%s%s *a%d" % ("" if operand.isWritten else "const ", STORAGE_CTYPE[storage], k)
		for k, (operand, storage) in enumerate(zip(op.arrays, op.arrayDtypes(dtype)))
	]
	if variant == "vector":
		params += ["const long long n"] + (["const long long origin"] if op.isRandom else [])
	else:
		params += ["const long long start", "const long long step", "const long long count"]

	params += ["const %s %s" % (ctype, name) for name in paramNames(op)]
	params += ["const long long %s" % name for name in RNG_ARGS] if op.isRandom else []

	return "__global__ void %s(%s)" % (kernelName(op, dtype, variant), ", ".join(params))


def _element(op, dtype, read, write, index, indent, randomValue=None):
	"""One element's statements; read(k) is array k in storage type, write(k, expr) the store."""
	ctype = COMPUTE_CTYPE[dtype]
	converters = [_converters(storage, ctype) for storage in op.arrayDtypes(dtype)]
	body = elementBody(
		op, ctype,
		load=lambda k: converters[k][0](read(k)),
		store=lambda k, expr: "%s;" % write(k, converters[k][1](expr)),
		index=index, randomValue=randomValue
	)
	return [indent + line for line in body]


def _packElements(op, dtype, width, origin):
	"""The statements of one pack's elements. A random entry whose pack holds whole Philox blocks
	draws one block per four elements when the range starts on a block (origin % 4 == 0)."""
	perElement = ["#pragma unroll", "\t\tfor (int j = 0; j < %d; j++) {" % width] + _element(
		op, dtype, read=lambda k: "p%d.v[j]" % k, write=lambda k, expr: "p%d.v[j] = %s" % (k, expr),
		index="%sv * %d + j" % (origin, width), indent="\t\t\t"
	) + ["\t\t}"]

	if not op.isRandom or width % 4:
		return perElement

	blocked = ["\t\tif ((origin & 3) == 0) {"]
	for q in range(width // 4):
		blocked += [
			"\t\t\tuint32_t w%d[4];" % q,
			"\t\t\tpz_philox_block(w%d, %s, %s, (origin >> 2) + v * %d + %d);" % (q, RNG_ARGS[0], RNG_ARGS[1], width // 4, q)
		]
	for j in range(width):
		blocked += ["\t\t\t{"] + _element(
			op, dtype, read=lambda k, j=j: "p%d.v[%d]" % (k, j), write=lambda k, expr, j=j: "p%d.v[%d] = %s" % (k, j, expr),
			index=None, indent="\t\t\t\t", randomValue=lambda role, j=j: blockRandomValue(role, j % 4, "w%d" % (j // 4))
		) + ["\t\t\t}"]

	return blocked + ["\t\t} else {"] + ["\t" + line for line in perElement] + ["\t\t}"]


# The first global thread and the grid's width, in 64 bits before any multiplication.
_THREAD = [
	"\tconst long long first = (long long)blockIdx.x * blockDim.x + threadIdx.x;",
	"\tconst long long stride = (long long)gridDim.x * blockDim.x;"
]


def _vectorBody(op, dtype):
	width, storages = opWidth(op, dtype), op.arrayDtypes(dtype)
	packs = [_packName(storage, width) for storage in storages]
	arrays = range(len(op.arrays))
	origin = "origin + " if op.isRandom else ""

	lines = _THREAD + [
		"\tconst long long packs = n / %d;" % width,
		"",
		"\tfor (long long v = first; v < packs; v += stride) {"
	] + [
		"\t\t%s%s p%d = reinterpret_cast<const %s *>(a%d)[v];" % (
			"" if operand.isWritten else "const ", packs[k], k, packs[k], k
		) if operand.isRead else "\t\t%s p%d;" % (packs[k], k)
		for k, operand in zip(arrays, op.arrays)
	] + _packElements(op, dtype, width, origin) + [
		"\t\treinterpret_cast<%s *>(a%d)[v] = p%d;" % (packs[k], k, k)
		for k, operand in zip(arrays, op.arrays) if operand.isWritten
	] + [
		"\t}",
		"",
		"\t/* the last n %% %d elements, one per thread */" % width,
		"\tconst long long i = packs * %d + first;" % width,
		"\tif (i < n) {"
	] + _element(
		op, dtype, read=lambda k: "a%d[i]" % k, write=lambda k, expr: "a%d[i] = %s" % (k, expr),
		index="%si" % origin, indent="\t\t"
	) + ["\t}"]

	return lines


def _stridedBody(op, dtype):
	return _THREAD + [
		"",
		"\tfor (long long k = first; k < count; k += stride) {",
		"\t\tconst long long i = start + k * step;"
	] + _element(
		op, dtype, read=lambda k: "a%d[i]" % k, write=lambda k, expr: "a%d[i] = %s" % (k, expr), index="i", indent="\t\t"
	) + ["\t}"]


def kernelSource(op, dtype, variant):
	"""The full text of one __global__ kernel (without the prelude it needs)."""
	dtype = np.dtype(dtype)
	if variant not in VARIANTS:
		raise ValueError("variant must be one of %s, got %r" % (VARIANTS, variant))

	body = _vectorBody(op, dtype) if variant == "vector" else _stridedBody(op, dtype)
	return "\n".join([_signature(op, dtype, variant), "{"] + body + ["}", ""])


def moduleBody(op, dtype, variant):
	"""The module's kernel, with C linkage so that pycuda finds it by its plain name."""
	return 'extern "C" {\n\n%s\n} /* extern "C" */\n' % kernelSource(op, dtype, variant)


def moduleSource(op, dtype, variant):
	"""The exact text the CUDA backend hands to pycuda's SourceModule (with no_extern_c=True)."""
	return prelude(dtype) + moduleBody(op, dtype, variant)


def wordsSource():
	"""The module of globalRng.fillInteger's kernel: the Philox stream's raw words, a block per thread-iteration."""
	return prelude(np.float32) + """extern "C" {

__global__ void philox_words(unsigned int *out, const long long count, const long long key, const long long counter)
{
%s
	for (long long b = first; b < (count + 3) / 4; b += stride)
		pz_philox_store_block(out, count, key, counter, b);
}

} /* extern "C" */
""" % "\n".join(_THREAD)


WORDS_FORMAT = "Pqqq"


# threads of a row kernel's block (a power of two): LaunchPlan.rowBlock sizes a launch's blocks to its rows
ROW_THREADS = 256

BLOCK_ROUTINES = """\
/* {{{ a block's reductions over one value per thread: a fixed tree over blockDim.x (a power of two,
   at most PZ_ROW_THREADS) threads, so a row's result is the same on every run. Every thread of the
   block calls them, and every thread gets the result. */
#define PZ_ROW_THREADS %(rowThreads)d

__device__ double pz_block_sum(double v)
{
	__shared__ double partial[PZ_ROW_THREADS];
	partial[threadIdx.x] = v;
	__syncthreads();
	for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
		if (threadIdx.x < half)
			partial[threadIdx.x] += partial[threadIdx.x + half];
		__syncthreads();
	}
	const double total = partial[0];
	__syncthreads();        /* read by all before a next reduction writes */
	return total;
}

__device__ %(ctype)s pz_block_max_%(name)s(%(ctype)s v)
{
	__shared__ %(ctype)s partial[PZ_ROW_THREADS];
	partial[threadIdx.x] = v;
	__syncthreads();
	for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
		if (threadIdx.x < half)
			partial[threadIdx.x] = pz_row_max_%(name)s(partial[threadIdx.x], partial[threadIdx.x + half]);
		__syncthreads();
	}
	const %(ctype)s top = partial[0];
	__syncthreads();
	return top;
}

/* the index of the winner (pz_argmax_wins) among the threads' candidates (v at index i) */
__device__ long long pz_block_argmax_%(name)s(%(ctype)s v, long long i)
{
	__shared__ %(ctype)s values[PZ_ROW_THREADS];
	__shared__ long long indices[PZ_ROW_THREADS];
	values[threadIdx.x] = v;
	indices[threadIdx.x] = i;
	__syncthreads();
	for (unsigned half = blockDim.x / 2; half > 0; half /= 2) {
		if (threadIdx.x < half && pz_argmax_wins_%(name)s(values[threadIdx.x + half], indices[threadIdx.x + half], values[threadIdx.x], indices[threadIdx.x])) {
			values[threadIdx.x] = values[threadIdx.x + half];
			indices[threadIdx.x] = indices[threadIdx.x + half];
		}
		__syncthreads();
	}
	const long long best = indices[0];
	__syncthreads();
	return best;
}

/* The exps of a row of C entries (S == 1) by the block, as Rows' pz_softmax_exps_row: stored into
   out, summed in double; every thread gets the sum and *m the shift. A row of only -inf entries
   has no mass: the sum is 0 and out is untouched; a row with a NaN or +inf entry is NaN: out, the
   sum and *m. Each thread reads only the entries it writes, so out may be row. With out NULL the
   exps are summed in the compute type and not stored (nor is a NaN row written). */
__device__ double pz_block_softmax_exps_%(name)s(const %(s)s *row, %(s)s *out, const long long C, double *m)
{
	%(ctype)s top = -INFINITY;
	for (long long c = threadIdx.x; c < C; c += blockDim.x)
		top = pz_row_max_%(name)s(top, pz_row_load_%(name)s(row[c]));
	top = pz_block_max_%(name)s(top);
	if (top == -INFINITY)              /* the same for the whole block */
		return 0.0;
	if (top != top || top == INFINITY) {     /* a NaN or +inf entry: the row is NaN */
		for (long long c = threadIdx.x; c < C && out; c += blockDim.x)
			out[c] = pz_softmax_nan_%(name)s();
		*m = (double)NAN;
		return (double)NAN;
	}

	double sum = 0.0;
	for (long long c = threadIdx.x; c < C; c += blockDim.x) {
		if (out) {
			const %(s)s e = pz_softmax_exp_%(name)s(row[c], top);
			out[c] = e;
			sum += (double)pz_row_load_%(name)s(e);
		} else
			sum += (double)pz_softmax_exp_value_%(name)s(row[c], top);
	}
	*m = (double)top;
	return pz_block_sum(sum);
}

/* the index of a row's first maximum (a NaN the maximum) by the block; every thread gets it */
__device__ long long pz_block_argmax_row_%(name)s(const %(s)s *row, const long long C)
{
	/* a thread with no element offers -inf at index C: it loses to every real entry */
	%(ctype)s top = -INFINITY;
	long long best = C;
	for (long long c = threadIdx.x; c < C; c += blockDim.x) {
		const %(ctype)s v = pz_row_load_%(name)s(row[c]);
		if (pz_argmax_wins_%(name)s(v, c, top, best)) {
			top = v;
			best = c;
		}
	}
	return pz_block_argmax_%(name)s(top, best);
}

/* }}} */
"""

ROWS_TEMPLATE = """\
extern "C" {

/* {{{ rows of a matrix (S == 1): a block per row, grid-stride over the rows, each thread taking
   the row's elements threadIdx.x, + blockDim.x, ... (adjacent threads, adjacent elements) */

/* the exps are summed, not stored, then taken again and scaled: each result is rounded once into
   its dtype, and a row is read twice and written once instead of read, written, read and written */
__global__ void softmax_rows_%(name)s(const %(s)s *x, %(s)s *y, const long long N, const long long C)
{
	for (long long n = blockIdx.x; n < N; n += gridDim.x) {
		const %(s)s *row = x + n * C;
		%(s)s *out = y + n * C;
		double m = 0.0;
		const double sum = pz_block_softmax_exps_%(name)s(row, NULL, C, &m);
		if (sum == 0.0 || sum != sum) {  /* the same for the whole block */
			for (long long c = threadIdx.x; c < C; c += blockDim.x)
				out[c] = sum == 0.0 ? pz_softmax_uniform_%(name)s(C) : pz_softmax_nan_%(name)s();
			continue;
		}
		const %(ctype)s top = (%(ctype)s)m, inv = (%(ctype)s)(1.0 / sum);

		for (long long c = threadIdx.x; c < C; c += blockDim.x)
			out[c] = pz_softmax_scaled_exp_%(name)s(row[c], top, inv);
	}
}

__global__ void softmax_backward_rows_%(name)s(const %(s)s *y, const %(s)s *g, %(s)s *dx, const long long N, const long long C)
{
	for (long long n = blockIdx.x; n < N; n += gridDim.x) {
		const long long base = n * C;
		double dot = 0.0;
		for (long long c = threadIdx.x; c < C; c += blockDim.x)
			dot += (double)pz_row_load_%(name)s(g[base + c]) * (double)pz_row_load_%(name)s(y[base + c]);
		dot = pz_block_sum(dot);

		for (long long c = threadIdx.x; c < C; c += blockDim.x)
			dx[base + c] = pz_softmax_backward_element_%(name)s(y[base + c], g[base + c], dot);
	}
}

__global__ void argmax_rows_%(name)s(const %(s)s *x, int *out, const long long N, const long long C)
{
	for (long long n = blockIdx.x; n < N; n += gridDim.x) {
		const long long best = pz_block_argmax_row_%(name)s(x + n * C, C);
		if (threadIdx.x == 0)
			out[n] = (int)best;
	}
}

/* }}} */

/* {{{ any S: a thread per row (n, s), grid-stride; for S > 1 adjacent threads read adjacent columns */

__global__ void softmax_%(name)s(const %(s)s *x, %(s)s *y, const long long N, const long long C, const long long S)
{
%(thread)s
	for (long long r = first; r < N * S; r += stride) {
		const long long base = (r / S) * C * S + r %% S;
		pz_softmax_row_%(name)s(x + base, y + base, C, S);
	}
}

__global__ void softmax_backward_%(name)s(const %(s)s *y, const %(s)s *g, %(s)s *dx, const long long N, const long long C, const long long S)
{
%(thread)s
	for (long long r = first; r < N * S; r += stride) {
		const long long base = (r / S) * C * S + r %% S;
		pz_softmax_backward_row_%(name)s(y + base, g + base, dx + base, C, S);
	}
}

__global__ void argmax_%(name)s(const %(s)s *x, int *out, const long long N, const long long C, const long long S)
{
%(thread)s
	for (long long r = first; r < N * S; r += stride)
		out[r] = pz_argmax_row_%(name)s(x + (r / S) * C * S + r %% S, C, S);
}

/* }}} */

__global__ void add_vec_%(name)s(const %(s)s *vec, const %(s)s *mat, %(s)s *out, const long long N, const long long C, const long long S)
{
%(thread)s
	for (long long i = first; i < N * C * S; i += stride)
		pz_add_vec_element_%(name)s(vec, mat, out, i, (i / S) %% C);
}

} /* extern "C" */
"""

# the row kernels and their prepare formats: the "_rows" ones a block per row of a matrix (S == 1),
# the others a thread per row (n, s); add_vec a thread per element
ROW_KERNELS = {
	"softmax": "PPqqq", "softmax_backward": "PPPqqq", "argmax": "PPqqq", "add_vec": "PPPqqq",
	"softmax_rows": "PPqq", "softmax_backward_rows": "PPPqq", "argmax_rows": "PPqq",
}


def rowsSource(dtype):
	"""The row kernels' module of a dtype: the prelude, Kernels/Rows' routines, the kernels."""
	dtype = np.dtype(dtype)
	ctype = COMPUTE_CTYPE[dtype]
	load, store = _converters(dtype, ctype)
	routines = Rows.rowRoutines(dtype, STORAGE_CTYPE[dtype], load, store)
	kernels = ROWS_TEMPLATE % dict(name=SHORT_NAME[dtype], s=STORAGE_CTYPE[dtype], ctype=ctype, thread="\n".join(_THREAD))
	return prelude(dtype) + routines + "\n" + blockRoutines(dtype) + "\n" + kernels


def blockRoutines(dtype):
	"""The block-wide reductions and softmax exps of a dtype, for kernels that run a block per row
	(after Kernels/Rows' routines)."""
	dtype = np.dtype(dtype)
	return BLOCK_ROUTINES % dict(
		name=SHORT_NAME[dtype], s=STORAGE_CTYPE[dtype], ctype=COMPUTE_CTYPE[dtype], rowThreads=ROW_THREADS
	)


def rowKernelName(name, dtype):
	return "%s_%s" % (name, SHORT_NAME[np.dtype(dtype)])


def checkSource(dtype):
	"""Every module of a dtype in one translation unit: the prelude once, then each module's body.

	What the nvcc test compiles: one nvcc run per dtype and arch instead of one per module.
	"""
	return prelude(dtype) + "\n".join(
		moduleBody(op, dtype, variant) for op in TABLE.values() for variant in VARIANTS
	)

