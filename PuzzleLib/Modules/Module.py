"""Module: the base every layer inherits; it knows no backend beyond the gpuarray facade."""

import io
from enum import Enum

import numpy as np

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray


class ModuleError(Exception):
	pass


class MemoryUnit(str, Enum):
	mb = "mb"
	kb = "kb"


class Module:
	def __init__(self, name=None):
		self.name = name

		self.blueprint = None
		self.registerBlueprint(locals())

		self.vars = {}
		self.attrs = {}

		self.gradUsesOutData = False
		self.movesData = False
		self.movesGrad = False

		self.grad = None
		self.inData = None
		self.data = None

		self.train = not Config.globalEvalMode
		self.calctype = np.float32

	def error(self, problem):
		return ModuleError("%s: %s" % (self, problem))

	def registerBlueprint(self, args, exclude=None):
		exclude = set() if exclude is None else exclude
		self.blueprint = {
			key: None if key in exclude else arg for key, arg in args.items() if key not in {"self", "__class__"}
		}

	def getBlueprint(self):
		return {"classname": self.__class__.__name__, "scheme": self.blueprint}

	def setVar(self, name, var):
		setattr(self, name, var.data)
		self.vars[name] = var

	def getVar(self, name):
		return self.vars[name]

	def setAttr(self, name, attr):
		setattr(self, name, attr)
		self.attrs[name] = attr

	def hasAttr(self, name):
		return name in self.attrs

	def __call__(self, data):
		self.checkArray(data, "data")

		if not Config.disableDtypeShapeChecks:
			self.checkDataShape(data.shape)
			self.checkDataType(data.dtype)

		saved = self.data, self.inData
		self.data = None
		self.inData = data

		try:
			self.updateData(data)
		except BaseException:
			self.data, self.inData = saved     # a refused or failed pass leaves the module as it was
			raise

		return self.data

	def backward(self, grad, updParamGrads=True, updGrad=True, scale=1.0, momentum=0.0):
		self.checkArray(grad, "grad")

		if not Config.disableDtypeShapeChecks:
			self.checkGradShape(grad.shape)
			self.checkGradType(grad.dtype)

		saved = self.grad
		self.grad = None

		if updGrad:
			try:
				self.updateGrad(grad)
			except BaseException:
				self.grad = saved
				raise

		if updParamGrads and self.train:
			self.accGradParams(grad, scale=scale, momentum=momentum)

	def checkArray(self, ary, what):
		if not isinstance(ary, gpuarray.GPUArray):
			raise self.error("%s must be a %s.GPUArray (use gpuarray.to_gpu), got %s" % (
				what, gpuarray.GPUArray.__module__, type(ary).__name__
			))

		if not gpuarray.isContiguous(ary):
			raise self.error("%s must be C-contiguous (make a contiguous copy with .copy()), got strides %s" % (
				what, ary.strides
			))

	def updateData(self, data):
		raise NotImplementedError()

	def updateGrad(self, grad):
		raise NotImplementedError()

	def zeroGradParams(self):
		for var in self.vars.values():
			if var.grad is not None:
				var.grad.fill(0)

	def accGradParams(self, grad, scale=1.0, momentum=0.0):
		pass

	def updateParams(self, learnRate):
		for var in self.vars.values():
			var.data += var.grad * learnRate

	def optimizeForShape(self, shape, memlimit=None):
		pass

	def save(self, file=None, name=None):
		"""Writes the parameters (an .npz archive) to a path or file object; with none, returns bytes."""
		name = (self.name or "") if name is None else name
		arrays = {"%s.%s" % (name, varName): var.data.get() for varName, var in self.vars.items()}

		if file is None:
			buffer = io.BytesIO()
			np.savez(buffer, **arrays)
			return buffer.getvalue()

		np.savez(file, **arrays)

	def load(self, file, name=None):
		"""Reads parameters written by save (a path, file object or bytes) into this module's vars."""
		name = (self.name or "") if name is None else name
		source = io.BytesIO(file) if isinstance(file, bytes) else file

		try:
			with np.load(source) as archive:
				values = {varName: archive["%s.%s" % (name, varName)] for varName in self.vars}
		except (OSError, KeyError, ValueError) as e:
			raise self.error("load: %s" % e) from None

		for varName, value in values.items():
			data = self.vars[varName].data
			if value.shape != data.shape or value.dtype != data.dtype:
				raise self.error("load: %s is %s %s, expected %s %s" % (
					varName, value.shape, value.dtype, data.shape, data.dtype
				))

		for varName, value in values.items():
			self.vars[varName].data.set(value)

	def trainMode(self):
		self.train = True
		self.reset()

	def evalMode(self):
		self.train = False
		self.reset()

	def supportedDtypes(self):
		return (np.dtype(np.float32), )

	def calcMode(self, T):
		if T is None:                # np.dtype(None) would silently mean float64
			raise self.error("calcMode takes a numpy dtype, got None")

		try:
			dtype = np.dtype(T)
		except TypeError:
			raise self.error("calcMode takes a numpy dtype, got %r" % (T, )) from None

		if dtype not in self.supportedDtypes():
			raise self.error("unsupported dtype %s (supported: %s)" % (
				dtype, ", ".join(str(d) for d in self.supportedDtypes())
			))

		self.calctype = dtype.type

	def reset(self):
		self.inData, self.data, self.grad = None, None, None

	def checkDataShape(self, shape):
		pass

	def dataShapeFrom(self, shape):
		raise NotImplementedError()

	def checkDataType(self, dtype):
		self.genericCheckDataType(dtype)

	def checkGradShape(self, shape):
		pass

	def gradShapeFrom(self, shape):
		raise NotImplementedError()

	def checkGradType(self, dtype):
		self.genericCheckDataType(dtype)

	def genericCheckDataType(self, dtype):
		"""Data and grad alike must be of the module's dtype, as calcMode set it."""
		if dtype != self.calctype:
			raise self.error("expected dtype %s (set by calcMode), got %s" % (np.dtype(self.calctype), dtype))

	def __str__(self):
		return "Module %s (name: %s)" % (self.__class__.__name__, self.name)

	def numOfParams(self):
		return sum(var.data.size for var in self.vars.values())

	def paramSize(self, unit=None):
		size = sum(var.data.nbytes for var in self.vars.values())
		return size if unit is None else size / {MemoryUnit.kb: 1024, MemoryUnit.mb: 1024**2}[MemoryUnit(unit)]
