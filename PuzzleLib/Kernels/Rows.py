"""The row kernels' math (softmax forward and backward, argmax, adding a vector along an axis), as C
routines over one row, written once for the CPU and CUDA backends: pure Python.

A tensor is seen as (N, C, S): C elements along the axis, S the product of the axes after it, so a
row (n, s) is C elements at stride S starting at n C S + s. Each backend wraps these routines in its
loop over rows (on the calling thread on the CPU, a thread per row on CUDA).

Softmax is max-subtracted and accumulated in double for every dtype: the difference x - max is
formed in double (exact for float inputs), its exp taken to float accuracy (pz_expf_wide) and
stored, the sum kept in double, so a float32 result is within ~2 ulp of the exact one for rows of
any length and magnitude; float16 results are rounded once more, on the exp's store. A row whose entries are all -inf (no mass anywhere) gives the uniform 1/C; a NaN or +inf
entry makes its row NaN. Backward is y (g - sum_c g y) with the sum in double.
"""

import numpy as np


SHORT_NAME = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}

# per dtype: (the C type of the exp of a shifted entry, that exp of the double difference d)
_EXP = {
	np.dtype(np.float16): ("float", "pz_expf_wide(%s)"),
	np.dtype(np.float32): ("float", "pz_expf_wide(%s)"),
	np.dtype(np.float64): ("double", "pz_exp(%s)"),
}

TEMPLATE = """\
/* softmax of one row of %(C)s: C elements at stride S. The exps are stored into y first (a loop
   that vectorizes), summed in double in a fixed order, then scaled in place: y is read back as
   written, so the kernel may run in place (y == x). */
PZ_INLINE void pz_softmax_row_%(name)s(const %(storage)s *x, %(storage)s *y, int64_t C, int64_t S)
{
	/* four running maxima and four partial sums, combined in a fixed order: loops a compiler can
	   vectorize, and the same result for a row wherever it is computed */
	%(ctype)s tops[4] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY};
	int64_t c4 = 0;
	for (; c4 + 4 <= C; c4 += 4)
		for (int k = 0; k < 4; k++) {
			const int64_t c = c4 + k;
			const %(ctype)s v = %(load_x)s;
			tops[k] = v > tops[k] ? v : tops[k];
		}
	for (int64_t c = c4; c < C; c++) {
		const %(ctype)s v = %(load_x)s;
		tops[0] = v > tops[0] ? v : tops[0];
	}
	%(ctype)s top = tops[0] > tops[1] ? tops[0] : tops[1];
	top = tops[2] > top ? tops[2] : top;
	top = tops[3] > top ? tops[3] : top;

	if (top == -INFINITY) {             /* every entry -inf: the uniform distribution */
		for (int64_t c = 0; c < C; c++)
			y[c * S] = %(store_uniform)s;
		return;
	}

	const double m = (double)top;
	for (int64_t c = 0; c < C; c++)
		y[c * S] = %(store_exp)s;

	double sums[4] = {0.0, 0.0, 0.0, 0.0};
	for (c4 = 0; c4 + 4 <= C; c4 += 4)
		for (int k = 0; k < 4; k++) {
			const int64_t c = c4 + k;
			sums[k] += (double)%(load_y)s;
		}
	for (int64_t c = c4; c < C; c++)
		sums[0] += (double)%(load_y)s;
	const double sum = (sums[0] + sums[1]) + (sums[2] + sums[3]);

	const double inv = 1.0 / sum;
	for (int64_t c = 0; c < C; c++)
		y[c * S] = %(store_y)s;
}

/* dx = y (g - sum_c g y) over one row */
PZ_INLINE void pz_softmax_backward_row_%(name)s(const %(storage)s *y, const %(storage)s *g, %(storage)s *dx, int64_t C, int64_t S)
{
	double dots[4] = {0.0, 0.0, 0.0, 0.0};
	int64_t c4 = 0;
	for (; c4 + 4 <= C; c4 += 4)
		for (int k = 0; k < 4; k++) {
			const int64_t c = c4 + k;
			dots[k] += (double)%(load_g)s * (double)%(load_y)s;
		}
	for (int64_t c = c4; c < C; c++)
		dots[0] += (double)%(load_g)s * (double)%(load_y)s;
	const double dot = (dots[0] + dots[1]) + (dots[2] + dots[3]);

	for (int64_t c = 0; c < C; c++)
		dx[c * S] = %(store_dx)s;
}

/* the index of the row's first maximum; a NaN is the maximum, as in numpy */
PZ_INLINE int32_t pz_argmax_row_%(name)s(const %(storage)s *x, int64_t C, int64_t S)
{
	int32_t best = 0;
	%(ctype)s top = %(load_x0)s;
	for (int64_t c = 1; c < C; c++) {
		const %(ctype)s v = %(load_x)s;
		if (v > top || (v != v && top == top)) {
			best = (int32_t)c;
			top = v;
		}
	}
	return best;
}

/* out[i] = mat[i] + vec[c] */
PZ_INLINE void pz_add_vec_element_%(name)s(const %(storage)s *vec, const %(storage)s *mat, %(storage)s *out, int64_t i, int64_t c)
{
	out[i] = %(store_add)s;
}
"""


def rowRoutines(dtype, storage, load, store):
	"""The C routines for dtype stored as the C type storage; load(expr) widens a stored element to
	the compute type, store(expr) narrows a compute-type value (float for float16 and float32, double
	for float64) back to storage."""
	dtype = np.dtype(dtype)
	ctype, exp = _EXP[dtype]
	return TEMPLATE % dict(
		C=dtype.name, name=SHORT_NAME[dtype], storage=storage, ctype=ctype,
		load_x=load("x[c * S]"), load_x0=load("x[0]"), load_g=load("g[c * S]"), load_y=load("y[c * S]"),
		store_uniform=store("(%s)(1.0 / (double)C)" % ctype),
		store_exp=store(exp % ("(double)%s - m" % load("x[c * S]"))),
		store_y=store("(%s)((double)%s * inv)" % (ctype, load("y[c * S]"))),
		store_dx=store("(%s)((double)%s * ((double)%s - dot))" % (ctype, load("y[c * S]"), load("g[c * S]"))),
		store_add=store("(%s)(%s + %s)" % (ctype, load("mat[i]"), load("vec[c]"))),
	)
