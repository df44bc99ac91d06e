"""SoftMax: the softmax over axis 1 (per spatial position for data of 3 or more dimensions)."""

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Backend.Dnn import softmaxNd, softmaxNdBackward
from PuzzleLib.Backend.Kernels.Rows import bound
from PuzzleLib.Kernels.Launch import KernelError
from PuzzleLib.Modules.Module import Module, ShapeKeeping


class SoftMax(ShapeKeeping, Module):
	def __init__(self, name=None):
		super().__init__(name)
		self.registerBlueprint(locals())
		self.gradUsesOutData = True

	def updateData(self, data):
		# with the module's checks on, data is a contiguous array of the module's dtype and >= 2
		# dimensions: what softmaxNd would check again
		if Config.disableDtypeShapeChecks:
			self.data = self._checked(softmaxNd, data)
			return

		out = gpuarray.pooledLike(data)
		if data.size:
			bound("softmax", data.dtype, data.shape)(data, out)
		self.data = out

	def backward(self, grad, updParamGrads=True, updGrad=True, scale=1.0, momentum=0.0):
		if self.data is None:
			raise self.error("backward called before forward (the gradient is computed from the output)")

		super().backward(grad, updParamGrads, updGrad, scale, momentum)

	def updateGrad(self, grad):
		# the output may predate a calcMode: softmaxNdBackward refuses the dtypes' mismatch
		data = self.data
		if Config.disableDtypeShapeChecks or data.dtype is not grad.dtype:
			self.grad = self._checked(softmaxNdBackward, data, grad)
			return

		out = gpuarray.pooledLike(grad)
		if grad.size:
			bound("softmax_backward", grad.dtype, grad.shape)(data, grad, out)
		self.grad = out

	def _checked(self, function, *arrays):
		try:
			return function(*arrays)
		except KernelError as e:
			raise self.error(str(e)) from None

	def checkDataShape(self, shape):
		if len(shape) < 2:
			raise self.error("data must have at least 2 dimensions (batch, classes, ...), got shape %s" % (shape, ))

	def checkGradShape(self, shape):
		if shape != self.data.shape:
			raise self.error("grad has shape %s, the output has shape %s" % (shape, self.data.shape))
