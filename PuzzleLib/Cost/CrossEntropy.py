"""CrossEntropy: softmax over axis 1 of float scores (N, C, ...) against int32 labels (N, ...)."""

import numpy as np

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Backend.Kernels import Costs
from PuzzleLib.Cost.Cost import Cost


class CrossEntropy(Cost):
	def __init__(self, maxlabels=None, weights=None):
		super().__init__()
		self.maxlabels = maxlabels

		if weights is not None:
			if isinstance(weights, gpuarray.GPUArray):
				weights = weights.get()

			weights = np.asarray(weights, dtype=np.float32)
			if weights.ndim != 1 or not np.all(np.isfinite(weights)) or np.any(weights < 0):
				raise self.error("weights must be a 1-D array of finite non-negative class weights")
			if maxlabels is not None and weights.size != maxlabels:
				raise self.error("%d weights for %d labels" % (weights.size, maxlabels))

			weights = gpuarray.to_gpu(weights)

		self.weights = weights

	def checkPrediction(self, pred):
		super().checkPrediction(pred)
		if len(pred.shape) < 2:
			raise self.error("scores must be (batch, classes, ...), got shape %s" % (pred.shape, ))

	def checkTarget(self, pred, target):
		super().checkTarget(pred, target)

		if target.dtype != np.int32:
			raise self.error("labels must be int32, got %s" % target.dtype)

		expected = pred.shape[:1] + pred.shape[2:]
		if target.shape != expected:
			raise self.error("labels must have shape %s for scores of shape %s, got %s" % (expected, pred.shape, target.shape))

		classes = pred.shape[1]
		if self.maxlabels is not None and classes != self.maxlabels:
			raise self.error("scores have %d classes, maxlabels is %d" % (classes, self.maxlabels))
		if self.weights is not None and self.weights.size != classes:
			raise self.error("scores have %d classes, %d weights were given" % (classes, self.weights.size))

		found = Costs.labelRange(target) if Config.verifyData else None
		if found is not None and (found[0] < 0 or found[1] >= classes):
			raise self.error("labels must lie in [0, %d), found values in [%d, %d]" % (classes, *found))

	def calcError(self, scores, labels):
		return Costs.crossEntropy(scores, labels, self.weights)

	def calcVal(self, scores, labels):
		"""The classification error rate: the share of positions whose argmax is not the label."""
		positions = labels.size
		return Costs.argmaxErrors(scores, labels) / positions
