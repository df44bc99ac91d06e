"""SoftMax: the softmax over axis 1 (per spatial position for data of 3 or more dimensions)."""

from PuzzleLib.Backend.Dnn import softmaxNd, softmaxNdBackward
from PuzzleLib.Kernels.Launch import KernelError
from PuzzleLib.Modules.Module import Module, ShapeKeeping


class SoftMax(ShapeKeeping, Module):
	def __init__(self, name=None):
		super().__init__(name)
		self.registerBlueprint(locals())
		self.gradUsesOutData = True

	def updateData(self, data):
		try:
			self.data = softmaxNd(data)
		except KernelError as e:
			raise self.error(str(e)) from None

	def backward(self, grad, updParamGrads=True, updGrad=True, scale=1.0, momentum=0.0):
		if self.data is None:
			raise self.error("backward called before forward (the gradient is computed from the output)")

		super().backward(grad, updParamGrads, updGrad, scale, momentum)

	def updateGrad(self, grad):
		try:
			self.grad = softmaxNdBackward(self.data, grad)
		except KernelError as e:
			raise self.error(str(e)) from None

	def checkDataShape(self, shape):
		if len(shape) < 2:
			raise self.error("data must have at least 2 dimensions (batch, classes, ...), got shape %s" % (shape, ))

	def checkGradShape(self, shape):
		if shape != self.data.shape:
			raise self.error("grad has shape %s, the output has shape %s" % (shape, self.data.shape))

