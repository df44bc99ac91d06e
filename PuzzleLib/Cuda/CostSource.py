"""CUDA C source of the cost kernels, a module per dtype: Kernels/CostRows' routines (after Rows'),
each block's shares summed in a fixed order into one double partial (partials[blockIdx.x]): pure
Python, as Source.

Rows of a matrix (S == 1) run a block per row, as the SoftMax kernel does (Source's block
routines), grid-stride over the rows; rows over an inner axis (S > 1) a thread per row, BLOCK rows a
block; elementwise costs SPAN elements a block, SPAN / BLOCK a thread at a stride of BLOCK
(coalesced). A partial depends only on the data and the grid, so totals are reproducible.
"""

import numpy as np

from PuzzleLib.Cuda import Source
from PuzzleLib.Kernels import CostRows, Rows
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, SHORT_NAME


BLOCK = 256
SPAN = BLOCK * 8
assert BLOCK <= Source.ROW_THREADS          # pz_block_partial reduces through Source's pz_block_sum

REDUCTIONS = """\
#define PZ_COST_BLOCK %(block)d
#define PZ_COST_SPAN %(span)d

/* the block's values summed in a fixed tree order (Source's pz_block_sum) into partials[blockIdx.x];
   every thread calls it */
__device__ void pz_block_partial(double v, double *partials)
{
	const double total = pz_block_sum(v);
	if (threadIdx.x == 0)
		partials[blockIdx.x] = total;
}

/* the block's least and greatest into partials[2 blockIdx.x], [2 blockIdx.x + 1]; a NaN wins */
__device__ void pz_block_range(double low, double high, double *partials)
{
	__shared__ double lows[PZ_COST_BLOCK], highs[PZ_COST_BLOCK];
	lows[threadIdx.x] = low;
	highs[threadIdx.x] = high;
	__syncthreads();
	for (int half = PZ_COST_BLOCK / 2; half > 0; half >>= 1) {
		if (threadIdx.x < half) {
			const double l = lows[threadIdx.x + half], h = highs[threadIdx.x + half];
			lows[threadIdx.x] = l < lows[threadIdx.x] || l != l ? l : lows[threadIdx.x];
			highs[threadIdx.x] = h > highs[threadIdx.x] || h != h ? h : highs[threadIdx.x];
		}
		__syncthreads();
	}
	if (threadIdx.x == 0) {
		partials[2 * blockIdx.x] = lows[0];
		partials[2 * blockIdx.x + 1] = highs[0];
	}
}
""" % dict(block=BLOCK, span=SPAN)

_ROW = "\tconst long long r = (long long)blockIdx.x * blockDim.x + threadIdx.x;"

ROWS_TEMPLATE = """\
__global__ void cost_xent_%(name)s(const %(s)s *x, const int *labels, const float *weights, %(s)s *g, double *partials,
                                   const long long R, const long long C, const long long S, const double scale)
{
%(row)s
	double loss = 0.0;
	if (r < R) {
		const int label = labels[r];
		const double w = weights ? (double)weights[label] : 1.0;
		const long long base = (r / S) * C * S + r %% S;
		loss = pz_xent_row_%(name)s(x + base, g + base, label, w, scale, C, S);
	}
	pz_block_partial(loss, partials);
}

__global__ void cost_argmax_errors_%(name)s(const %(s)s *x, const int *labels, double *partials,
                                            const long long R, const long long C, const long long S)
{
%(row)s
	pz_block_partial(r < R ? pz_argmax_error_row_%(name)s(x + (r / S) * C * S + r %% S, labels[r], C, S) : 0.0, partials);
}
"""

# rows of a matrix (S == 1): a block per row (Source's block routines), grid-stride over the rows;
# thread 0 keeps the block's rows' losses, in row order, as its partial
BLOCK_ROWS_TEMPLATE = """\
__global__ void cost_xent_rows_%(name)s(const %(s)s *x, const int *labels, const float *weights, %(s)s *g, double *partials,
                                        const long long N, const long long C, const double scale)
{
	double total = 0.0;
	for (long long n = blockIdx.x; n < N; n += gridDim.x) {
		const int label = labels[n];
		const double w = weights ? (double)weights[label] : 1.0, ws = w * scale;
		%(s)s *row = g + n * C;

		double m = 0.0;
		const double sum = pz_block_softmax_exps_%(name)s(x + n * C, row, C, &m);
		const double inv = sum == 0.0 ? 0.0 : 1.0 / sum;
		for (long long c = threadIdx.x; c < C; c += blockDim.x)
			row[c] = pz_xent_grad_%(name)s(sum == 0.0 ? 1.0 / (double)C : (double)pz_row_load_%(name)s(row[c]) * inv, c, label, ws);
		total += pz_xent_loss_%(name)s(sum, m, (double)pz_row_load_%(name)s(x[n * C + label]), w, C);
	}
	if (threadIdx.x == 0)
		partials[blockIdx.x] = total;
}

__global__ void cost_argmax_errors_rows_%(name)s(const %(s)s *x, const int *labels, double *partials, const long long N, const long long C)
{
	double total = 0.0;
	for (long long n = blockIdx.x; n < N; n += gridDim.x)
		total += pz_block_argmax_row_%(name)s(x + n * C, C) != labels[n] ? 1.0 : 0.0;
	if (threadIdx.x == 0)
		partials[blockIdx.x] = total;
}
"""

ELEMENTS_TEMPLATE = """\
__global__ void %(kernel)s(%(params)s, double *partials, const long long count, const double scale)
{
	const long long first = (long long)blockIdx.x * PZ_COST_SPAN + threadIdx.x;
	double total = 0.0;
	for (int j = 0; j < PZ_COST_SPAN / PZ_COST_BLOCK; j++) {
		const long long i = first + j * PZ_COST_BLOCK;
		if (i < count)
			total += %(routine)s(%(args)s);
	}
	pz_block_partial(total, partials);
}
"""

RANGE_TEMPLATE = """\
__global__ void cost_value_range_%(name)s(const %(t)s *t, double *partials, const long long count)
{
	const long long first = (long long)blockIdx.x * PZ_COST_SPAN + threadIdx.x;
	double range[2] = {INFINITY, -INFINITY};
	for (int j = 0; j < PZ_COST_SPAN / PZ_COST_BLOCK; j++) {
		const long long i = first + j * PZ_COST_BLOCK;
		if (i < count) {
			double one[2];
			pz_value_range_%(name)s(t, i, i + 1, one);
			range[0] = one[0] < range[0] || one[0] != one[0] ? one[0] : range[0];
			range[1] = one[1] > range[1] || one[1] != one[1] ? one[1] : range[1];
		}
	}
	pz_block_range(range[0], range[1], partials);
}
"""

# each kernel's prepare format, by its name without the dtype suffix
FORMATS = {
	"xent": "PPPPPqqqd", "argmax_errors": "PPPqqq", "xent_rows": "PPPPPqqd", "argmax_errors_rows": "PPPqq",
	"squared_error": "PPPPqd", "bce": "PPPPqd",
	"threshold_errors": "PPPqd", "value_range": "PPq",
}


def _elementKernel(kernel, routine, arrays, withScale):
	return ELEMENTS_TEMPLATE % dict(
		kernel=kernel, routine=routine,
		params=", ".join("%s%s *%s" % ("" if written else "const ", ctype, name) for ctype, name, written in arrays),
		args=", ".join([name for _, name, _ in arrays] + ["i"] + (["scale"] if withScale else [])),
	)


def costsSource(dtype):
	"""The cost kernels' module of a dtype (int32 labels' range in every one)."""
	dtype = np.dtype(dtype)
	name, s = SHORT_NAME[dtype], Source.STORAGE_CTYPE[dtype]
	load, store = Source._converters(dtype, COMPUTE_CTYPE[dtype])

	kernels = [ROWS_TEMPLATE % dict(name=name, s=s, row=_ROW), BLOCK_ROWS_TEMPLATE % dict(name=name, s=s)]
	kernels += [_elementKernel(*spec) for spec in CostRows.elementCosts(dtype, s, "int")]
	kernels += [RANGE_TEMPLATE % dict(name=name, t=s), RANGE_TEMPLATE % dict(name=CostRows.LABEL_SUFFIX, t="int")]

	routines = "\n".join([
		Rows.rowRoutines(dtype, s, load, store), CostRows.costRoutines(dtype, s, load, store),
		CostRows.labelRangeRoutine(), Source.blockRoutines(dtype), REDUCTIONS,
	])
	return Source.prelude(dtype) + routines + '\nextern "C" {\n\n%s\n} /* extern "C" */\n' % "\n".join(kernels)


def kernelNames(dtype):
	"""Every __global__ of a dtype's module, by (kernel, suffix)."""
	name = SHORT_NAME[np.dtype(dtype)]
	binary = CostRows.targetSuffixes(dtype)
	return (
		[("xent", name), ("argmax_errors", name), ("xent_rows", name), ("argmax_errors_rows", name), ("squared_error", name)] +
		[("value_range", name), ("value_range", CostRows.LABEL_SUFFIX)] +
		[(kernel, suffix) for kernel in ("bce", "threshold_errors") for suffix in binary]
	)
