"""INTERIM stand-ins for pieces of the training core's first part (Variable, Module.getVarTable,
Linear, Dropout, Flatten, Backend.Blas) that the containers, costs, optimizers and handlers stand
on. Each is installed only where the real one is missing, and goes when the real one lands:
nothing here is meant to stay.

They compute on the host view of an array (the CPU backend's own memory; a copy through get/set
on CUDA), with numpy's BLAS for the products.
"""

import itertools

import numpy as np

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.CPU import BlasThreads
from PuzzleLib.Backend.HostAccess import hostView, readHost, writeHost
from PuzzleLib.Modules.Module import Module, ModuleError


# --- Variable ------------------------------------------------------------------------------------

class Variable:
	index = itertools.count()

	def __init__(self, data, name=None, withgrad=True, grad=None, updater=None, postUpdater=None):
		self.data = data
		self.name = str(next(Variable.index)) if name is None else name
		self.updater = updater

		if updater is not None:
			return

		self.postUpdater = postUpdater
		if grad is None and withgrad and not Config.globalEvalMode:
			grad = gpuarray.zeros(data.shape, dtype=data.dtype)
		self.grad = grad

		self.learnRate, self.momRate, self.wc = 1.0, 1.0, 0.0

	@property
	def hasUpdater(self):
		return self.updater is not None

	@property
	def hasPostUpdater(self):
		return getattr(self, "postUpdater", None) is not None

	def update(self, learnRate):
		self.updater(self, learnRate)

	def set(self, other):
		writeHost(self.data, readHost(other.data))
		if getattr(self, "grad", None) is not None and getattr(other, "grad", None) is not None:
			writeHost(self.grad, readHost(other.grad))


def getVarTable(self, vartable=None, name=None, root=True):
	vartable = {} if vartable is None else vartable
	name = "" if name is None else name

	for paramName, var in self.vars.items():
		vartable.setdefault(var, []).append(name + paramName)

	return vartable


if not hasattr(Module, "getVarTable"):
	Module.getVarTable = getVarTable


# --- Blas ----------------------------------------------------------------------------------------

def mulMatrixOnMatrix(A, B, out=None, transpA=False, transpB=False, alpha=1.0, beta=0.0):
	a, b = readHost(A), readHost(B)
	a, b = (a.T if transpA else a), (b.T if transpB else b)

	if out is None:
		out = gpuarray.empty((a.shape[0], b.shape[1]), dtype=A.dtype)
		beta = 0.0

	BlasThreads.forProduct(a.shape[0] * a.shape[1] * b.shape[1])
	result = np.dot(a, b)
	if alpha != 1.0:
		result *= alpha
	if beta != 0.0:
		result += beta * readHost(out)

	writeHost(out, result)
	return out


def sumOnMatrix(A, out=None, cols=True, alpha=1.0, beta=0.0):
	a = readHost(A)
	result = a.sum(axis=0 if cols else 1, dtype=a.dtype)

	if out is None:
		out = gpuarray.empty(result.shape, dtype=A.dtype)
		beta = 0.0

	result = alpha * result + (beta * readHost(out) if beta != 0.0 else 0)
	writeHost(out, result.astype(A.dtype))
	return out


# --- Linear --------------------------------------------------------------------------------------

class Linear(Module):
	def __init__(self, insize, outsize, wscale=1.0, useBias=True, initscheme=None, name=None, empty=False,
	             transpose=False):
		super().__init__(name)
		self.registerBlueprint(locals())

		self.insize, self.outsize, self.useBias, self.transpose = insize, outsize, useBias, transpose
		if empty:
			return

		shape = (outsize, insize) if transpose else (insize, outsize)
		factor = np.sqrt(3.0 / insize) * wscale
		W = np.random.uniform(-factor, factor, shape).astype(np.float32)

		self.setVar("W", Variable(gpuarray.to_gpu(W)))
		if useBias:
			self.setVar("b", Variable(gpuarray.zeros((outsize, ), dtype=np.float32)))

	def checkDataShape(self, shape):
		if len(shape) != 2 or shape[1] != self.insize:
			raise self.error("data must be 2-D with %d columns, got shape %s" % (self.insize, shape))

	def checkGradShape(self, shape):
		if len(shape) != 2 or shape[1] != self.outsize:
			raise self.error("grad must be 2-D with %d columns, got shape %s" % (self.outsize, shape))

	def dataShapeFrom(self, shape):
		return shape[0], self.outsize

	def gradShapeFrom(self, shape):
		return shape[0], self.insize

	def updateData(self, data):
		W = self.vars["W"].data
		self.data = mulMatrixOnMatrix(data, W, transpB=self.transpose)

		if self.useBias:
			out = hostView(self.data)
			out += readHost(self.vars["b"].data)

	def updateGrad(self, grad):
		self.grad = mulMatrixOnMatrix(grad, self.vars["W"].data, transpB=not self.transpose)

	def accGradParams(self, grad, scale=1.0, momentum=0.0):
		W = self.vars["W"]
		if self.transpose:
			mulMatrixOnMatrix(grad, self.inData, out=W.grad, transpA=True, alpha=scale, beta=momentum)
		else:
			mulMatrixOnMatrix(self.inData, grad, out=W.grad, transpA=True, alpha=scale, beta=momentum)

		if self.useBias:
			sumOnMatrix(grad, out=self.vars["b"].grad, alpha=scale, beta=momentum)


# --- Dropout -------------------------------------------------------------------------------------

class Dropout(Module):
	def __init__(self, p=0.5, rng=None, slicing=None, inplace=False, name=None):
		super().__init__(name)
		self.registerBlueprint(locals(), exclude=["rng"])

		if not 0.0 <= p < 1.0:
			raise ModuleError("Dropout: p must be in [0, 1), got %r" % (p, ))

		self.p, self.inplace = p, inplace
		self.mask = None

	def dataShapeFrom(self, shape):
		return shape

	def gradShapeFrom(self, shape):
		return shape

	def updateData(self, data):
		if not self.train:
			self.data = data
			return

		keep = np.random.random_sample(data.shape) >= self.p
		self.mask = keep.astype(data.dtype) / np.asarray(1.0 - self.p, dtype=data.dtype)

		self.data = data if self.inplace else gpuarray.empty(data.shape, dtype=data.dtype)
		writeHost(self.data, readHost(data) * self.mask)

	def updateGrad(self, grad):
		if not self.train:
			self.grad = grad
			return

		self.grad = grad if self.inplace else gpuarray.empty(grad.shape, dtype=grad.dtype)
		writeHost(self.grad, readHost(grad) * self.mask)

	def reset(self):
		super().reset()
		self.mask = None


# --- Flatten -------------------------------------------------------------------------------------

class Flatten(Module):
	def __init__(self, name=None):
		super().__init__(name)
		self.registerBlueprint(locals())
		self.movesData = self.movesGrad = True
		self.inshape = None

	def dataShapeFrom(self, shape):
		return shape[0], int(np.prod(shape[1:]))

	def gradShapeFrom(self, shape):
		return self.inshape if self.inshape is not None else shape

	def checkDataType(self, dtype):
		pass

	def checkGradType(self, dtype):
		pass

	def updateData(self, data):
		self.inshape = data.shape
		self.data = data.reshape(self.dataShapeFrom(data.shape))

	def updateGrad(self, grad):
		self.grad = grad.reshape(self.inshape)
