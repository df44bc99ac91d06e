"""Identity: passes data and grad through (the very same arrays), any dtype and shape."""

from PuzzleLib.Modules.Module import Module, ShapeKeeping


class Identity(ShapeKeeping, Module):
	def __init__(self, name=None):
		super().__init__(name)
		self.registerBlueprint(locals())

		self.movesData = True
		self.movesGrad = True

	def updateData(self, data):
		self.data = data

	def updateGrad(self, grad):
		self.grad = grad


	def checkDataType(self, dtype):
		pass

	def checkGradType(self, dtype):
		pass
