"""Hooks run by Optimizer.update after t advances and before the parameters move."""

from PuzzleLib.Backend.Kernels.ElementWise import weightDecayKer


class Hook:
	def __call__(self, optimizer):
		raise NotImplementedError()


class WeightDecay(Hook):
	"""L2 decay: every grad (the negative loss gradient) loses rate * param, before the update."""

	def __init__(self, rate):
		if not rate >= 0:
			raise ValueError("WeightDecay: rate must be >= 0, got %r" % (rate, ))
		self.rate = rate

	def __call__(self, optimizer):
		if optimizer.globalState is not None:
			for p, _ in optimizer.globalState.values():
				weightDecayKer(p.data.dtype)(p.grad, p.data, self.rate)
		else:
			for var in optimizer.states:
				weightDecayKer(var.data.dtype)(var.grad, var.data, self.rate)
