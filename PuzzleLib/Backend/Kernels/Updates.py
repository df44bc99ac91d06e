"""The update kernels of the optimizers, with the original's call signatures:

    toVectorAddVectorKer(dtype)(y, x, alpha)                        y += alpha x
    classicMomSGDKer(dtype)(param, grad, mom, lr, momRate)
    nesterovSGDKer(dtype)(param, grad, mom, lr, momRate)
    rmspropKer(dtype)(param, grad, ms, lr, factor, epsilon)
    adamKer(dtype)(param, grad, mg, ms, lr, fix1, fix2, epsilon)
    weightDecayKer(dtype)(grad, param, rate)                        grad -= rate param

Each updates its arrays in place by one pass of the rule in PuzzleLib/Kernels/Updates.py; a
`stream=` keyword is accepted and ignored. (INTERIM: evaluated with numpy on the host view of the
arrays, until the rules become entries of the generated elementwise table.)
"""

import functools

import numpy as np

from PuzzleLib.Backend import gpuarray
from PuzzleLib.Backend.HostAccess import readHost, writeHost
from PuzzleLib.Kernels.Launch import KernelError, kernelDtype
from PuzzleLib.Kernels.Updates import TABLE


class _Math:
	"""What an update rule calls on m, over numpy arrays of the compute type."""
	sqrt = staticmethod(np.sqrt)


class UpdateKernel:
	def __init__(self, spec, dtype):
		self.spec, self.dtype = spec, dtype
		self.computeType = np.float64 if dtype == np.float64 else np.float32
		self.name = "%s_%s" % (spec.name, dtype)

	def __call__(self, *operandsAndArgs, stream=None):
		count = len(self.spec.operands)
		operands, args = operandsAndArgs[:count], operandsAndArgs[count:]

		if len(operands) != count or len(args) != len(self.spec.params):
			raise KernelError("%s kernel takes %s then %s, got %d argument(s)" % (
				self.name, ", ".join(self.spec.operands), ", ".join(self.spec.params), len(operandsAndArgs)
			))

		for name, ary in zip(self.spec.operands, operands):
			if not isinstance(ary, gpuarray.GPUArray):
				raise KernelError("%s kernel: %s must be a GPUArray, got %s" % (self.name, name, type(ary).__name__))
			if ary.size != operands[0].size:
				raise KernelError("%s kernel: %s has %d elements, %s has %d" % (
					self.name, name, ary.size, self.spec.operands[0], operands[0].size
				))
			if ary.dtype not in (self.dtype, np.float32):
				raise KernelError("%s kernel: %s has dtype %s" % (self.name, name, ary.dtype))

		ctype = self.computeType
		values = [readHost(ary).reshape(-1) for ary in operands]
		values = [v if v.dtype == ctype else v.astype(ctype) for v in values]
		results = self.spec.formula(_Math, *values, *(ctype(arg) for arg in args))

		for name, result in zip(self.spec.written, results):
			writeHost(operands[self.spec.operands.index(name)], result)


def _factory(spec):
	@functools.lru_cache(maxsize=None)
	def factory(dtype):
		return UpdateKernel(spec, kernelDtype(dtype))

	factory.__name__ = "%sKer" % spec.name
	return factory


__all__ = []
for _spec in TABLE.values():
	globals()["%sKer" % _spec.name] = _factory(_spec)
	__all__.append("%sKer" % _spec.name)
