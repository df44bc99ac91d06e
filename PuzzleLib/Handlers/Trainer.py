"""Trainer: per batch, grad = cost(module(x), y); zero the grads; backward; one optimizer step."""

from PuzzleLib.Handlers.Handler import Handler, HandlerError


class Trainer(Handler):
	def __init__(self, mod, cost, optimizer, onBatchFinish=None, batchsize=128):
		super().__init__(mod, onBatchFinish, batchsize)
		self.cost, self.optimizer = cost, optimizer

	def prepare(self):
		if self.optimizer.module is None:
			raise HandlerError("the optimizer is not set up on a module (call optimizer.setupOn(net))")

		self.cost.resetAccumulator()
		self.module.trainMode()

	def trainFromHost(self, data, target, macroBatchSize=10000, onMacroBatchFinish=None, random=True):
		self.prepare()
		self.handleFromHost([data, target], None, macroBatchSize, onMacroBatchFinish, random)

	def train(self, data, target, random=True):
		self.prepare()
		self.handle([data, target], None, random)

	def handleBatch(self, batch, idx, state):
		data, target = batch
		grad = self.cost(self.module(data), target, queryError=False)

		self.optimizer.zeroGradParams()
		self.module.backward(grad, updGrad=False)
		self.optimizer.update()
