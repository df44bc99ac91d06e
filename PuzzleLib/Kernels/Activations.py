"""The activation table: every activation's math, parameters and their rules, written once.

Each entry's `forward(m, x, *params)` is the function and `derivative(m, y, *params)` its
derivative expressed through the OUTPUT y = f(x) (so the input may be overwritten or freed).
They are written in the language of `Expression.py`. Each activation is two entries of the
elementwise table (Table.py): `<name>` computes out = f(x) and `<name>Der` computes
ingrad = dy * f'(y); from those the CPU and CUDA kernels of every dtype and variant are generated,
and the numpy fallback evaluates them directly.

The formulas are the numerically stable ones: no intermediate overflows for a finite input,
no cancellation where the result is small, NaN in gives NaN out. Where a formula selects
between branches, the NaN case is made to fall into a branch that returns x itself.
"""

from dataclasses import dataclass
from typing import Callable, Optional, Tuple

from PuzzleLib.Kernels.ElementwiseOp import IN, OUT, ArgsError, ElementwiseOp, Operand, checkArgs  # noqa: F401 (Activation checks args with it)


@dataclass(frozen=True)
class ActivationSpec:
	name: str
	forward: Callable
	derivative: Callable
	params: Tuple[str, ...] = ()
	defaults: Tuple[float, ...] = ()
	rule: Optional[Callable] = None    # params -> None, or a sentence saying what is wrong


def gradient(spec, m, y, dy, params):
	"""The backward value dy * f'(y), in IEEE arithmetic, with f'(NaN) = NaN for every entry."""
	derivative = spec.derivative(m, y, *params)
	return dy * m.select(m.isnan(y), y, derivative)


def _sigmoid(m, x):
	# e = exp(-|x|) <= 1 never overflows; for x < 0, e / (1 + e) keeps the relative accuracy that
	# 1 - 1 / (1 + e) would lose. One division, so one rounding.
	e = m.exp(-m.abs(x))
	return m.select(x >= 0, 1, e) / (1 + e)


def _log1pUnit(m, e):
	"""log1p(e) for 0 <= e <= 1, as 2 atanh(s) with s = e / (2 + e) <= 1/3.

	One division and a short polynomial instead of a full logarithm. The odd series of atanh in
	z = s^2 <= 1/9 is cut where its remainder falls below the compute type's unit roundoff.
	"""
	s = e / (2 + e)
	z = s * s

	terms = 1
	while (1 / 9) ** terms / (2 * terms + 1) > m.epsilon / 4:
		terms += 1

	# t (1 + z/3 + z^2/5 + ...) summed as t + t * tail: the tail is under 4% of the result, so
	# its own rounding hardly counts
	tail = 1 / (2 * terms + 1)
	for k in reversed(range(1, terms)):
		tail = tail * z + 1 / (2 * k + 1)

	t = 2 * s
	return t + t * (tail * z)


def _softPlus(m, x):
	# max(x, 0) + log1p(exp(-|x|)): exact for very negative x, never inf for a finite x.
	return m.select(x > 0, x, 0) + _log1pUnit(m, m.exp(-m.abs(x)))


def _leakyRelu(m, x, alpha):
	# with alpha = 0, alpha * -inf would be NaN where the limit is 0
	return m.select(x < 0, m.select(alpha == 0, 0, alpha * x), x)


def _nonNegativeAlpha(alpha):
	return None if alpha >= 0 else "alpha must be >= 0 (a negative alpha makes the gradient from the output ambiguous)"


def _orderedBounds(low, high):
	return None if low < high else "clip needs min < max (got min=%r, max=%r)" % (low, high)


ACTIVATIONS = {spec.name: spec for spec in (
	ActivationSpec(
		"sigmoid", forward=_sigmoid,
		derivative=lambda m, y: y * (1 - y)
	),
	ActivationSpec(
		# (1 - y)(1 + y), not 1 - y*y, which cancels catastrophically for y near +-1
		"tanh", forward=lambda m, x: m.tanh(x),
		derivative=lambda m, y: (1 - y) * (1 + y)
	),
	ActivationSpec(
		"relu", forward=lambda m, x: m.select(x <= 0, 0, x),
		derivative=lambda m, y: m.select(y > 0, 1, 0)
	),
	ActivationSpec(
		"leakyRelu", forward=_leakyRelu,
		derivative=lambda m, y, alpha: m.select(y > 0, 1, alpha),
		params=("alpha", ), defaults=(0.01, ), rule=_nonNegativeAlpha
	),
	ActivationSpec(
		"elu", forward=lambda m, x, alpha: m.select(x < 0, alpha * m.expm1(x), x),
		derivative=lambda m, y, alpha: m.select(y > 0, 1, y + alpha),
		params=("alpha", ), defaults=(1.0, ), rule=_nonNegativeAlpha
	),
	ActivationSpec(
		# 1 - exp(-y) would be 0 for small y; -expm1(-y) is exact there
		"softPlus", forward=_softPlus,
		derivative=lambda m, y: -m.expm1(-y)
	),
	ActivationSpec(
		"clip", forward=lambda m, x, low, high: m.select(x < low, low, m.select(x > high, high, x)),
		derivative=lambda m, y, low, high: m.select((y > low) & (y < high), 1, 0),
		params=("min", "max"), defaults=(0.0, 6.0), rule=_orderedBounds
	),
)}


ActivationArgsError = ArgsError



def forwardOp(spec):
	"""The table entry out = f(x): the kernel ker(out, x, *params)."""
	return ElementwiseOp(
		spec.name, operands=(Operand("out", OUT), Operand("x", IN)),
		formula=spec.forward, params=spec.params, rule=spec.rule
	)


def backwardOp(spec):
	"""The table entry ingrad = dy * f'(y): the kernel ker(ingrad, dy, y, *params)."""
	return ElementwiseOp(
		spec.name + "Der", operands=(Operand("ingrad", OUT), Operand("dy", IN), Operand("y", IN)),
		formula=lambda m, dy, y, *params: gradient(spec, m, y, dy, params), params=spec.params, rule=spec.rule
	)
