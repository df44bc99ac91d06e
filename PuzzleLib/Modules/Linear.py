"""Linear: y = x W + b on 2-D data (x W^T + b with transpose), through the backend's GEMM."""

import numpy as np

from PuzzleLib.Backend import Blas, gpuarray
from PuzzleLib.Modules.Module import Module, ModuleError
from PuzzleLib.Variable import Variable


def _positiveInt(value):
	return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and value > 0


class Linear(Module):
	"""Linear(insize, outsize, wscale=1.0, useBias=True, initscheme=None, name=None, empty=False, transpose=False)

	W is (insize, outsize), or (outsize, insize) with transpose (so a Linear can reuse another's W
	as its transposed weight); b is zeros(outsize). empty=True creates no variables: set them with
	setVar before the first call.
	"""

	def __init__(self, insize, outsize, wscale=1.0, useBias=True, initscheme=None, name=None, empty=False,
				 transpose=False):
		super().__init__(name)
		self.registerBlueprint(locals())

		if not _positiveInt(insize) or not _positiveInt(outsize):
			raise self.error("insize and outsize must be positive integers, got %r and %r" % (insize, outsize))

		for flag, value in (("useBias", useBias), ("empty", empty), ("transpose", transpose)):
			if not isinstance(value, bool):
				raise self.error("%s must be True or False, got %r" % (flag, value))

		if isinstance(wscale, bool) or not isinstance(wscale, (int, float, np.integer, np.floating)):
			raise self.error("wscale must be a real number, got %r" % (wscale, ))

		self.insize, self.outsize = int(insize), int(outsize)
		self.useBias, self.transpose = useBias, transpose

		if empty:
			return

		wshape = (self.outsize, self.insize) if transpose else (self.insize, self.outsize)
		try:
			W = self.createTensorWithScheme(initscheme, wshape, wscale, factorShape=(self.insize, self.outsize))
		except ModuleError as e:
			raise self.error(str(e)) from None

		self.setVar("W", Variable(gpuarray.empty(wshape, dtype=np.float32) if W is None else gpuarray.to_gpu(W)))
		if useBias:
			self.setVar("b", Variable(gpuarray.zeros((self.outsize, ), dtype=np.float32)))

	def _weights(self):
		"""(W, b or None), checked against the module's sizes (they may have been set by setVar)."""
		W = self.vars.get("W")
		if W is None:
			raise self.error("W is not set (an empty Linear needs setVar('W', ...) first)")

		wshape = (self.outsize, self.insize) if self.transpose else (self.insize, self.outsize)
		if W.data.shape != wshape:
			raise self.error("W has shape %s, expected %s" % (W.data.shape, wshape))

		b = None
		if self.useBias:
			b = self.vars.get("b")
			if b is None:
				raise self.error("b is not set (an empty Linear needs setVar('b', ...) first)")
			if b.data.shape != (self.outsize, ):
				raise self.error("b has shape %s, expected (%d,)" % (b.data.shape, self.outsize))

		return W, b

	def updateData(self, data):
		W, b = self._weights()

		out = gpuarray.empty((data.shape[0], self.outsize), dtype=data.dtype, allocator=gpuarray.memoryPool)

		# the bias goes in first and the product is added to it, so float16 output rounds once
		if b is not None:
			Blas.broadcastRows(b.data, out)
		Blas.mulMatrixOnMatrix(data, W.data, out=out, transpB=self.transpose, beta=0.0 if b is None else 1.0)

		self.data = out

	def updateGrad(self, grad):
		W, _ = self._weights()

		out = gpuarray.empty((grad.shape[0], self.insize), dtype=grad.dtype, allocator=gpuarray.memoryPool)
		self.grad = Blas.mulMatrixOnMatrix(grad, W.data, out=out, transpB=not self.transpose)

	def accGradParams(self, grad, scale=1.0, momentum=0.0):
		W, b = self._weights()

		if self.transpose:
			Blas.mulMatrixOnMatrix(grad, self.inData, out=W.grad, transpA=True, alpha=scale, beta=momentum)
		else:
			Blas.mulMatrixOnMatrix(self.inData, grad, out=W.grad, transpA=True, alpha=scale, beta=momentum)

		if b is not None:
			Blas.sumOnMatrix(grad, out=b.grad, cols=True, alpha=scale, beta=momentum)

	def backward(self, grad, updParamGrads=True, updGrad=True, scale=1.0, momentum=0.0):
		if self.inData is None:
			raise self.error("backward called before forward (the weight gradient needs the input)")

		if updParamGrads and self.train:
			for name, var in self.vars.items():
				if var.grad is None:
					raise self.error("%s has no grad to accumulate into (created in eval mode or withgrad=False)" % name)

		super().backward(grad, updParamGrads, updGrad, scale, momentum)

	def checkDataShape(self, shape):
		if len(shape) != 2:
			raise self.error("data must be 2-D (batch, %d), got shape %s" % (self.insize, shape))
		if shape[1] != self.insize:
			raise self.error("data has width %d, expected insize %d" % (shape[1], self.insize))

	def checkGradShape(self, shape):
		expected = (self.inData.shape[0], self.outsize)
		if shape != expected:
			raise self.error("grad has shape %s, expected %s" % (shape, expected))

	def dataShapeFrom(self, shape):
		return shape[0], self.outsize

	def gradShapeFrom(self, shape):
		return shape[0], self.insize

	def supportedDtypes(self):
		return tuple(np.dtype(dtype) for dtype, _ in gpuarray.dtypesSupported())

	def genericCheckDataType(self, dtype):
		super().genericCheckDataType(dtype)

		W = self.vars.get("W")
		if W is not None and W.data.dtype != dtype:
			raise self.error("W has dtype %s, the data %s (calcMode converts both)" % (W.data.dtype, dtype))
