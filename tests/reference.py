"""Independent references: each activation written plainly in wide floats (float64, or long
double for float64 inputs), and the ulp-based comparison every accuracy test uses.

Parameters are first rounded to the precision the kernels compute in (float32 for float16 and
float32 data, float64 for float64), as a kernel receives them; the rest is exact math.
"""

import numpy as np


def wideType(dtype):
	return np.longdouble if np.dtype(dtype) == np.float64 else np.float64


def computeType(dtype):
	return np.float64 if np.dtype(dtype) == np.float64 else np.float32


def roundedArgs(args, dtype):
	return tuple(wideType(dtype)(computeType(dtype)(arg)) for arg in args)


def _leakyRelu(x, alpha):
	if alpha == 0:
		return np.maximum(x, 0)
	return np.where(x >= 0, x, alpha * x)


FORWARD = {
	"sigmoid": lambda x: 1 / (1 + np.exp(-x)),
	"tanh": np.tanh,
	"relu": lambda x: np.maximum(x, 0),
	"leakyRelu": _leakyRelu,
	"elu": lambda x, alpha: np.where(x >= 0, x, alpha * np.expm1(x)),
	"softPlus": lambda x: np.logaddexp(0, x),
	"clip": lambda x, low, high: np.clip(x, low, high),
}

# f'(y) from the output y, as the documentation states them
DERIVATIVE = {
	"sigmoid": lambda y: y * (1 - y),
	"tanh": lambda y: 1 - y * y,
	"relu": lambda y: np.where(y > 0, 1.0, 0.0),
	"leakyRelu": lambda y, alpha: np.where(y > 0, 1.0, alpha),
	"elu": lambda y, alpha: np.where(y > 0, 1.0, y + alpha),
	"softPlus": lambda y: 1 - np.exp(-y),
	"clip": lambda y, low, high: np.where((low < y) & (y < high), 1.0, 0.0),
}


def forward(name, x, args=()):
	"""f(x) in wide precision for x of any float dtype."""
	wide = wideType(x.dtype)
	with np.errstate(all="ignore"):
		return np.asarray(FORWARD[name](x.astype(wide), *roundedArgs(args, x.dtype)), dtype=wide)


def backward(name, dy, y, args=()):
	"""dy * f'(y) in wide precision; f'(NaN) is NaN."""
	wide, args = wideType(y.dtype), roundedArgs(args, y.dtype)
	y, dy = y.astype(wide), dy.astype(wide)
	with np.errstate(all="ignore"):
		derivative = np.asarray(DERIVATIVE[name](y, *args), dtype=wide)
		if name == "softPlus":
			# 1 - exp(-y) cancels in wide floats too for tiny y; expm1 is its exact spelling
			derivative = -np.expm1(-y)
		if name == "tanh":
			# 1 - y*y cancels in long double too for float64 y near +-1 (y*y needs 106 bits);
			# factored, 1 - y and 1 + y are exact and the product is rounded once
			derivative = (1 - y) * (1 + y)
		derivative = np.where(np.isnan(y), np.nan, derivative)
		return dy * derivative


ULP_BOUND = {np.dtype(np.float32): 4.0, np.dtype(np.float16): 1.0, np.dtype(np.float64): 4.0}


def ulpError(got, ref):
	"""|got - ref| in units of the last place of got's dtype at ref.

	Below the smallest normal the unit is the subnormal spacing, so tiny outputs are judged
	absolutely. Equal non-finite values (same inf, or both NaN) count as 0; any other mismatch in
	finiteness or NaN-ness is inf.
	"""
	dtype = got.dtype
	info = np.finfo(dtype)
	wide = ref.dtype.type

	with np.errstate(all="ignore"):          # signaling NaNs among the inputs make casts "invalid"
		got_w = got.astype(wide)
		magnitude = np.abs(ref)
		clamped = np.minimum(magnitude, wide(info.max))
		exponent = np.floor(np.log2(np.maximum(clamped, wide(info.tiny))))
		unit = np.exp2(exponent - info.nmant).astype(wide)
		err = np.abs(got_w - ref) / unit

		# a reference beyond the dtype's range rounds to inf: an inf of the same sign is exact
		overflow = magnitude > wide(info.max)
		err = np.where(overflow & np.isinf(got_w) & (np.sign(got_w) == np.sign(ref)), 0, err)

		bothNan = np.isnan(got_w) & np.isnan(ref)
		sameInf = np.isinf(got_w) & np.isinf(ref) & (got_w == ref)
		err = np.where(bothNan | sameInf, 0, err)
		err = np.where(np.isnan(err), np.inf, err)

	return np.asarray(err, dtype=np.float64)


def assertClose(got, ref, context="", bound=None):
	bound = ULP_BOUND[np.dtype(got.dtype)] if bound is None else bound
	err = ulpError(got, ref)
	if err.size and err.max() > bound:
		worst = int(np.argmax(err))
		raise AssertionError("%s: %.3g ulp > %s at flat index %d: got %r, reference %r (%d elements over)" % (
			context, err.max(), bound, worst, got.ravel()[worst], ref.ravel()[worst], int((err > bound).sum())
		))


# --- products: the standard error bound of a dot product ---------------------------------------

UNIT_ROUNDOFF = {np.dtype(np.float16): 2.0**-11, np.dtype(np.float32): 2.0**-24, np.dtype(np.float64): 2.0**-53}


def gamma(n, dtype):
	"""gamma_n = n u / (1 - n u), u the unit roundoff of dtype's compute type (float32 for float16)."""
	u = UNIT_ROUNDOFF[np.dtype(computeType(dtype))]
	return n * u / (1 - n * u)


def assertProductClose(got, ref, magnitude, terms, dtype, context=""):
	"""|got - ref| <= gamma_terms * magnitude (+ one rounding to dtype for float16), elementwise.

	ref is the exact result in float64 from the same (already rounded) operands, magnitude the
	same computation on their absolute values: for a sum of `terms` products accumulated in the
	compute type, this is the standard bound (Higham, Accuracy and Stability, 3.1) every BLAS meets.
	"""
	got, ref, magnitude = (np.asarray(a, dtype=np.float64) for a in (got, ref, magnitude))
	bound = gamma(terms, dtype) * magnitude
	if np.dtype(dtype) == np.float16:
		bound += UNIT_ROUNDOFF[np.dtype(np.float16)] * (np.abs(ref) + bound)

	err = np.abs(got - ref)
	bad = ~(err <= bound)
	if bad.any():
		i = np.flatnonzero(bad.ravel())[0]
		raise AssertionError("%s: %d element(s) out of bound, first at %d: got %r, expected %r, bound %r" % (
			context, bad.sum(), i, got.ravel()[i], ref.ravel()[i], bound.ravel()[i]
		))
