"""Adam with the bias corrections folded into the step: learnRate = alpha sqrt(1 - beta2^t) / (1 - beta1^t)."""

import math

import numpy as np

from PuzzleLib.Backend.Kernels.ElementWise import adamKer
from PuzzleLib.Optimizers.Optimizer import Optimizer
from PuzzleLib.Optimizers.SGD import rates


class Adam(Optimizer):
	stateNames = (("mg", np.float32), ("ms", np.float32))
	savedAttrs = Optimizer.savedAttrs + ("alpha", "beta1", "beta2", "epsilon")

	def __init__(self, alpha=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, nodeinfo=None):
		super().__init__(nodeinfo)
		self.alpha, self.beta1, self.beta2, self.epsilon = alpha, beta1, beta2, epsilon
		self.learnRate = alpha

	def stepLearnRate(self):
		self.learnRate = self.alpha * math.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
		return self.learnRate

	def updateChunk(self, param, grad, state, learnRate, var):
		adamKer(param.dtype)(
			param, grad, state["mg"], state["ms"], rates(learnRate, var), 1 - self.beta1, 1 - self.beta2, self.epsilon
		)
