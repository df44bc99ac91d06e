"""Calculator: the module's outputs for all the data, in order, in eval mode."""

import numpy as np

from PuzzleLib.Backend import gpuarray
from PuzzleLib.Handlers.Handler import Handler


class Calculator(Handler):
	def __init__(self, mod, onBatchFinish=None, batchsize=128):
		super().__init__(mod, onBatchFinish, batchsize)
		self.outputs = None

	def calcFromHost(self, data, macroBatchSize=10000, onMacroBatchFinish=None):
		"""numpy outputs of every sample, whatever the data size (a short last macro-batch too)."""
		self.module.evalMode()
		self.outputs = []
		self.handleFromHost([data], None, macroBatchSize, onMacroBatchFinish, random=False)
		return np.concatenate(self.outputs, axis=0)

	def calc(self, data):
		"""Device outputs of every sample."""
		self.module.evalMode()
		self.outputs = []
		self.handle([data], None, random=False)

		outputs = np.concatenate(self.outputs, axis=0)
		return gpuarray.to_gpu(outputs)

	def handleBatch(self, batch, idx, state):
		self.outputs.append(self.module(batch[0]).get())
