"""Variable: a trainable tensor, its gradient and the per-variable multipliers optimizers read."""

import itertools

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray


class Variable:
	"""Variable(data, name=None, withgrad=True, grad=None, updater=None, postUpdater=None).

	A variable with an updater is changed only by it (var.update(lr) calls updater(var, lr)): it
	gets no gradient and no multipliers. Otherwise grad is the one given, else zeros like data
	(unless withgrad is False or Config.globalEvalMode is on, then None), and an optimizer scales
	its steps by learnRate and momRate and decays it by wc.
	"""

	_names = itertools.count()

	def __init__(self, data, name=None, withgrad=True, grad=None, updater=None, postUpdater=None):
		if not isinstance(data, gpuarray.GPUArray):
			raise TypeError("Variable data must be a GPUArray (use gpuarray.to_gpu), got %s" % type(data).__name__)

		if grad is not None and (
			not isinstance(grad, gpuarray.GPUArray) or grad.shape != data.shape or grad.dtype != data.dtype
		):
			raise TypeError("Variable grad must be a GPUArray of the data's shape %s and dtype %s" % (data.shape, data.dtype))

		if updater is not None and not callable(updater):
			raise TypeError("Variable updater must be callable as updater(var, learnRate)")

		self.name = str(next(Variable._names)) if name is None else name
		self.data = data
		self.updater = updater

		self.grad = None
		self.postUpdater = None

		if updater is not None:
			return

		self.postUpdater = postUpdater

		if grad is not None:
			self.grad = grad
		elif withgrad and not Config.globalEvalMode:
			self.grad = gpuarray.zeros(data.shape, dtype=data.dtype)

		self.learnRate = 1.0
		self.momRate = 1.0
		self.wc = 0.0

	@property
	def hasUpdater(self):
		return self.updater is not None

	@property
	def hasPostUpdater(self):
		return self.postUpdater is not None

	def update(self, learnRate):
		self.updater(self, learnRate)

	def set(self, other):
		"""Copies other's data into this variable's (and its grad, where both have one)."""
		gpuarray.copy(self.data, other.data)

		if self.grad is not None and getattr(other, "grad", None) is not None:
			gpuarray.copy(self.grad, other.grad)

	def __repr__(self):
		return "Variable(name=%r, shape=%s, dtype=%s)" % (self.name, self.data.shape, self.data.dtype)
