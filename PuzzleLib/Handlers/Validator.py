"""Validator: in eval mode and in order, the batch-size-weighted mean of cost.validate."""

from PuzzleLib.Handlers.Handler import Handler


class Validator(Handler):
	def __init__(self, mod, cost, onBatchFinish=None, batchsize=128):
		super().__init__(mod, onBatchFinish, batchsize)
		self.cost = cost
		self.error = None
		self.weighted, self.samples = 0.0, 0

	def prepare(self):
		self.module.evalMode()
		self.weighted, self.samples = 0.0, 0

	def finish(self):
		self.error = self.weighted / self.samples if self.samples else 0.0
		return self.error

	def validateFromHost(self, data, target, macroBatchSize=10000, onMacroBatchFinish=None):
		self.prepare()
		self.handleFromHost([data, target], None, macroBatchSize, onMacroBatchFinish, random=False)
		return self.finish()

	def validate(self, data, target):
		self.prepare()
		self.handle([data, target], None, random=False)
		return self.finish()

	def handleBatch(self, batch, idx, state):
		data, target = batch
		size = data.shape[0]
		self.weighted += self.cost.validate(self.module(data), target) * size
		self.samples += size
