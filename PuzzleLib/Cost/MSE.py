"""MSE: half the mean squared difference; grad = (target - pred) / numel."""

from PuzzleLib.Backend.Kernels import Costs
from PuzzleLib.Cost.Cost import Cost


class MSE(Cost):
	def checkTarget(self, pred, target):
		super().checkTarget(pred, target)

		if target.shape != pred.shape:
			raise self.error("target has shape %s, pred %s" % (target.shape, pred.shape))
		if target.dtype != pred.dtype:
			raise self.error("target has dtype %s, pred %s" % (target.dtype, pred.dtype))

	def calcError(self, pred, target):
		error, grad = Costs.squaredError(pred, target)
		# getError divides by the batch size: keep the per-sample share so it reads sum / (2 numel)
		return error * pred.shape[0] / pred.size, grad

	def calcVal(self, pred, target):
		return Costs.squaredError(pred, target)[0] / pred.size
