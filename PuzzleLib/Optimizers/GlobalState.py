"""Packs the variables of a module tree into one buffer per dtype, so one kernel updates them all.

Each variable's data and grad become views of a flat array (its slice starting 256-byte aligned,
so vectorized kernels see aligned pointers); the modules are re-bound to the views. A variable
shared by several modules (tied weights) is one variable, so it stays one slice.
(INTERIM: the flat arrays are plain gpuarrays until gpuarray.SharedArray lands.)
"""

import numpy as np

from PuzzleLib.Backend import gpuarray


ALIGN_BYTES = 256


class Pack:
	"""The flat data and grad arrays of one dtype, and each variable's (offset, size, shape)."""

	def __init__(self, dtype, variables):
		self.dtype = np.dtype(dtype)
		align = max(1, ALIGN_BYTES // self.dtype.itemsize)

		self.slots, offset = [], 0
		for var in variables:
			self.slots.append((var, offset, var.data.size, var.data.shape))
			offset += -(-var.data.size // align) * align

		self.size = offset
		self.data = gpuarray.zeros((offset, ), dtype=self.dtype)
		self.grad = gpuarray.zeros((offset, ), dtype=self.dtype)

	def view(self, flat, offset, size, shape):
		return flat[offset:offset + size].reshape(shape)

	def bind(self):
		"""Copies every variable in and makes its data and grad views of the flat arrays."""
		for var, offset, size, shape in self.slots:
			data = self.view(self.data, offset, size, shape)
			gpuarray.copy(data, var.data)
			var.data = data

			grad = self.view(self.grad, offset, size, shape)
			if getattr(var, "grad", None) is not None:
				gpuarray.copy(grad, var.grad)
			var.grad = grad

	def stateLike(self, dtype=None):
		return gpuarray.zeros((self.size, ), dtype=self.dtype if dtype is None else dtype)


def pack(vartable):
	"""{dtype: Pack} of the variables without a custom updater, each dtype's sorted by first name."""
	byType = {}
	for var, names in vartable.items():
		if not var.hasUpdater:
			byType.setdefault(var.data.dtype, []).append((min(names), var))

	return {dtype: Pack(dtype, [var for _, var in sorted(entries, key=lambda e: e[0])]) for dtype, entries in byType.items()}


def rebind(module, vartable):
	"""Points every module holding a variable at its (new) data."""
	for var, names in vartable.items():
		for name in names:
			module.setVar(name, var)
