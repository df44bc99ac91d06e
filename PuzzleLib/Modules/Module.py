"""Module: the base every layer inherits; it knows no backend beyond the gpuarray facade."""

from enum import Enum

import numpy as np

from PuzzleLib import Config
from PuzzleLib.ArrayChecks import parseDtype
from PuzzleLib.Backend import Blas, gpuarray
from PuzzleLib.Modules import Hdf
from PuzzleLib.Modules.InitScheme import InitSchemeError, createTensorWithScheme as _createTensorWithScheme


class ModuleError(Exception):
	pass


class MemoryUnit(str, Enum):
	mb = "mb"
	kb = "kb"


def backendDtypes():
	"""Every dtype the chosen backend computes in."""
	return tuple(np.dtype(dtype) for dtype, _ in gpuarray.dtypesSupported())


class ShapeKeeping:
	"""For a module whose output and input grad have its data's shape, on every backend dtype.
	Listed before Module among the bases, so that these take the place of Module's."""

	def dataShapeFrom(self, shape):
		return shape

	def gradShapeFrom(self, shape):
		return shape

	def supportedDtypes(self):
		return backendDtypes()

	@staticmethod
	def passOutput(source, inplace, slc):
		"""Where an elementwise pass over source writes: source itself when inplace, else a pooled
		array; outside a slice the output passes the source through, so it starts as a copy of it."""
		if inplace:
			return source

		out = gpuarray.pooledLike(source)
		if slc is not None:
			gpuarray.copy(out, source)
		return out


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
		self.vars[name] = var

	def getVar(self, name):
		return self.vars[name]

	def __getattr__(self, name):
		"""module.W is the data of its variable W, whatever array the variable holds now."""
		variables = self.__dict__.get("vars")
		if variables is not None and name in variables:
			return variables[name].data

		raise AttributeError("%r object has no attribute %r" % (type(self).__name__, name))

	def getVarTable(self, vartable=None, name=None, root=True):
		"""{Variable: [names]}: each variable under its prefixed names (a shared one under several)."""
		vartable = {} if vartable is None else vartable
		name = "" if name is None else name

		for paramName, var in self.vars.items():
			vartable.setdefault(var, []).append(name + paramName)

		return vartable

	@staticmethod
	def createTensorWithScheme(scheme, shape, wscale, factorShape=None, factorTranspose=False, dtype=np.float32):
		"""A host ndarray drawn by an InitScheme (see PuzzleLib.Modules.InitScheme); None for "none"."""
		try:
			return _createTensorWithScheme(scheme, shape, wscale, factorShape, factorTranspose, dtype)
		except InitSchemeError as e:
			raise ModuleError(str(e)) from None

	def setAttr(self, name, attr):
		setattr(self, name, attr)
		self.attrs[name] = attr

	def hasAttr(self, name):
		return name in self.attrs

	def __call__(self, data):
		self._checkPassArray(data, "data", self.checkDataShape, self.checkDataType)

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
		self._checkPassArray(grad, "grad", self.checkGradShape, self.checkGradType)

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

	def _checkPassArray(self, ary, what, checkShape, checkType):
		"""What a pass checks of its data or grad: the array(s), then, unless Config turns it off, the
		shape(s) and dtype(s) through the module's checkShape and checkType."""
		self.checkArray(ary, what)

		if not Config.disableDtypeShapeChecks:
			if isinstance(ary, list):
				checkShape([item.shape for item in ary])
				checkType([item.dtype for item in ary])
			else:
				checkShape(ary.shape)
				checkType(ary.dtype)

	def checkArray(self, ary, what):
		"""A C-contiguous GPUArray, or a list of them where the module takes several."""
		if isinstance(ary, gpuarray.GPUArray):
			if not gpuarray.isContiguous(ary):
				raise self.error("%s must be C-contiguous (make a contiguous copy with .copy()), got strides %s" % (
					what, ary.strides
				))
			return

		# a list of arrays for a module of several inputs; a list of anything else (host data) is refused whole
		if isinstance(ary, list) and any(isinstance(item, gpuarray.GPUArray) for item in ary):
			for i, item in enumerate(ary):
				self.checkArray(item, "%s[%d]" % (what, i))
			return

		raise self.error("%s must be a %s.GPUArray (use gpuarray.to_gpu), got %s" % (
			what, gpuarray.GPUArray.__module__, type(ary).__name__
		))

	def updateData(self, data):
		raise NotImplementedError()

	def updateGrad(self, grad):
		raise NotImplementedError()

	def zeroGradParams(self):
		for var in self.vars.values():
			if not var.hasUpdater and var.grad is not None:
				var.grad.fill(0)

	def accGradParams(self, grad, scale=1.0, momentum=0.0):
		pass

	def updateParams(self, learnRate):
		"""Adds learnRate * grad to every variable (grads point uphill of what the cost returns)."""
		for var in self.vars.values():
			if var.hasUpdater:
				var.update(learnRate)
			else:
				Blas.toVectorAddVector(var.data.ravel(), var.grad.ravel(), alpha=learnRate)

	def optimizeForShape(self, shape, memlimit=None):
		pass

	def save(self, hdf=None, varlinks=None, name=None, compress="gzip", assumeUniqueNames=False, withBlueprint=False,
			 isRoot=True):
		"""Writes the parameters in HDF5 (see PuzzleLib.Modules.Hdf) to a path or an open h5py File or
		Group; with none, returns the file image as bytes. varlinks ({Variable: index}) is shared
		by the modules written into one file, so a shared variable is stored once."""
		varlinks = {} if varlinks is None else varlinks

		def writeInto(group):
			self.writeParams(group, varlinks, name, compress, assumeUniqueNames)
			if withBlueprint:
				Hdf.writeBlueprint(group, self.getBlueprint())

		try:
			return Hdf.write(hdf, writeInto)
		except (Hdf.HdfError, OSError, ValueError, TypeError, KeyError) as e:
			raise self.error("save: %s" % e) from None

	def load(self, hdf, initvars=None, name=None, assumeUniqueNames=False, isRoot=True):
		"""Reads parameters written by save (a path, bytes, an open h5py File or Group).

		Everything is read and checked (present, same shape, safely castable) before anything is
		set: on a ModuleError no parameter has changed. Containers override readParams, not load,
		so a whole tree is loaded as one; initvars and isRoot are kept for the original's signature.
		"""
		pending = []

		try:
			Hdf.read(hdf, lambda group: self.readParams(group, pending, name, assumeUniqueNames))
		except (Hdf.HdfError, OSError, ValueError, TypeError, KeyError) as e:
			raise self.error("load: %s" % e) from None

		for target, value in pending:
			target.set(value)

	def paramName(self, name=None):
		"""The prefix of this module's entries in a file: name, else its own name ("" if none)."""
		if name is not None:
			return name
		return "" if self.name is None else self.name

	def writeParams(self, group, varlinks, name=None, compress="gzip", assumeUniqueNames=False):
		"""Writes this module's entries into an open group (containers write their children)."""
		Hdf.writeParams(group, self.vars, self.attrs, self.paramName(name), varlinks, compress)

	def readParams(self, group, pending, name=None, assumeUniqueNames=False):
		"""Reads and checks this module's entries, appending (array, host value) to pending."""
		names = [self.paramName(name)]
		if name is None and self.name is None:
			names.append("None")         # how a file may name an unnamed module's entries
		Hdf.readParams(group, self.vars, self.attrs, names, pending)

	def trainMode(self):
		self.train = True
		self.reset()

	def evalMode(self):
		self.train = False
		self.reset()

	def supportedDtypes(self):
		return (np.dtype(np.float32), )

	def calcMode(self, T):
		supported = self.supportedDtypes()
		dtype = parseDtype(T, self.error, supported, "calcMode takes a numpy dtype", "unsupported dtype %%s (supported: %s)" % (
			", ".join(str(d) for d in supported)
		))

		if dtype != np.dtype(self.calctype):
			self.castParams(dtype)

		self.calctype = dtype.type

	def castParams(self, dtype):
		"""Converts the variables and attributes to dtype (a shared variable once)."""
		def cast(ary):
			return None if ary is None or ary.dtype == dtype else gpuarray.to_gpu(ary.get().astype(dtype))

		for var in self.vars.values():
			if var.data.dtype != dtype:
				var.data, var.grad = cast(var.data), cast(var.grad) if getattr(var, "grad", None) is not None else None

		for attrName, attr in self.attrs.items():
			if isinstance(attr, gpuarray.GPUArray) and attr.dtype != dtype:
				self.setAttr(attrName, cast(attr))

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
		"""The dtype (or each of a list of dtypes) must be the module's, as calcMode set it."""
		if dtype is _NATIVE_DTYPES.get(self.calctype):      # the common case, without numpy's comparison
			return

		if isinstance(dtype, (list, tuple)):
			for item in dtype:
				self.genericCheckDataType(item)

		elif dtype != self.calctype:
			raise self.error("expected dtype %s (set by calcMode), got %s" % (np.dtype(self.calctype), dtype))

	def __str__(self):
		return "Module %s (name: %s)" % (self.__class__.__name__, self.name)

	def numOfParams(self):
		return sum(var.data.size for var in self.vars.values())

	def paramSize(self, unit=None):
		size = sum(var.data.nbytes for var in self.vars.values())
		return size if unit is None else size / {MemoryUnit.kb: 1024, MemoryUnit.mb: 1024**2}[MemoryUnit(unit)]


# calctype (a numpy scalar type) -> its dtype, numpy's singleton
_NATIVE_DTYPES = {dtype: np.dtype(dtype) for dtype in (np.float16, np.float32, np.float64)}
