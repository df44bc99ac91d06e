"""Optimizer: keeps a state per variable (or one packed state for all) and ascends on the grads.

A subclass names its state tensors (`stateNames`, with their dtype) and updates one chunk of
params/grads/states in `updateChunk(param, grad, state, learnRate, var)`, where `var` is None for
the packed global state.
"""

import numpy as np

from PuzzleLib.Backend import gpuarray
from PuzzleLib.Optimizers import GlobalState
from PuzzleLib.Modules import Hdf


class OptimizerError(Exception):
	pass


class Optimizer:
	stateNames = ()              # ((name, dtype or None for the variable's), ...)
	savedAttrs = ("t", "learnRate")

	def __init__(self, nodeinfo=None):
		self.t = 0
		self.learnRate = 0.0
		self.nodeinfo = nodeinfo

		self.module = None
		self.vartable = None
		self.states = {}              # var -> {stateName: array}
		self.globalState = None       # dtype -> (Pack, {stateName: flat array})
		self.customVars = []
		self.hooks = []

	def error(self, problem):
		return OptimizerError("%s: %s" % (self.__class__.__name__, problem))

	def setupOn(self, mod, useGlobalState=False):
		if not hasattr(mod, "getVarTable"):
			raise self.error("setupOn takes a module, got %s" % type(mod).__name__)

		vartable = mod.getVarTable()
		if not vartable:
			raise self.error("%s has no parameters to optimize" % mod)

		for var, names in vartable.items():
			if not var.hasUpdater and getattr(var, "grad", None) is None:
				raise self.error("variable %s has no grad (was the module built in Config.globalEvalMode?)" % names[0])

		self.module, self.vartable = mod, vartable
		self.customVars = [var for var in vartable if var.hasUpdater]
		self.states, self.globalState = {}, None

		if useGlobalState:
			packs = GlobalState.pack(vartable)

			self.globalState = {
				dtype: (p, {name: p.stateLike(stateType) for name, stateType in self.stateNames}) for dtype, p in packs.items()
			}
		else:
			for var in vartable:
				if not var.hasUpdater:
					self.states[var] = {
						name: gpuarray.zeros(var.data.shape, dtype=var.data.dtype if stateType is None else stateType)
						for name, stateType in self.stateNames
					}

		return self

	def addHook(self, hook):
		self.hooks.append(hook)

	def zeroGradParams(self):
		if self.globalState is not None:
			for p, _ in self.globalState.values():
				p.grad.fill(0)
		else:
			for var in self.states:
				var.grad.fill(0)

	def variables(self):
		"""(var, first name) of every variable with a state, in name order."""
		return sorted(((var, min(self.vartable[var])) for var in self.states), key=lambda entry: entry[1])

	def update(self, stream=None):
		if self.module is None:
			raise self.error("update before setupOn")

		self.t += 1
		learnRate = self.stepLearnRate()

		for hook in self.hooks:
			hook(self)

		for var in self.customVars:
			var.update(learnRate)

		if self.globalState is not None:
			for dtype, (p, state) in self.globalState.items():
				uniform = all(var.learnRate == 1.0 and var.momRate == 1.0 for _, var in p.named)
				if uniform:
					self.updateChunk(p.data, p.grad, state, learnRate, None)
					continue

				# per-variable multipliers: the same rule over each variable's slice
				for var, offset, size in p.slots():
					if var.learnRate > 0:
						chunk = {name: ary[offset:offset + size] for name, ary in state.items()}
						self.updateChunk(p.data[offset:offset + size], p.grad[offset:offset + size], chunk, learnRate, var)
		else:
			for var, state in self.states.items():
				if var.learnRate > 0:
					self.updateChunk(var.data, var.grad, state, learnRate, var)

	def stepLearnRate(self):
		return self.learnRate

	def updateChunk(self, param, grad, state, learnRate, var):
		raise NotImplementedError()

	# --- files ------------------------------------------------------------------------------------

	def stateTensors(self):
		"""{file name: array} of the state: per variable by its first name, or each packed buffer."""
		if self.globalState is not None:
			return {"global.%s.%s" % (np.dtype(dtype).name, stateName): ary
				for dtype, (_, state) in self.globalState.items() for stateName, ary in state.items()}

		return {"%s.%s" % (name, stateName): ary
			for var, name in self.variables() for stateName, ary in self.states[var].items()}

	def save(self, hdf=None, name=None):
		"""Attributes and state tensors under group `name` ("optimizer"): a path, an open h5py File
		or Group, or None (returns the file image as bytes)."""
		name = "optimizer" if name is None else name

		def writeInto(group):
			root = group.create_group(name)
			attrs, states = root.create_group("attrs"), root.create_group("states")

			for attr in self.savedAttrs:
				attrs.create_dataset(attr, data=getattr(self, attr))
			for key, ary in self.stateTensors().items():
				states.create_dataset(key, data=ary.get())

		try:
			return Hdf.write(hdf, writeInto)
		except (Hdf.HdfError, OSError, ValueError, TypeError) as e:
			raise self.error("save: %s" % e) from None

	def load(self, hdf, name=None):
		"""Reads what save wrote; a file of another network or optimizer changes nothing."""
		name = "optimizer" if name is None else name

		def readFrom(group):
			if name not in group:
				raise Hdf.HdfError("the file holds no optimizer %r" % name)
			root = group[name]

			missing = [attr for attr in self.savedAttrs if attr not in root["attrs"]]
			if missing:
				raise Hdf.HdfError("the file lacks the attributes %s (saved by another optimizer?)" % ", ".join(missing))
			attrs = {attr: root["attrs"][attr][()] for attr in self.savedAttrs}

			staged = []
			for key, ary in self.stateTensors().items():
				if key not in root["states"]:
					raise Hdf.HdfError("the file has no state %r (saved for another network?)" % key)

				value = np.asarray(root["states"][key][()])
				if value.shape != tuple(ary.shape) or value.dtype != ary.dtype:
					raise Hdf.HdfError("state %r is %s %s in the file, %s %s here" % (
						key, value.shape, value.dtype, tuple(ary.shape), ary.dtype
					))
				staged.append((ary, value))

			return attrs, staged

		try:
			attrs, staged = Hdf.read(hdf, readFrom)
		except (Hdf.HdfError, OSError, ValueError, TypeError, KeyError) as e:
			raise self.error("load: %s" % e) from None

		for ary, value in staged:
			ary.set(value)
		for attr, value in attrs.items():
			setattr(self, attr, value.item() if hasattr(value, "item") else value)
