"""Linear: y = x W + b on 2-D data (x W^T + b with transpose), through the backend's GEMM."""

import operator

import numpy as np

from PuzzleLib import Config
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
		self._checked = {}        # per pass method, the arrays Blas last checked (see _ops)

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

	def _ops(self, method, arrays):
		"""The backend's products without Blas's checks (Blas.ops) where a pass of method has already
		run Blas's checks on these very arrays (by identity; the pass checked its own data or grad,
		and its dtype is among arrays), else the checked ones (Blas.checked). With
		Config.disableDtypeShapeChecks the pass's data is not checked: Blas checks every pass."""
		checked = self._checked.get(method)
		if checked is not None and not Config.disableDtypeShapeChecks and all(map(operator.is_, arrays, checked)):
			return Blas.ops
		return Blas.checked

	def updateData(self, data):
		W, b = self._weights()
		arrays = (data.dtype, W.data, None if b is None else b.data)
		ops = self._ops("data", arrays)

		out = gpuarray.empty((data.shape[0], self.outsize), dtype=data.dtype, allocator=gpuarray.memoryPool)

		# the bias goes in first and the product is added to it, so float16 output rounds once
		if b is not None:
			ops.broadcastRows(b.data, out)
		ops.gemm(data, W.data, out, False, self.transpose, 1.0, 0.0 if b is None else 1.0)

		self.data = out
		self._checked["data"] = arrays

	def updateGrad(self, grad):
		W, _ = self._weights()
		arrays = (grad.dtype, W.data)
		ops = self._ops("grad", arrays)

		out = gpuarray.empty((grad.shape[0], self.insize), dtype=grad.dtype, allocator=gpuarray.memoryPool)
		ops.gemm(grad, W.data, out, False, not self.transpose, 1.0, 0.0)

		self.grad = out
		self._checked["grad"] = arrays

	def accGradParams(self, grad, scale=1.0, momentum=0.0):
		W, b = self._weights()
		arrays = (grad.dtype, W.grad, None if b is None else b.grad)
		ops = self._ops("params", arrays)

		A, B = (grad, self.inData) if self.transpose else (self.inData, grad)
		if ops is Blas.ops:
			scale, momentum = Blas.real(scale, "scale"), Blas.real(momentum, "momentum")
			# the grads are the user's arrays: this pass's data or grad may be one of them (as Blas says it)
			Blas.disjoint(W.grad, ("A", A), ("B", B))
			if b is not None:
				Blas.disjoint(b.grad, ("A", grad))

		ops.gemm(A, B, W.grad, True, False, scale, momentum)
		if b is not None:
			ops.sumOnMatrix(grad, b.grad, True, scale, momentum)

		self._checked["params"] = arrays

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
