"""The elementwise table: every elementwise kernel of every backend, one entry each.

Activations (two entries each, see Activations.py), dropout's mask-and-scale, minimum and maximum,
and the optimizers' updates are all entries of this one table, in the language of Expression.py.
From each entry the backends generate `<name>Ker(dtype)` (Backend.Kernels.ElementWise): compiled
C on the CPU, CUDA C for pycuda, a numpy evaluation where no compiler is, and the tests compile
every CUDA kernel with nvcc.

To add an op, append an ElementwiseOp to ENTRIES (ElementwiseOp.py says how operands, params and
the formula are declared; e.g. `p += lr * g` is

    ElementwiseOp("toVectorAddVector", (Operand("y", INOUT), Operand("x", IN)), params=("alpha", ),
		formula=lambda m, y, x, alpha: y + alpha * x)

and Adam's three in-place outputs return a tuple), and give the tests its float64 reference.
"""

from PuzzleLib.Kernels.Activations import ACTIVATIONS, backwardOp, forwardOp
from PuzzleLib.Kernels.ElementwiseOp import IN, NORMAL, OUT, UNIFORM, ElementwiseOp, Operand
from PuzzleLib.Kernels.Updates import UPDATES


def _minimum(m, x, y):
	# numpy's rule: NaN in either gives NaN; on a tie (0 and -0) the second operand
	return m.select(m.isnan(x), x, m.select(x < y, x, y))


def _maximum(m, x, y):
	return m.select(m.isnan(x), x, m.select(x > y, x, y))


def _dropout(m, x, u, p, scale):
	# kept when u >= p, so P(kept) = 1 - p up to the 2^-24 grid of u; p = 0 keeps all with scale 1
	return m.select(u < p, 0, x * scale)


def _addVectorToVector(m, x, y, alpha, beta):
	# beta = 0 never reads y (NaN or inf there does not leak through), as BLAS's axpby
	scaled = alpha * x
	return m.select(beta == 0, scaled, scaled + beta * y)


def _dropRule(p, scale):
	return None if 0 <= p < 1 else "p must be in [0, 1), got %r" % p


ENTRIES = [op for spec in ACTIVATIONS.values() for op in (forwardOp(spec), backwardOp(spec))] + [
	ElementwiseOp("minimum", (Operand("out", OUT), Operand("x", IN), Operand("y", IN)), formula=_minimum),
	ElementwiseOp("maximum", (Operand("out", OUT), Operand("x", IN), Operand("y", IN)), formula=_maximum),

	# Blas.addVectorToVector (Blas.toVectorAddVector is the update entry of the same name)
	ElementwiseOp(
		"addVectorToVector", (Operand("out", OUT), Operand("x", IN), Operand("y", IN)),
		params=("alpha", "beta"), formula=_addVectorToVector
	),

	# out = x * scale where the element is kept, else 0; the same call with the same stream on the
	# gradient is the backward pass
	ElementwiseOp(
		"dropout", (Operand("out", OUT), Operand("x", IN), Operand("u", UNIFORM)),
		params=("p", "scale"), formula=_dropout, rule=_dropRule
	),

	# globalRng's fills: minval + (maxval - minval) u, and mean + sigma z
	ElementwiseOp(
		"fillUniform", (Operand("out", OUT), Operand("u", UNIFORM)), params=("minval", "maxval"),
		formula=lambda m, u, low, high: low + (high - low) * u
	),
	ElementwiseOp(
		"fillNormal", (Operand("out", OUT), Operand("z", NORMAL)), params=("mean", "sigma"),
		formula=lambda m, z, mean, sigma: mean + sigma * z
	),
] + UPDATES            # the optimizers' updates (Updates.py)

TABLE = {op.name: op for op in ENTRIES}
assert len(TABLE) == len(ENTRIES), "two entries share a name"
