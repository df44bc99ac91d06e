"""SGD: param += learnRate * var.learnRate * grad (one update kernel per chunk)."""

from PuzzleLib.Backend.Kernels.ElementWise import toVectorAddVectorKer
from PuzzleLib.Optimizers.Optimizer import Optimizer


def rates(learnRate, var, momRate=None):
	"""The rates a chunk updates with: the optimizer's times the variable's multipliers."""
	lr = learnRate * (var.learnRate if var is not None else 1.0)
	if momRate is None:
		return lr
	return lr, momRate * (var.momRate if var is not None else 1.0)


class SGD(Optimizer):
	def __init__(self, learnRate=1e-3, nodeinfo=None):
		super().__init__(nodeinfo)
		self.learnRate = learnRate

	def updateChunk(self, param, grad, state, learnRate, var):
		toVectorAddVectorKer(param.dtype)(param, grad, rates(learnRate, var))
