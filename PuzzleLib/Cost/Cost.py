"""Cost: compares predictions with targets, returns the NEGATIVE loss gradient, keeps the error.

A subclass checks its target (checkTarget) and computes (summed error, grad) in calcError; the
base checks what every cost needs, counts samples and keeps the last and accumulated errors.
"""

import numpy as np

from PuzzleLib.Backend import gpuarray


class CostError(Exception):
	pass


class Cost:
	def __init__(self):
		self.accumErr = 0.0         # summed error of every batch since resetAccumulator
		self.devErr = 0.0           # summed error of the last batch
		self.grad = None

		self.batchsize = None
		self.numOfSamples = 0

	def error(self, problem):
		return CostError("%s: %s" % (self.__class__.__name__, problem))

	def checkPrediction(self, pred):
		if not isinstance(pred, gpuarray.GPUArray):
			raise self.error("pred must be a GPUArray, got %s" % type(pred).__name__)

		if pred.dtype not in (np.float16, np.float32, np.float64):
			raise self.error("pred must be float16, float32 or float64, got %s" % pred.dtype)

		if len(pred.shape) < 1 or pred.shape[0] == 0:
			raise self.error("pred must hold a non-empty batch, got shape %s" % (pred.shape, ))

	def checkTarget(self, pred, target):
		if not isinstance(target, gpuarray.GPUArray):
			raise self.error("target must be a GPUArray, got %s" % type(target).__name__)

		if target.shape[:1] != pred.shape[:1]:
			raise self.error("pred holds a batch of %d, target of %s" % (pred.shape[0], target.shape[:1] or "none"))

	def check(self, pred, target):
		self.checkPrediction(pred)
		self.checkTarget(pred, target)

	def __call__(self, pred, target, queryError=True):
		self.check(pred, target)

		error, grad = self.calcError(pred, target)
		self.devErr, self.grad = error, grad
		self.accumErr += error

		self.batchsize = pred.shape[0]
		self.numOfSamples += self.batchsize

		return (self.getError(), grad) if queryError else grad

	def calcError(self, pred, target):
		raise NotImplementedError()

	def calcVal(self, pred, target):
		raise NotImplementedError()

	def getError(self):
		return self.devErr / self.batchsize if self.batchsize else 0.0

	def getMeanError(self):
		return self.accumErr / self.numOfSamples if self.numOfSamples else 0.0

	def resetAccumulator(self):
		self.accumErr, self.numOfSamples = 0.0, 0

	def validate(self, pred, target):
		self.check(pred, target)
		return self.calcVal(pred, target)
