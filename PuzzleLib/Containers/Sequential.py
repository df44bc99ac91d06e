"""Sequential: runs its modules in order; backward accumulates parameter grads by default."""

from PuzzleLib import Config
from PuzzleLib.Containers.Container import Container, ContainerError
from PuzzleLib.Modules.Module import ModuleError


class Sequential(Container):
	def __init__(self, name=None):
		super().__init__(name)
		self.registerBlueprint(locals())

	def append(self, mod, acquire=True):
		self.checkCompatibility(mod, list(self.modules.values()))
		return super().append(mod, acquire)

	def checkCompatibility(self, mod, before):
		"""An inplace module overwrites its input, which a module before it whose backward reads its
		own output still needs (modules that only move data pass that output on unchanged)."""
		if Config.disableModuleCompatChecks or not getattr(mod, "inplace", False):
			return

		for prev in reversed(before):
			if prev.movesData:
				continue

			if prev.gradUsesOutData:
				raise self.error(
					"%s is inplace after %s, whose backward needs its output; the inplace module would "
					"overwrite it (set Config.disableModuleCompatChecks to allow)" % (mod, prev)
				)
			return

	def extend(self, container, acquire=True):
		for mod in list(container.modules.values()):
			self.append(mod, acquire)
		return self

	def pop(self):
		if not self.modules:
			raise self.error("pop from an empty Sequential")
		return self.modules.popitem(last=True)[1]

	def insert(self, mod, index, acquire=True):
		mods = list(self.modules.values())
		if not -len(mods) - 1 <= index <= len(mods):
			raise self.error("insert index %d is out of range for %d modules" % (index, len(mods)))

		index = index if index >= 0 else len(mods) + 1 + index
		self.checkCompatibility(mod, mods[:index])

		rest = mods[index:]
		for name in [m.name for m in rest]:
			del self.modules[name]

		try:
			super().append(mod, acquire)
		finally:
			for m in rest:
				self.modules[m.name] = m
		return self

	def insertAfter(self, mod, name, acquire=True):
		names = list(self.modules)
		if name not in names:
			raise self.error("no module named %r to insert after" % name)
		return self.insert(mod, names.index(name) + 1, acquire)

	def __getitem__(self, item):
		if isinstance(item, str):
			return super().__getitem__(item)

		mods = list(self.modules.values())
		if isinstance(item, slice):
			seq = Sequential()
			for mod in mods[item]:
				seq.modules[mod.name] = mod         # shares the modules, keeps their names
			return seq

		try:
			return mods[item]
		except IndexError:
			raise self.error("index %d is out of range for %d modules" % (item, len(mods))) from None
		except TypeError:
			raise self.error("index with an int, a slice or a name, got %r" % (item, )) from None

	def __len__(self):
		return len(self.modules)

	def updateData(self, data):
		for index, mod in enumerate(self.modules.values()):
			try:
				data = mod(data)
			except ModuleError as e:
				raise ContainerError("%s: module %d (%s) failed: %s" % (self, index, mod, e)) from e

		self.data = data

	def backward(self, grad, updParamGrads=True, updGrad=True, scale=1.0, momentum=1.0):
		mods = list(self.modules.values())

		for index in reversed(range(len(mods))):
			mod = mods[index]
			try:
				# the first module's input grad goes nowhere when the caller does not want it
				mod.backward(grad, updParamGrads=updParamGrads, updGrad=updGrad or index > 0, scale=scale,
				             momentum=momentum)
			except ModuleError as e:
				raise ContainerError("%s: module %d (%s) failed in backward: %s" % (self, index, mod, e)) from e
			grad = mod.grad

		self.grad = mods[0].grad if mods and updGrad else None

	def dataShapeFrom(self, shape):
		for mod in self.modules.values():
			shape = mod.dataShapeFrom(shape)
		return shape

	def gradShapeFrom(self, shape):
		for mod in reversed(list(self.modules.values())):
			shape = mod.gradShapeFrom(shape)
		return shape
