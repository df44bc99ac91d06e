"""The optimizers' update rules: entries of the elementwise table (Table.py), written once.

Each updates its INOUT operands in place; operands and params are in the original's kernel
order (`classicMomSGDKer(param, grad, mom, lr, momRate)`), so custom optimizers call them
unchanged. Moments of float16 parameters are kept in float32 (Adam's, RMSProp's) or in the
parameter's dtype (momentum's, as the original).

Sign: grads are the NEGATIVE loss gradient (what a cost returns), so every rule adds.
"""

import numpy as np

from PuzzleLib.Kernels.ElementwiseOp import IN, INOUT, ElementwiseOp, Operand


def _momentum(m, param, grad, mom, lr, momRate):
	mom = momRate * mom + lr * grad
	return param + mom, mom


def _nesterov(m, param, grad, mom, lr, momRate):
	# the look-ahead step: the new velocity once more, plus the plain step (Sutskever's form, as
	# PyTorch's nesterov=True)
	mom = momRate * mom + lr * grad
	return param + (momRate * mom + lr * grad), mom


def _rmsprop(m, param, grad, ms, lr, factor, epsilon):
	ms = factor * ms + (1 - factor) * (grad * grad)
	return param + lr * grad / (m.sqrt(ms) + epsilon), ms


def _adam(m, param, grad, mg, ms, lr, fix1, fix2, epsilon):
	# in PyTorch's order of operations (a lerp for mg, a scale-and-add for ms): where grads sit near
	# zero Adam amplifies a rounding difference, so the same order means the same steps
	mg = mg + fix1 * (grad - mg)
	ms = (1 - fix2) * ms + fix2 * (grad * grad)
	return param + lr * mg / (m.sqrt(ms) + epsilon), mg, ms


UPDATES = [
	ElementwiseOp(
		"toVectorAddVector", (Operand("y", INOUT), Operand("x", IN)), params=("alpha", ),
		formula=lambda m, y, x, alpha: y + alpha * x
	),
	ElementwiseOp(
		"classicMomSGD", (Operand("param", INOUT), Operand("grad", IN), Operand("mom", INOUT)),
		params=("lr", "momRate"), formula=_momentum
	),
	ElementwiseOp(
		"nesterovSGD", (Operand("param", INOUT), Operand("grad", IN), Operand("mom", INOUT)),
		params=("lr", "momRate"), formula=_nesterov
	),
	ElementwiseOp(
		"rmsprop", (Operand("param", INOUT), Operand("grad", IN), Operand("ms", INOUT, np.float32)),
		params=("lr", "factor", "epsilon"), formula=_rmsprop
	),
	ElementwiseOp(
		"adam", (
			Operand("param", INOUT), Operand("grad", IN),
			Operand("mg", INOUT, np.float32), Operand("ms", INOUT, np.float32)
		),
		params=("lr", "fix1", "fix2", "epsilon"), formula=_adam
	),
	ElementwiseOp(
		# L2 decay on the negative gradient: the loss grad gains rate * param
		"weightDecay", (Operand("grad", INOUT), Operand("param", IN)), params=("rate", ),
		formula=lambda m, grad, param, rate: grad - rate * param
	),
]
