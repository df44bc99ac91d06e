"""Container: a module made of named child modules; parameters, modes and files reach every child."""

from collections import OrderedDict

from PuzzleLib.Modules.Module import Module, ModuleError


class ContainerError(ModuleError):
	pass


class Container(Module):
	def __init__(self, name=None):
		super().__init__(name)
		self.modules = OrderedDict()

	def error(self, problem):
		return ContainerError("%s: %s" % (self, problem))

	def append(self, mod, acquire=True):
		if not isinstance(mod, Module):
			raise self.error("can only hold modules, got %s" % type(mod).__name__)

		if mod.name is None:
			mod.name = str(len(self.modules))

		if mod.name in self.modules:
			if not acquire:
				raise self.error("a module named %r is already in the container" % mod.name)

			base, index = mod.name, 1
			while "%s_%d" % (base, index) in self.modules:
				index += 1
			mod.name = "%s_%d" % (base, index)

		self.modules[mod.name] = mod
		return self

	def getByName(self, name):
		if name in self.modules:
			return self.modules[name]

		for mod in self.modules.values():
			if isinstance(mod, Container):
				found = mod.getByName(name)
				if found is not None:
					return found

		return None

	def getAllByType(self, typename):
		found = []
		for mod in self.modules.values():
			if isinstance(mod, typename):
				found.append(mod)
			if isinstance(mod, Container):
				found.extend(mod.getAllByType(typename))

		return found

	def __getitem__(self, name):
		try:
			return self.modules[name]
		except KeyError:
			raise self.error("no module named %r (it holds %s)" % (name, ", ".join(self.modules) or "none")) from None

	def childAndRest(self, name):
		childName, _, rest = name.partition(".")
		if not rest:
			raise self.error("a variable name here is '<child>.<name>', got %r" % name)

		return self[childName], rest

	def setVar(self, name, var):
		child, rest = self.childAndRest(name)
		child.setVar(rest, var)

	def getVar(self, name):
		child, rest = self.childAndRest(name)
		return child.getVar(rest)

	def getVarTable(self, vartable=None, name=None, root=True):
		vartable = {} if vartable is None else vartable
		prefix = "" if root or name is None else name       # the root's own name is not part of the names

		for childName, mod in self.modules.items():
			mod.getVarTable(vartable, "%s%s." % (prefix, childName), root=False)

		return vartable

	def zeroGradParams(self):
		for var in self.getVarTable():
			if getattr(var, "grad", None) is not None:
				var.grad.fill(0)

	def updateParams(self, learnRate):
		for var in self.getVarTable():      # a tied variable is one key, so it moves once
			if getattr(var, "grad", None) is not None:
				var.data += var.grad * learnRate

	def trainMode(self):
		self.train = True
		self.reset()
		for mod in self.modules.values():
			mod.trainMode()

	def evalMode(self):
		self.train = False
		self.reset()
		for mod in self.modules.values():
			mod.evalMode()

	def reset(self):
		super().reset()
		for mod in self.modules.values():
			mod.reset()

	def calcMode(self, T):
		for mod in self.modules.values():
			mod.calcMode(T)
		self.calctype = T

	def checkDataType(self, dtype):
		pass                    # each child checks what it is given

	def checkGradType(self, dtype):
		pass

	def genericCheckDataType(self, dtype):
		pass

	def numOfParams(self):
		return sum(var.data.size for var in self.getVarTable())

	def paramSize(self, unit=None):
		size = sum(var.data.nbytes for var in self.getVarTable())
		return size if unit is None else size / {"kb": 1024, "mb": 1024**2}[str(getattr(unit, "value", unit))]

	def getBlueprint(self):
		blueprint = super().getBlueprint()
		blueprint["modules"] = {name: mod.getBlueprint() for name, mod in self.modules.items()}
		return blueprint

	def writeParams(self, group, varlinks, name=None, compress="gzip", assumeUniqueNames=False):
		"""Every child's entries under '<name>.<child>', into one file with one varlinks: a variable
		shared by several children (tied weights) is stored once."""
		name = self.paramName(name)
		for childName, mod in self.modules.items():
			mod.writeParams(group, varlinks, "%s.%s" % (name, childName), compress, assumeUniqueNames)

	def readParams(self, group, pending, name=None, assumeUniqueNames=False):
		name = self.paramName(name)
		for childName, mod in self.modules.items():
			mod.readParams(group, pending, "%s.%s" % (name, childName), assumeUniqueNames)
