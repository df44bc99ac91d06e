"""The costs' math (softmax cross-entropy, squared error, binary cross-entropy, error counts, label
range), as C routines over one row or one element, written once for the CPU and CUDA backends:
pure Python.

Every routine returns its share of the loss (or of the error count) as a double; each backend sums
the shares of a fixed block of rows or elements in a fixed order into one double partial, and the
host adds the partials exactly (math.fsum), so a total does not depend on the thread count.

Gradients are the NEGATIVE loss gradient (what the optimizers ascend on), each element computed in
double and rounded once on the store (float16 cross-entropy rounds the stored exp once more, as
the SoftMax kernel does).

Cross-entropy of a row (scores x over C classes, label l, class weight w):
	loss = w (log sum_c exp(x_c - m) - (x_l - m)),  m = max_c x_c
	grad_c = w scale ([c == l] - softmax(x)_c)
Its exps and their sum are Kernels/Rows' row routine (pz_softmax_exps_row), so its rows behave as
the SoftMax module's (whose CPU kernel sums rows of up to 32 in another fixed order, and rounds the
probabilities in the compute type where this takes them in double): a row of -inf only is the
uniform distribution (loss log C), a NaN or +inf makes the row's loss and gradient NaN, and a -inf
at the label gives an infinite loss.

Binary cross-entropy of a logit x against a target t in [0, 1], in the stable softplus form:
	loss = max(x, 0) - t x + log1p(exp(-|x|)),   grad = scale (t - sigmoid(x))
"""

import numpy as np

from PuzzleLib.Kernels.Rows import SHORT_NAME


# the targets a binary cost takes beside the scores' own dtype: int32 labels
LABEL_SUFFIX = "i32"

TEMPLATE = """\
/* the gradient of entry c of a row with probability p, ws being the weight times the scale */
PZ_INLINE %(storage)s pz_xent_grad_%(name)s(double p, int64_t c, int32_t label, double ws)
{
	return %(store_grad)s;
}

/* a row's loss from its exps' sum and shift m, and its label's score xl; a sum of 0 is a row of
   only -inf entries, the uniform distribution (as softmax) */
PZ_INLINE double pz_xent_loss_%(name)s(double sum, double m, double xl, double w, int64_t C)
{
	return sum == 0.0 ? w * log((double)C) : w * (log(sum) - (xl - m));
}

/* cross-entropy of one row (C elements at stride S) against its label, with the gradient */
PZ_INLINE double pz_xent_row_%(name)s(const %(storage)s *x, %(storage)s *g, int32_t label, double w, double scale,
                                      int64_t C, int64_t S)
{
	/* softmax's exps (Rows' routine), kept in g */
	double m = 0.0;
	const double sum = pz_softmax_exps_row_%(name)s(x, g, C, S, &m);
	const double ws = w * scale;

	if (sum == 0.0) {
		for (int64_t c = 0; c < C; c++)
			g[c * S] = pz_xent_grad_%(name)s(1.0 / (double)C, c, label, ws);
	} else {
		const double inv = 1.0 / sum;
		#pragma omp simd
		for (int64_t c = 0; c < C; c++)
			g[c * S] = pz_xent_grad_%(name)s((double)pz_row_load_%(name)s(g[c * S]) * inv, c, label, ws);
	}
	return pz_xent_loss_%(name)s(sum, m, (double)pz_row_load_%(name)s(x[(int64_t)label * S]), w, C);
}

/* 1 where the row's first maximum is not the label */
PZ_INLINE double pz_argmax_error_row_%(name)s(const %(storage)s *x, int32_t label, int64_t C, int64_t S)
{
	return pz_argmax_row_%(name)s(x, C, S) != label ? 1.0 : 0.0;
}

/* (t - p)^2 / 2 of element i, with grad = scale (t - p) */
PZ_INLINE double pz_squared_error_%(name)s(const %(storage)s *p, const %(storage)s *t, %(storage)s *g, int64_t i, double scale)
{
	const double d = (double)%(load_t)s - (double)%(load_p)s;
	g[i] = %(store_diff)s;
	return 0.5 * d * d;
}
"""

BINARY_TEMPLATE = """\
/* binary cross-entropy of logit i against target i (%(target)s), with grad = scale (t - sigmoid(x)) */
PZ_INLINE double pz_bce_%(name)s(const %(storage)s *x, const %(target)s *t, %(storage)s *g, int64_t i, double scale)
{
	const double v = (double)%(load_x)s, target = (double)%(load_t)s;
	const double e = pz_exp(-fabs(v));                 /* in (0, 1]: never overflows */
	const double sigmoid = (v >= 0.0 ? 1.0 : e) / (1.0 + e);
	g[i] = %(store_bce)s;
	return (v > 0.0 ? v : 0.0) - target * v + log1p(e);
}

/* 1 where logit i falls on the wrong side of 0 for its 0/1 target */
PZ_INLINE double pz_threshold_error_%(name)s(const %(storage)s *x, const %(target)s *t, int64_t i)
{
	return ((double)%(load_x)s > 0.0) != ((double)%(load_t)s > 0.5) ? 1.0 : 0.0;
}
"""

RANGE_TEMPLATE = """\
/* the least and greatest of values [begin, end) into range[0], range[1], as doubles; a NaN wins */
PZ_INLINE void pz_value_range_%(name)s(const %(target)s *t, int64_t begin, int64_t end, double *range)
{
	double low = INFINITY, high = -INFINITY;
	for (int64_t i = begin; i < end; i++) {
		const double v = (double)%(load_t)s;
		low = v < low || v != v ? v : low;
		high = v > high || v != v ? v : high;
	}
	range[0] = low;
	range[1] = high;
}
"""


def targetSuffixes(dtype):
	"""The suffixes of a dtype's binary-cost routines: its own name (float targets), then int32's."""
	return (SHORT_NAME[np.dtype(dtype)], "%s_%s" % (SHORT_NAME[np.dtype(dtype)], LABEL_SUFFIX))


def kernelSuffix(dtype, target=None):
	"""The suffix of a cost kernel over scores of dtype: int32 targets have kernels of their own."""
	own, labelled = targetSuffixes(dtype)
	return labelled if target is not None and np.dtype(target) == np.int32 else own


def rangeSuffix(dtype):
	"""The suffix of the value-range kernel of an array of dtype (int32 labels have their own)."""
	return LABEL_SUFFIX if np.dtype(dtype) == np.int32 else SHORT_NAME[np.dtype(dtype)]


def costRoutines(dtype, storage, load, store):
	"""The C routines for dtype stored as the C type storage (after Kernels/Rows' routines of the
	same dtype); load(expr) widens a stored element to the compute type, store(expr) narrows a
	double back to storage."""
	dtype = np.dtype(dtype)
	name = SHORT_NAME[dtype]
	ctype = "double" if dtype == np.float64 else "float"

	rows = TEMPLATE % dict(
		name=name, storage=storage, ctype=ctype,
		load_t=load("t[i]"), load_p=load("p[i]"),
		store_grad=store("(%s)(ws * ((c == label ? 1.0 : 0.0) - p))" % ctype),
		store_diff=store("(%s)(scale * d)" % ctype),
	)

	binaries = []
	for suffix, target, loadTarget in (
		(name, storage, load("t[i]")),
		("%s_%s" % (name, LABEL_SUFFIX), "int32_t", "t[i]"),
	):
		binaries.append(BINARY_TEMPLATE % dict(
			name=suffix, storage=storage, target=target, load_x=load("x[i]"), load_t=loadTarget,
			store_bce=store("(%s)(scale * (target - sigmoid))" % ctype),
		))

	return "\n".join([rows] + binaries + [RANGE_TEMPLATE % dict(name=name, target=storage, load_t=load("t[i]"))])


def labelRangeRoutine():
	"""The value range of int32 labels (once per source, not per dtype)."""
	return RANGE_TEMPLATE % dict(name=LABEL_SUFFIX, target="int32_t", load_t="t[i]")


def elementCosts(dtype, storage, labelType):
	"""(kernel name, routine, [(C type, operand, written?)], takes a scale?) of each elementwise cost
	of a dtype, for the backends' loops; labelType is the backend's C type of int32 targets."""
	name = SHORT_NAME[np.dtype(dtype)]
	specs = [(
		"cost_squared_error_%s" % name, "pz_squared_error_%s" % name,
		[(storage, "p", False), (storage, "t", False), (storage, "g", True)], True
	)]
	for suffix, target in zip(targetSuffixes(dtype), (storage, labelType)):
		specs.append((
			"cost_bce_%s" % suffix, "pz_bce_%s" % suffix, [(storage, "x", False), (target, "t", False), (storage, "g", True)], True
		))
		specs.append((
			"cost_threshold_errors_%s" % suffix, "pz_threshold_error_%s" % suffix, [(storage, "x", False), (target, "t", False)], False
		))
	return specs
