"""C source of the CPU backend's cost kernels: Kernels/CostRows' routines in loops over blocks of
rows or elements, each block's share summed in a fixed order into one double partial, the blocks
shared out over the thread team: pure Python.

The team is handed the range of blocks (thread_pool.c's pz_parallel_units, a block a unit), so a
block is always run whole by one thread and each partial is the same whatever the team's size.
"""

import numpy as np

from PuzzleLib.Kernels import CostRows
from PuzzleLib.Kernels.Launch import SHORT_NAME


# a block is about this many elements: a partial per 64 KiB of float32
BLOCK_ELEMENTS = 1 << 14

RUN_BLOCKS = """\
/* runs fn over [0, blocks) blocks, on the team above PZ_PARALLEL_MIN elements */
static void pz_run_blocks(pz_range_fn fn, const void *args, int64_t blocks, int64_t elements)
{
	if (elements >= pz_parallel_min)
		pz_parallel_units(fn, args, blocks, 1, 1);
	else
		fn(args, 0, blocks);
}
"""

ROWS_TEMPLATE = """\
struct xent_args_%(name)s { const %(s)s *x; const int32_t *labels; const float *weights; %(s)s *g; double *partials;
	int64_t R, C, S, rowsPerBlock; double scale; };

static void xent_range_%(name)s(const void *argp, int64_t begin, int64_t end)
{
	const struct xent_args_%(name)s *a = argp;
	const int64_t C = a->C, S = a->S;
	for (int64_t k = begin; k < end; k++) {
		const int64_t first = k * a->rowsPerBlock, last = first + a->rowsPerBlock < a->R ? first + a->rowsPerBlock : a->R;
		double loss = 0.0;
		for (int64_t r = first; r < last; r++) {
			const int32_t label = a->labels[r];
			const double w = a->weights ? (double)a->weights[label] : 1.0;
			/* rows of a matrix (S == 1) get unit stride, so that the routines inline with it */
			if (S == 1)
				loss += pz_xent_row_%(name)s(a->x + r * C, a->g + r * C, label, w, a->scale, C, 1);
			else {
				const int64_t base = (r / S) * C * S + r %% S;
				loss += pz_xent_row_%(name)s(a->x + base, a->g + base, label, w, a->scale, C, S);
			}
		}
		a->partials[k] = loss;
	}
}

void cost_xent_%(name)s(const %(s)s *x, const int32_t *labels, const float *weights, %(s)s *g, double *partials,
                        int64_t N, int64_t C, int64_t S, int64_t rowsPerBlock, double scale)
{
	const struct xent_args_%(name)s a = { x, labels, weights, g, partials, N * S, C, S, rowsPerBlock, scale };
	pz_run_blocks(xent_range_%(name)s, &a, (N * S + rowsPerBlock - 1) / rowsPerBlock, N * C * S);
}

struct argmax_errors_args_%(name)s { const %(s)s *x; const int32_t *labels; double *partials; int64_t R, C, S, rowsPerBlock; };

static void argmax_errors_range_%(name)s(const void *argp, int64_t begin, int64_t end)
{
	const struct argmax_errors_args_%(name)s *a = argp;
	const int64_t C = a->C, S = a->S;
	for (int64_t k = begin; k < end; k++) {
		const int64_t first = k * a->rowsPerBlock, last = first + a->rowsPerBlock < a->R ? first + a->rowsPerBlock : a->R;
		double errors = 0.0;
		for (int64_t r = first; r < last; r++)
			errors += pz_argmax_error_row_%(name)s(a->x + (r / S) * C * S + r %% S, a->labels[r], C, S);
		a->partials[k] = errors;
	}
}

void cost_argmax_errors_%(name)s(const %(s)s *x, const int32_t *labels, double *partials,
                                 int64_t N, int64_t C, int64_t S, int64_t rowsPerBlock)
{
	const struct argmax_errors_args_%(name)s a = { x, labels, partials, N * S, C, S, rowsPerBlock };
	pz_run_blocks(argmax_errors_range_%(name)s, &a, (N * S + rowsPerBlock - 1) / rowsPerBlock, N * C * S);
}
"""

# an elementwise cost over blocks of BLOCK_ELEMENTS: %(routine)s(%(args)s) summed per block
ELEMENTS_TEMPLATE = """\
struct %(kernel)s_args { %(fields)s double *partials; int64_t count; double scale; };

static void %(kernel)s_range(const void *argp, int64_t begin, int64_t end)
{
	const struct %(kernel)s_args *a = argp;
	%(unpack)s
	const double scale = a->scale;
	for (int64_t k = begin; k < end; k++) {
		const int64_t first = k * %(block)d, last = first + %(block)d < a->count ? first + %(block)d : a->count;
		double total = 0.0;
		#pragma omp simd reduction(+:total)
		for (int64_t i = first; i < last; i++)
			total += %(routine)s(%(args)s);
		a->partials[k] = total;
	}
	(void)scale;
}

void %(kernel)s(%(params)s, double *partials, int64_t count, double scale)
{
	const struct %(kernel)s_args a = { %(names)s, partials, count, scale };
	pz_run_blocks(%(kernel)s_range, &a, (count + %(block)d - 1) / %(block)d, count);
}
"""

RANGE_KERNEL = """\
struct value_range_args_%(name)s { const %(t)s *t; double *partials; int64_t count; };

static void value_range_range_%(name)s(const void *argp, int64_t begin, int64_t end)
{
	const struct value_range_args_%(name)s *a = argp;
	for (int64_t k = begin; k < end; k++) {
		const int64_t first = k * %(block)d, last = first + %(block)d < a->count ? first + %(block)d : a->count;
		pz_value_range_%(name)s(a->t, first, last, a->partials + 2 * k);
	}
}

void cost_value_range_%(name)s(const %(t)s *t, double *partials, int64_t count)
{
	const struct value_range_args_%(name)s a = { t, partials, count };
	pz_run_blocks(value_range_range_%(name)s, &a, (count + %(block)d - 1) / %(block)d, count);
}
"""


def _elementKernel(kernel, routine, arrays, withScale):
	"""arrays: (C type, name, written) of the routine's pointer arguments, in order."""
	pointers = ["%s%s *%s" % ("" if written else "const ", ctype, name) for ctype, name, written in arrays]
	names = [name for _, name, _ in arrays]
	return ELEMENTS_TEMPLATE % dict(
		kernel=kernel, routine=routine, block=BLOCK_ELEMENTS,
		fields=" ".join(pointer + ";" for pointer in pointers), params=", ".join(pointers), names=", ".join(names),
		unpack=" ".join("%s = a->%s;" % (pointer, name) for pointer, name in zip(pointers, names)),
		args=", ".join(names + ["i"] + (["scale"] if withScale else [])),
	)


def costsSource(dtype, storage, load, store):
	"""The cost kernels of a dtype (after Rows' routines of the dtype and RUN_BLOCKS)."""
	name, s = SHORT_NAME[np.dtype(dtype)], storage
	parts = [CostRows.costRoutines(dtype, storage, load, store), ROWS_TEMPLATE % dict(name=name, s=s)]

	parts += [_elementKernel(*spec) for spec in CostRows.elementCosts(dtype, s, "int32_t")]
	parts.append(RANGE_KERNEL % dict(name=name, t=s, block=BLOCK_ELEMENTS))
	return "\n".join(parts)


def labelSource():
	"""What the cost kernels share across dtypes: the block runner, int32 labels' range."""
	return "\n".join([
		RUN_BLOCKS, CostRows.labelRangeRoutine(),
		RANGE_KERNEL % dict(name=CostRows.LABEL_SUFFIX, t="int32_t", block=BLOCK_ELEMENTS),
	])
