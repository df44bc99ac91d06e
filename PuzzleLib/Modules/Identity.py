"""Identity: passes data and grad through (the very same arrays), any dtype and shape."""

import numpy as np

from PuzzleLib.Backend import gpuarray
from PuzzleLib.Modules.Module import Module


class Identity(Module):
	def __init__(self, name=None):
		super().__init__(name)
		self.registerBlueprint(locals())

		self.movesData = True
		self.movesGrad = True

	def updateData(self, data):
		self.data = data

	def updateGrad(self, grad):
		self.grad = grad

	def dataShapeFrom(self, shape):
		return shape

	def gradShapeFrom(self, shape):
		return shape

	def supportedDtypes(self):
		return tuple(np.dtype(dtype) for dtype, _ in gpuarray.dtypesSupported())

	def checkDataType(self, dtype):
		pass

	def checkGradType(self, dtype):
		pass
