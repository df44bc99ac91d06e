"""The optimizers' update rules, written once in the language of `Expression.py`.

Each rule updates some of its operands in place from the others: `formula(m, *operands, *params)`
returns the new values of the `written` operands, in order. The operands are named and ordered as
in the original's kernels (`classicMomSGDKer(param, grad, mom, lr, momRate)`), so custom
optimizers call them unchanged. Everything computes in float32 for float16 data.

Sign: grads are the NEGATIVE loss gradient (what a cost returns), so every rule adds.
"""

from dataclasses import dataclass
from typing import Callable, Tuple


@dataclass(frozen=True)
class UpdateSpec:
	name: str
	operands: Tuple[str, ...]         # call order
	written: Tuple[str, ...]          # updated in place, in the order formula returns them
	params: Tuple[str, ...]
	formula: Callable


def _momentum(m, param, grad, mom, lr, momRate):
	mom = momRate * mom + lr * grad
	return param + mom, mom


def _nesterov(m, param, grad, mom, lr, momRate):
	# the look-ahead step: the new velocity once more, plus the plain step (Sutskever's form, as
	# PyTorch's nesterov=True)
	mom = momRate * mom + lr * grad
	return param + momRate * mom + lr * grad, mom


def _rmsprop(m, param, grad, ms, lr, factor, epsilon):
	ms = factor * ms + (1 - factor) * grad * grad
	return param + lr * grad / (m.sqrt(ms) + epsilon), ms


def _adam(m, param, grad, mg, ms, lr, fix1, fix2, epsilon):
	mg = (1 - fix1) * mg + fix1 * grad
	ms = (1 - fix2) * ms + fix2 * grad * grad
	return param + lr * mg / (m.sqrt(ms) + epsilon), mg, ms


TABLE = {spec.name: spec for spec in (
	UpdateSpec(
		"toVectorAddVector", ("y", "x"), ("y", ), ("alpha", ),
		lambda m, y, x, alpha: (y + alpha * x, )
	),
	UpdateSpec("classicMomSGD", ("param", "grad", "mom"), ("param", "mom"), ("lr", "momRate"), _momentum),
	UpdateSpec("nesterovSGD", ("param", "grad", "mom"), ("param", "mom"), ("lr", "momRate"), _nesterov),
	UpdateSpec("rmsprop", ("param", "grad", "ms"), ("param", "ms"), ("lr", "factor", "epsilon"), _rmsprop),
	UpdateSpec("adam", ("param", "grad", "mg", "ms"), ("param", "mg", "ms"), ("lr", "fix1", "fix2", "epsilon"), _adam),
	UpdateSpec(
		# L2 decay on the negative gradient: the loss grad gains rate * param
		"weightDecay", ("grad", "param"), ("grad", ), ("rate", ),
		lambda m, grad, param, rate: (grad - rate * param, )
	),
)}
