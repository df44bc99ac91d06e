"""Activation: applies one of the table's non-linearities elementwise, over all or a flat slice."""

from enum import Enum

from PuzzleLib import Config
from PuzzleLib.Backend.Kernels import ElementWise
from PuzzleLib.Kernels.Activations import ACTIVATIONS, ActivationArgsError, checkArgs
from PuzzleLib.Kernels.Launch import KernelError, checkOverlap, checkSlice
from PuzzleLib.Modules.Module import Module, ModuleError, ShapeKeeping


ActivationType = Enum("ActivationType", {name: name for name in ACTIVATIONS}, type=str, module=__name__)
ActivationType.__doc__ = "The activations by name; a member equals its name as a str."

globals().update(ActivationType.__members__)
__all__ = ["Activation", "ActivationType"] + list(ActivationType.__members__)


class Activation(ShapeKeeping, Module):
	def __init__(self, activation, slc=None, inplace=False, name=None, args=()):
		super().__init__(name)
		self.registerBlueprint(locals())

		self.gradUsesOutData = True

		spec = ACTIVATIONS.get(activation) if isinstance(activation, str) else None
		if spec is None:
			raise self.error("unknown activation %r; valid ones are: %s" % (activation, ", ".join(ACTIVATIONS)))

		if slc is not None:
			try:
				checkSlice(slc)
			except KernelError as e:
				raise self.error("slc: %s" % e) from None

		if not isinstance(inplace, bool):
			raise self.error("inplace must be True or False, got %r" % (inplace, ))

		try:
			args = spec.defaults if isinstance(args, (tuple, list)) and len(args) == 0 else args
			self.actArgs = checkArgs(spec, args)
		except (ActivationArgsError, TypeError) as e:
			raise self.error("args: %s" % e) from None

		self.activation = ActivationType(spec.name)
		self.slc = slc
		self.inplace = inplace

		self.actFunc = getattr(ElementWise, "%sKer" % spec.name)
		self.actFuncDer = getattr(ElementWise, "%sDerKer" % spec.name)
		self.plans = {}         # actFunc or actFuncDer -> its plan for the last dtype and size (see _plan)

		if inplace and Config.showWarnings:
			Config.getLogger().warning("%s is using inplace flag", self)

	def _output(self, source):
		return self.passOutput(source, self.inplace, self.slc)

	def _apply(self, kernels, source, operands):
		"""Runs one kernel (kernels: actFunc or actFuncDer) into a fresh output (or over source when inplace).

		When the module has checked its arrays (type, contiguity, dtype, shape), the kernel runs
		without checking them again, as the plan made at the first pass of this dtype and size says
		(the kernel, its args checked in its compute type, the slice resolved); only an inplace
		pass, whose output is an array the caller gave, still needs the overlap check. Otherwise
		(Config.disableDtypeShapeChecks, or a backward after calcMode changed the dtype) the kernel
		checks everything, and a KernelError is a ModuleError.
		"""
		dtype = source.dtype
		# operands[0] is source; a backward's output data may predate a calcMode
		if Config.disableDtypeShapeChecks or (
			len(operands) > 1 and operands[1].dtype is not dtype and operands[1].dtype != dtype
		):
			return self._applyChecked(kernels, source, operands)

		plan = self.plans.get(kernels)
		if plan is None or plan[0] is not dtype or plan[1] != source.size or plan[2] is not self.slc or \
				plan[3] is not self.actArgs:
			plan = self._plan(kernels, dtype, source.size)

		out = self._output(source)
		call = plan[5]
		if call is not None:                   # None: the slice selects no element
			if self.inplace:
				self._checkOverlap(plan[4], (out, ) + operands)
			call(out, *operands)
		return out

	def _plan(self, kernels, dtype, size):
		"""What a pass of dtype and size runs, made once: the kernel, and its call bound to the args
		(checked at construction; whether they fit the compute type is the kernel's to say) and the
		slice resolved."""
		try:
			kernel = kernels(dtype)
			args = kernel.checkArgs(self.actArgs) if self.actArgs else ()
			span = kernel.spans(self.slc, size)
		except KernelError as e:
			raise self.error(str(e)) from None

		call = kernel.bind(span, args) if span.count > 0 else None
		plan = self.plans[kernels] = (dtype, size, self.slc, self.actArgs, kernel, call)
		return plan

	def _applyChecked(self, kernels, source, operands):
		try:
			kernel = kernels(source.dtype)
			out = self._output(source)
			kernel(out, *operands, *self.actArgs, slice=self.slc)
		except KernelError as e:
			raise self.error(str(e)) from None

		return out

	def _checkOverlap(self, kernel, arrays):
		try:
			checkOverlap(kernel.name, arrays)
		except KernelError as e:
			raise self.error(str(e)) from None

	def updateData(self, data):
		self.data = self._apply(self.actFunc, data, (data, ))

	def backward(self, grad, updParamGrads=True, updGrad=True, scale=1.0, momentum=0.0):
		if self.data is None:
			raise self.error("backward called before forward (the gradient is computed from the output)")

		super().backward(grad, updParamGrads, updGrad, scale, momentum)

	def updateGrad(self, grad):
		self.grad = self._apply(self.actFuncDer, grad, (grad, self.data))

	def checkGradShape(self, shape):
		if shape != self.data.shape:
			raise self.error("grad has shape %s, the output has shape %s" % (shape, self.data.shape))

