"""The row kernels' math (softmax forward and backward, argmax, adding a vector along an axis), as C
routines over one row, written once for the CPU and CUDA backends: pure Python.

A tensor is seen as (N, C, S): C elements along the axis, S the product of the axes after it, so a
row (n, s) is C elements at stride S starting at n C S + s. Each backend wraps these routines in its
loop over rows (on the calling thread on the CPU, a thread per row on CUDA).

Softmax is max-subtracted, its sum accumulated in double for every dtype. For float16 and float32
the exp of x - max is taken in float arithmetic to within 1 ulp of the exact difference's
(pz_expf_difference: the difference carried exactly as a pair of floats) and stored, the stored
exps summed four at a time in float and those partial sums in double, and each exp scaled by the
float 1 / sum, so a float32 result is within ~4 ulp of the exact one for rows of any length and
magnitude. Float16 rows of a matrix are rounded once: the CPU runs them through float32's
routines on a float buffer (CPU/Source.py), CUDA scales the exps taken again
(pz_softmax_scaled_exp); elsewhere float16 exps are rounded once more, on their store. Float64 takes exp (pz_exp) of the double difference. A row whose entries
are all -inf (no mass anywhere) gives the uniform 1/C; a NaN or +inf entry makes its row NaN.
Backward is y (g - sum_c g y) with the sum in double.
"""

import numpy as np


SHORT_NAME = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}

# per dtype: (the compute type, the exp of x - m for an entry x and its row's finite maximum m)
_EXP = {
	np.dtype(np.float16): ("float", "pz_expf_difference(%s, m)"),
	np.dtype(np.float32): ("float", "pz_expf_difference(%s, m)"),
	np.dtype(np.float64): ("double", "pz_exp(%s - m)"),
}

ELEMENTS = """\
/* {{{ one element of a row of %(C)s: the math every backend's row loops are made of */

/* an entry widened to the compute type: what maxima, sums and argmax compare */
PZ_INLINE %(ctype)s pz_row_load_%(name)s(%(storage)s v)
{
	return %(load_v)s;
}

/* the larger of a running maximum and an entry; a NaN sticks, so that a row with one is NaN even
   where every other entry is -inf (a select: loops of it vectorize) */
PZ_INLINE %(ctype)s pz_row_max_%(name)s(%(ctype)s top, %(ctype)s v)
{
	return (v > top || v != v) ? v : top;
}

/* exp(x - m) in the compute type, for an entry x of a row whose maximum m is finite (a row with a
   NaN or +inf is NaN without it), to the dtype's accuracy for the exact difference */
PZ_INLINE %(ctype)s pz_softmax_exp_value_%(name)s(%(storage)s x, %(ctype)s m)
{
	return %(exp_value)s;
}

/* pz_softmax_exp_value, stored */
PZ_INLINE %(storage)s pz_softmax_exp_%(name)s(%(storage)s x, %(ctype)s m)
{
	return %(store_exp)s;
}

/* pz_softmax_exp_value scaled by its row's 1 / sum, stored: rounded once into the dtype */
PZ_INLINE %(storage)s pz_softmax_scaled_exp_%(name)s(%(storage)s x, %(ctype)s m, %(ctype)s inv)
{
	return %(store_scaled_exp)s;
}

/* a stored exp scaled by its row's 1 / sum */
PZ_INLINE %(storage)s pz_softmax_scale_%(name)s(%(storage)s e, %(ctype)s inv)
{
	return %(store_scaled)s;
}

/* an entry of a row with a NaN or +inf entry */
PZ_INLINE %(storage)s pz_softmax_nan_%(name)s(void)
{
	return %(store_nan)s;
}

/* every entry of a row of C is -inf (no mass anywhere): the uniform distribution */
PZ_INLINE %(storage)s pz_softmax_uniform_%(name)s(int64_t C)
{
	return %(store_uniform)s;
}

/* dx = y (g - dot), dot being the row's sum of g y */
PZ_INLINE %(storage)s pz_softmax_backward_element_%(name)s(%(storage)s y, %(storage)s g, double dot)
{
	return %(store_dx)s;
}

/* whether entry v at index c beats the best so far, top at index best: a NaN is the maximum (as in
   numpy), and of equals (NaNs included) the lower index wins, whatever order candidates meet in */
PZ_INLINE int pz_argmax_wins_%(name)s(%(ctype)s v, int64_t c, %(ctype)s top, int64_t best)
{
	const int vnan = v != v, topnan = top != top;
	return vnan ? (!topnan || c < best) : (!topnan && (v > top || (v == top && c < best)));
}

/* out[i] = mat[i] + vec[c] */
PZ_INLINE void pz_add_vec_element_%(name)s(const %(storage)s *vec, const %(storage)s *mat, %(storage)s *out, int64_t i, int64_t c)
{
	out[i] = %(store_add)s;
}

/* }}} */
"""

ROW_ROUTINES = """\
/* {{{ one row of %(C)s by one thread: C elements at stride S, each loop in a fixed order, so a
   row's result is the same whichever thread computes it */

/* The maximum of a row's entries; NaN entries are skipped (the exps' sum finds them) */
PZ_INLINE %(ctype)s pz_softmax_max_%(name)s(const %(storage)s *x, int64_t C, int64_t S)
{
	%(ctype)s top = -INFINITY;
	#pragma omp simd reduction(max:top)
	for (int64_t c = 0; c < C; c++) {
		const %(ctype)s v = pz_row_load_%(name)s(x[c * S]);
		top = v > top ? v : top;
	}
	return top;
}

/* The exps of a row's entries shifted by its finite maximum m, stored into y, and their sum:
   PZ_SUM_LANES lanes each add PZ_SUM_DEPTH consecutive groups' exps in the compute type (entries
   c0 + l, c0 + l + PZ_SUM_LANES, ...: a vector's lanes), then into a double of their own; the
   entries after the last whole block in a double of their own; the doubles added in one order.
   A float32 lane rounds 3 times per block, within 2^-22 of the block's exact sum. The order is a
   function of C alone. A NaN entry's exp is NaN: so is the sum.

   With next not NULL, also the maximum of the row at next into *nextTop (pz_softmax_max's): a row
   to come is read among this one's arithmetic, instead of alone after it. (Without, the loop reads
   this row twice instead: one loop, vectorized whatever next is.) Float16 takes it after the
   exps: with the conversion of its entries in this loop, gcc vectorizes the maximum's select no
   more. */
#define PZ_SUM_LANES 8
#define PZ_SUM_DEPTH 4
#define PZ_SOFTMAX_LOOKAHEAD_%(name)s %(lookahead)d

PZ_INLINE double pz_softmax_exps_sum_%(name)s(const %(storage)s *x, %(storage)s *y, int64_t C, int64_t S, %(ctype)s m,
                                             const %(storage)s *next, %(ctype)s *nextTop)
{
	double lanes[PZ_SUM_LANES] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
	%(ctype)s tops[PZ_SUM_LANES] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY};
	const %(storage)s *ahead = next ? next : x;
	int64_t c0 = 0;
	for (; c0 + PZ_SUM_LANES * PZ_SUM_DEPTH <= C; c0 += PZ_SUM_LANES * PZ_SUM_DEPTH) {
		#pragma omp simd
		for (int l = 0; l < PZ_SUM_LANES; l++) {
			%(ctype)s part = 0;
			for (int j = 0; j < PZ_SUM_DEPTH; j++) {
				const int64_t c = c0 + j * PZ_SUM_LANES + l;
				if (PZ_SOFTMAX_LOOKAHEAD_%(name)s) {
					const %(ctype)s v = pz_row_load_%(name)s(ahead[c * S]);
					tops[l] = v > tops[l] ? v : tops[l];
				}
				const %(storage)s e = pz_softmax_exp_%(name)s(x[c * S], m);
				y[c * S] = e;
				part += pz_row_load_%(name)s(e);
			}
			lanes[l] += (double)part;
		}
	}

	double rest = 0.0;
	#pragma omp simd reduction(+:rest)
	for (int64_t c = c0; c < C; c++) {
		const %(storage)s e = pz_softmax_exp_%(name)s(x[c * S], m);
		y[c * S] = e;
		rest += (double)pz_row_load_%(name)s(e);
	}

	if (next) {
		const int64_t seen = PZ_SOFTMAX_LOOKAHEAD_%(name)s ? c0 : 0;
		%(ctype)s top = pz_softmax_max_%(name)s(next + seen * S, C - seen, S);
		for (int l = 0; l < PZ_SUM_LANES; l++)
			top = tops[l] > top ? tops[l] : top;
		*nextTop = top;
	}
	return (((lanes[0] + lanes[1]) + (lanes[2] + lanes[3])) + ((lanes[4] + lanes[5]) + (lanes[6] + lanes[7]))) + rest;
}

/* The exps of a row's entries shifted by its maximum top (pz_softmax_max), stored into y, and their
   sum (pz_softmax_exps_sum, with its look at next). Returns the sum and sets *m to the shift; a row
   of only -inf entries has no mass: the sum is 0 and y is untouched; a row with a NaN or +inf
   entry is NaN: y, the sum and *m. Each entry of y is written after its x is read (y == x
   allowed). */
PZ_INLINE double pz_softmax_exps_from_%(name)s(const %(storage)s *x, %(storage)s *y, int64_t C, int64_t S, %(ctype)s top,
                                              double *m, const %(storage)s *next, %(ctype)s *nextTop)
{
	double sum = (double)NAN;
	if (top == -INFINITY || top == INFINITY) {
		if (next)
			*nextTop = pz_softmax_max_%(name)s(next, C, S);
		int nan = top == INFINITY;   /* only -inf entries: no mass, unless a NaN hides among them */
		for (int64_t c = 0; c < C && !nan; c++)
			nan |= pz_row_load_%(name)s(x[c * S]) != pz_row_load_%(name)s(x[c * S]);
		if (!nan)
			return 0.0;
	} else
		sum = pz_softmax_exps_sum_%(name)s(x, y, C, S, top, next, nextTop);

	if (sum != sum) {
		for (int64_t c = 0; c < C; c++)
			y[c * S] = pz_softmax_nan_%(name)s();
		*m = (double)NAN;
		return (double)NAN;
	}
	*m = (double)top;
	return sum;
}

/* pz_softmax_exps_from of a row with its own maximum: two passes over x */
PZ_INLINE double pz_softmax_exps_row_%(name)s(const %(storage)s *x, %(storage)s *y, int64_t C, int64_t S, double *m)
{
	return pz_softmax_exps_from_%(name)s(x, y, C, S, pz_softmax_max_%(name)s(x, C, S), m, NULL, NULL);
}

/* softmax of a row whose maximum is top: its exps, then y scaled in place; a row without mass is
   the uniform 1/C. next, nextTop: as pz_softmax_exps_sum (*nextTop set whenever next is not NULL) */
PZ_INLINE void pz_softmax_row_from_%(name)s(const %(storage)s *x, %(storage)s *y, int64_t C, int64_t S, %(ctype)s top,
                                           const %(storage)s *next, %(ctype)s *nextTop)
{
	double m = 0.0;
	const double sum = pz_softmax_exps_from_%(name)s(x, y, C, S, top, &m, next, nextTop);
	if (sum == 0.0) {
		for (int64_t c = 0; c < C; c++)
			y[c * S] = pz_softmax_uniform_%(name)s(C);
		return;
	}
	if (sum != sum)                     /* y is NaN already */
		return;

	const %(ctype)s inv = (%(ctype)s)(1.0 / sum);
	#pragma omp simd
	for (int64_t c = 0; c < C; c++)
		y[c * S] = pz_softmax_scale_%(name)s(y[c * S], inv);
}

/* softmax of a row: its maximum, its exps, y scaled in place */
PZ_INLINE void pz_softmax_row_%(name)s(const %(storage)s *x, %(storage)s *y, int64_t C, int64_t S)
{
	pz_softmax_row_from_%(name)s(x, y, C, S, pz_softmax_max_%(name)s(x, C, S), NULL, NULL);
}

PZ_INLINE void pz_softmax_backward_row_%(name)s(const %(storage)s *y, const %(storage)s *g, %(storage)s *dx, int64_t C, int64_t S)
{
	double dots[4] = {0.0, 0.0, 0.0, 0.0};
	int64_t c4 = 0;
	for (; c4 + 4 <= C; c4 += 4)
		for (int k = 0; k < 4; k++) {
			const int64_t c = c4 + k;
			dots[k] += (double)pz_row_load_%(name)s(g[c * S]) * (double)pz_row_load_%(name)s(y[c * S]);
		}
	for (int64_t c = c4; c < C; c++)
		dots[0] += (double)pz_row_load_%(name)s(g[c * S]) * (double)pz_row_load_%(name)s(y[c * S]);
	const double dot = (dots[0] + dots[1]) + (dots[2] + dots[3]);

	for (int64_t c = 0; c < C; c++)
		dx[c * S] = pz_softmax_backward_element_%(name)s(y[c * S], g[c * S], dot);
}

PZ_INLINE int32_t pz_argmax_row_%(name)s(const %(storage)s *x, int64_t C, int64_t S)
{
	int64_t best = 0;
	%(ctype)s top = pz_row_load_%(name)s(x[0]);
	for (int64_t c = 1; c < C; c++) {
		const %(ctype)s v = pz_row_load_%(name)s(x[c * S]);
		if (pz_argmax_wins_%(name)s(v, c, top, best)) {
			best = c;
			top = v;
		}
	}
	return (int32_t)best;
}

/* }}} */
"""


def _fields(dtype, storage, load, store):
	dtype = np.dtype(dtype)
	ctype, exp = _EXP[dtype]
	return dict(
		C=dtype.name, name=SHORT_NAME[dtype], storage=storage, ctype=ctype, load_v=load("v"),
		lookahead=int(dtype != np.float16),
		exp_value=exp % load("x"),
		store_exp=store("pz_softmax_exp_value_%s(x, m)" % SHORT_NAME[dtype]),
		store_scaled_exp=store("pz_softmax_exp_value_%s(x, m) * inv" % SHORT_NAME[dtype]),
		store_scaled=store("%s * inv" % load("e")),
		store_nan=store("(%s)NAN" % ctype),
		store_uniform=store("(%s)(1.0 / (double)C)" % ctype),
		store_dx=store("(%s)((double)%s * ((double)%s - dot))" % (ctype, load("y"), load("g"))),
		store_add=store("(%s)(%s + %s)" % (ctype, load("mat[i]"), load("vec[c]"))),
	)


def elementRoutines(dtype, storage, load, store):
	"""The per-element C routines for dtype stored as the C type storage; load(expr) widens a stored
	element to the compute type, store(expr) narrows a compute-type value (float for float16 and
	float32, double for float64) back to storage."""
	return ELEMENTS % _fields(dtype, storage, load, store)


def rowRoutines(dtype, storage, load, store):
	"""The element routines and the one-thread row routines built from them (as elementRoutines)."""
	fields = _fields(dtype, storage, load, store)
	return ELEMENTS % fields + "\n" + ROW_ROUTINES % fields
