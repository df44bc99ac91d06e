"""Packs the variables of a module tree into one gpuarray.SharedArray per dtype for data and one
for grads, so one kernel updates them all. Every variable is re-bound to views of the buffers (a
module reads `module.W` through its variable, so the modules follow); a variable shared by several
modules (tied weights) is one variable, so it stays one slice.
"""

from PuzzleLib.Backend import gpuarray


class Pack:
	"""The shared data and grad buffers of one dtype, and each variable's first name."""

	def __init__(self, dtype, named):
		self.dtype = dtype
		self.named = named                   # [(first name, var)], sorted by name
		self.dataShared, self.gradShared = gpuarray.SharedArray(dtype), gpuarray.SharedArray(dtype)

		for name, var in named:
			self.dataShared.register(var.data.shape, dtype, name)
			self.gradShared.register(var.data.shape, dtype, name)

		self.dataShared.build()
		self.gradShared.build()

		self.data, self.grad = self.dataShared.ary, self.gradShared.ary
		self.size = self.data.size

	def bind(self):
		"""Copies every variable in and makes its data and grad views of the buffers."""
		for name, var in self.named:
			data, grad = self.dataShared[name], self.gradShared[name]
			gpuarray.copy(data, var.data)
			if getattr(var, "grad", None) is not None:
				gpuarray.copy(grad, var.grad)
			var.data, var.grad = data, grad

	def slots(self):
		"""(var, offset, size) of each variable inside the flat buffers."""
		return [(var, offset, var.data.size) for (name, var), (_, _, offset) in zip(self.named, self.dataShared.regs)]

	def stateLike(self, dtype=None):
		return gpuarray.zeros((self.size, ), dtype=self.dtype if dtype is None else dtype)


def pack(vartable):
	"""{dtype: Pack} of the variables without a custom updater, each dtype's sorted by first name."""
	byType = {}
	for var, names in vartable.items():
		if not var.hasUpdater:
			byType.setdefault(var.data.dtype, []).append((min(names), var))

	packs = {dtype: Pack(dtype, sorted(named, key=lambda entry: entry[0])) for dtype, named in byType.items()}
	for p in packs.values():
		p.bind()
	return packs
