"""Flatten: (N, ...) -> (N, prod(rest)), a reshape of the same memory (no copy), any dtype."""

import math

from PuzzleLib.Modules.Module import Module, backendDtypes


class Flatten(Module):
	def __init__(self, name=None):
		super().__init__(name)
		self.registerBlueprint(locals())

		self.movesData = True
		self.movesGrad = True

	def updateData(self, data):
		self.data = data.reshape(data.shape[0], math.prod(data.shape[1:]))

	def updateGrad(self, grad):
		self.grad = grad.reshape(self.inData.shape)

	def backward(self, grad, updParamGrads=True, updGrad=True, scale=1.0, momentum=0.0):
		if self.inData is None:
			raise self.error("backward called before forward (the grad takes the input's shape)")

		super().backward(grad, updParamGrads, updGrad, scale, momentum)

	def checkDataShape(self, shape):
		if len(shape) < 1:
			raise self.error("data must have a batch axis, got shape %s" % (shape, ))

	def checkGradShape(self, shape):
		expected = self.dataShapeFrom(self.inData.shape)
		if shape != expected:
			raise self.error("grad has shape %s, expected %s" % (shape, expected))

	def dataShapeFrom(self, shape):
		return shape[0], math.prod(shape[1:])

	def gradShapeFrom(self, shape):
		return shape

	def supportedDtypes(self):
		return backendDtypes()

	def checkDataType(self, dtype):
		pass

	def checkGradType(self, dtype):
		if dtype != self.inData.dtype:
			raise self.error("grad has dtype %s, the data %s" % (dtype, self.inData.dtype))
