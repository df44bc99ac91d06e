"""Dropout: in train mode zeroes each element with probability p and scales the kept ones by 1/(1 - p).

The mask is not stored: each forward pass reserves a fresh draw of the Philox stream (rng.reserve)
and the table's dropout entry recomputes the element's uniform u from it, keeping the element when
u >= p. Backward runs the same entry with the same draw on the gradient, so it applies exactly the
forward's mask and scale.
"""

from numbers import Real

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Backend.Kernels import ElementWise
from PuzzleLib.Kernels.Launch import KernelError, checkSlice, checkStream
from PuzzleLib.Modules.Module import Module, ShapeKeeping


class Dropout(ShapeKeeping, Module):
	def __init__(self, p=0.5, rng=gpuarray.globalRng, slicing=None, inplace=False, name=None):
		super().__init__(name)
		self.registerBlueprint(locals(), exclude=["rng"])

		if isinstance(p, bool) or not isinstance(p, Real) or not 0 <= p < 1:
			raise self.error("p (the drop probability) must be a number in [0, 1), got %r" % (p, ))

		if slicing is not None:
			try:
				checkSlice(slicing)
			except KernelError as e:
				raise self.error("slicing: %s" % e) from None

		if not isinstance(inplace, bool):
			raise self.error("inplace must be True or False, got %r" % (inplace, ))

		if not callable(getattr(rng, "reserve", None)):
			raise self.error("rng must be a generator with reserve(size), such as gpuarray.globalRng, got %r" % (rng, ))

		self.p = float(p)
		self.scale = 1.0 / (1.0 - self.p)
		self.rng = rng
		self.slice = slicing
		self.inplace = inplace
		self.stream = None                 # the (key, counter) of the last train-mode forward pass
		self.plan = None                   # what a pass of the last dtype and size runs (see _plan)

		if inplace and Config.showWarnings:
			Config.getLogger().warning("%s is using inplace flag", self)

	def _apply(self, source, stream):
		"""The dropout entry over source into a fresh output (or over source when inplace).

		When the module has checked its arrays (type, contiguity, dtype, shape), the kernel runs
		without checking them again, as the plan made at the first pass of this dtype and size says
		(the kernel, p and scale checked in its compute type, the slice resolved); the stream is
		still checked, as rng is the caller's. Otherwise (Config.disableDtypeShapeChecks) the
		kernel checks everything, and a KernelError is a ModuleError.
		"""
		if Config.disableDtypeShapeChecks:
			return self._applyChecked(source, stream)

		plan = self.plan
		if plan is None or plan[0] is not source.dtype or plan[1] != source.size or plan[2] is not self.slice or \
				plan[3] is not self.p or plan[4] is not self.scale:
			plan = self._plan(source.dtype, source.size)

		kernel, call = plan[5:]
		try:
			key, counter = stream
		except (TypeError, ValueError):          # not a pair: the kernel's check says what is wrong
			return self._applyChecked(source, stream)
		try:
			key, counter = checkStream(kernel.name, key, counter)
		except KernelError as e:
			raise self.error(str(e)) from None

		out = self._output(source)
		if call is not None:                     # None: the slice selects no element
			call(out, source, key, counter)
		return out

	def _plan(self, dtype, size):
		"""What a pass of dtype and size runs, made once: the kernel, and its call bound to p and
		scale (checked in its compute type) and the slice resolved."""
		try:
			kernel = ElementWise.dropoutKer(dtype)
			args = kernel.checkArgs((self.p, self.scale))
			span = kernel.spans(self.slice, size)
		except KernelError as e:
			raise self.error(str(e)) from None

		call = kernel.bind(span, args) if span.count > 0 else None
		plan = self.plan = (dtype, size, self.slice, self.p, self.scale, kernel, call)
		return plan

	def _applyChecked(self, source, stream):
		try:
			kernel = ElementWise.dropoutKer(source.dtype)
			out = self._output(source)
			kernel(out, source, self.p, self.scale, *stream, slice=self.slice)
		except KernelError as e:
			raise self.error(str(e)) from None

		return out

	def _output(self, source):
		return self.passOutput(source, self.inplace, self.slice)

	def updateData(self, data):
		if not self.train:
			self.data = data
			return

		stream = self.rng.reserve(data.size)
		self.data = self._apply(data, stream)
		self.stream = stream

	def backward(self, grad, updParamGrads=True, updGrad=True, scale=1.0, momentum=0.0):
		if self.train and self.stream is None:
			raise self.error("backward called in train mode before a train-mode forward pass (it applies that pass's mask)")

		super().backward(grad, updParamGrads, updGrad, scale, momentum)

	def updateGrad(self, grad):
		self.grad = self._apply(grad, self.stream) if self.train else grad

	def checkGradShape(self, shape):
		if self.inData is not None and shape != self.inData.shape:
			raise self.error("grad has shape %s, the data had shape %s" % (shape, self.inData.shape))

	def reset(self):
		super().reset()
		self.stream = None

