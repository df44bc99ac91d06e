"""Handler: walks data batch by batch through a module; the host variant cuts host data into
macro-batches first, uploads each and walks it. Prints nothing: scripts report from callbacks.

Data is a GPUArray (device) or an ndarray / h5py dataset (host), or a list of them where a module
takes several inputs; every array's first axis is the sample axis.
"""

import numpy as np

from PuzzleLib.Backend import gpuarray


class HandlerError(Exception):
	pass


def _asList(data):
	return (list(data), True) if isinstance(data, (list, tuple)) else ([data], False)


class Handler:
	def __init__(self, mod, onBatchFinish=None, batchsize=128):
		if not isinstance(batchsize, (int, np.integer)) or isinstance(batchsize, bool) or batchsize <= 0:
			raise HandlerError("batchsize must be a positive int, got %r" % (batchsize, ))

		self.module = mod
		self.onBatchFinish = onBatchFinish
		self.batchsize = int(batchsize)

		self.currBatch, self.totalBatches = 0, 0
		self.currMacroBatch, self.totalMacroBatches = 0, 0

	@staticmethod
	def sampleCount(arrays, what="data"):
		sizes = {int(ary.shape[0]) for ary in arrays}
		if len(sizes) != 1:
			raise HandlerError("%s arrays hold different numbers of samples: %s" % (what, sorted(sizes)))
		return sizes.pop()

	def handleFromHost(self, data, state=None, macroBatchSize=10000, onMacroBatchFinish=None, random=True):
		"""data: host arrays (a list where several go together, e.g. [inputs, targets])."""
		arrays, _ = _asList(data)
		size = self.sampleCount(arrays)

		if not isinstance(macroBatchSize, (int, np.integer)) or macroBatchSize <= 0:
			raise HandlerError("macroBatchSize must be a positive int, got %r" % (macroBatchSize, ))

		order = np.random.permutation(size) if random else None
		starts = list(range(0, size, macroBatchSize))
		self.totalMacroBatches = len(starts)

		for self.currMacroBatch, start in enumerate(starts):
			stop = min(start + macroBatchSize, size)
			if order is not None:
				indices = np.sort(order[start:stop])        # h5py reads increasing indices only
				chunk = [gpuarray.to_gpu(np.ascontiguousarray(ary[indices])) for ary in arrays]
			else:
				chunk = [gpuarray.to_gpu(np.ascontiguousarray(ary[start:stop])) for ary in arrays]

			self.handle(chunk, state, random)

			if onMacroBatchFinish is not None:
				onMacroBatchFinish(self)

	def handle(self, data, state=None, random=True):
		"""data: device arrays, handled batch by batch (batches in a permuted order when random)."""
		arrays, _ = _asList(data)
		size = self.sampleCount(arrays)

		batches = -(-size // self.batchsize)
		order = np.random.permutation(batches) if random else range(batches)
		self.totalBatches = batches

		for self.currBatch, index in enumerate(order):
			start = int(index) * self.batchsize
			stop = min(start + self.batchsize, size)
			self.handleBatch([ary[start:stop] for ary in arrays], index, state)

			self.module.reset()
			if self.onBatchFinish is not None:
				self.onBatchFinish(self)

	def handleBatch(self, batch, idx, state):
		raise NotImplementedError()
