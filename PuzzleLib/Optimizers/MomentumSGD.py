"""MomentumSGD: mom = momRate * mom + learnRate * grad; param += mom."""

from PuzzleLib.Backend.Kernels.ElementWise import classicMomSGDKer
from PuzzleLib.Optimizers.Optimizer import Optimizer
from PuzzleLib.Optimizers.SGD import rates


class MomentumSGD(Optimizer):
	stateNames = (("mom", None), )
	savedAttrs = Optimizer.savedAttrs + ("momRate", )
	kernel = staticmethod(classicMomSGDKer)

	def __init__(self, learnRate=1e-3, momRate=0.9, nodeinfo=None):
		super().__init__(nodeinfo)
		self.learnRate, self.momRate = learnRate, momRate

	def updateChunk(self, param, grad, state, learnRate, var):
		lr, momRate = rates(learnRate, var, self.momRate)
		self.kernel(param.dtype)(param, grad, state["mom"], lr, momRate)
