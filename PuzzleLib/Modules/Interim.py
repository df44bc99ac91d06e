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
