"""BCE: binary cross-entropy of logits against 0/1 targets (int32 labels or floats in [0, 1])."""

import numpy as np

from PuzzleLib import Config
from PuzzleLib.Backend.Kernels import Costs
from PuzzleLib.Cost.Cost import Cost


class BCE(Cost):
	def checkTarget(self, pred, target):
		super().checkTarget(pred, target)

		if target.size != pred.size:
			raise self.error("target has shape %s, scores %s" % (target.shape, pred.shape))
		if target.dtype != np.int32 and target.dtype != pred.dtype:
			raise self.error("target must be int32 labels or of the scores' dtype %s, got %s" % (pred.dtype, target.dtype))

		found = Costs.labelRange(target) if Config.verifyData else None
		if found is not None and not (found[0] >= 0 and found[1] <= 1):         # a NaN is refused too
			raise self.error("targets must lie in [0, 1], found values in [%s, %s]" % found)

	def calcError(self, scores, target):
		error, grad = Costs.binaryCrossEntropy(scores, target)
		return error * scores.shape[0] / scores.size, grad

	def calcVal(self, scores, target):
		"""The classification error rate at the 0.5 probability threshold."""
		return Costs.thresholdErrors(scores, target) / scores.size
