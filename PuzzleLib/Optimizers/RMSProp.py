"""RMSProp: ms = factor * ms + (1 - factor) * grad^2; param += learnRate * grad / (sqrt(ms) + epsilon)."""

import numpy as np

from PuzzleLib.Backend.Kernels.ElementWise import rmspropKer
from PuzzleLib.Optimizers.Optimizer import Optimizer
from PuzzleLib.Optimizers.SGD import rates


class RMSProp(Optimizer):
	stateNames = (("ms", np.float32), )
	savedAttrs = Optimizer.savedAttrs + ("factor", "epsilon")

	def __init__(self, learnRate=1e-3, factor=0.9, epsilon=1e-5, nodeinfo=None):
		super().__init__(nodeinfo)
		self.learnRate, self.factor, self.epsilon = learnRate, factor, epsilon

	def updateChunk(self, param, grad, state, learnRate, var):
		rmspropKer(param.dtype)(param, grad, state["ms"], rates(learnRate, var), self.factor, self.epsilon)
