"""The CUDA backend's elementwise kernels: Source's text, compiled by pycuda, launched prepared.

A module (one activation, dtype and variant, both directions) is compiled once per process
(pycuda also keeps the binary in its disk cache); its functions are prepared once; a call does
its checks, picks the variant and grid (LaunchPlan) and launches. Nothing is formatted or
compiled per call.
"""

import functools

import pycuda.driver as drv
from pycuda.compiler import SourceModule

from PuzzleLib.Cuda import LaunchPlan, Source
from PuzzleLib.Cuda.GPUArray import GPUArray, isContiguous
from PuzzleLib.Kernels.Launch import ElementwiseKernel


@functools.lru_cache(maxsize=None)
def module(spec, dtype, variant):
	"""The compiled module: exactly Source.moduleSource, which carries its own extern "C"."""
	return SourceModule(Source.moduleSource(spec, dtype, variant), options=list(Source.NVCC_OPTIONS), no_extern_c=True)


@functools.lru_cache(maxsize=None)
def function(spec, direction, dtype, variant):
	"""The kernel's prepared function (its argument packing fixed once)."""
	compiled = module(spec, dtype, variant).get_function(Source.kernelName(spec, direction, dtype, variant))
	compiled.prepare(Source.argFormat(spec, direction, dtype, variant))
	return compiled


class LaunchError(RuntimeError):
	"""The driver refused a launch (its grid or block over the device's limits, a lost context)."""


@functools.lru_cache(maxsize=None)
def blocksCap():
	"""The most blocks a launch uses on this device (see LaunchPlan.WAVES)."""
	device = drv.Context.get_device()
	return LaunchPlan.maxBlocks(
		device.get_attribute(drv.device_attribute.MULTIPROCESSOR_COUNT),
		device.get_attribute(drv.device_attribute.MAX_THREADS_PER_MULTIPROCESSOR)
	)


class Kernel(ElementwiseKernel):
	"""ker(out, *operands, *args, slice=None), checked as ElementwiseKernel checks it.

	Launches are asynchronous, as pycuda's: errors of a launch itself (not of its arguments)
	surface at the next synchronizing call.
	"""

	arrayType = GPUArray
	isContiguous = staticmethod(isContiguous)

	def __init__(self, spec, direction, dtype):
		super().__init__(spec, direction, dtype)
		self.itemsize = dtype.itemsize
		self.blocksCap = blocksCap()

		# compiled now, so that xxxKer(dtype) hands out a ready kernel and a bad toolchain shows at once
		self.functions = {variant: function(spec, direction, dtype, variant) for variant in Source.VARIANTS}

	def run(self, out, operands, span, args):
		pointers = [out.ptr]
		for operand in operands:
			pointers.append(operand.ptr)

		variant, pointers, counts, grid = LaunchPlan.plan(pointers, self.itemsize, span, self.blocksCap)
		try:
			self.functions[variant].prepared_call(grid, LaunchPlan.BLOCK_SHAPE, *pointers, *counts, *args)
		except drv.Error as e:
			raise LaunchError("%s kernel (%s): the driver refused its launch of grid %s x block %s: %s" % (
				self.name, variant, grid, LaunchPlan.BLOCK_SHAPE, e
			)) from e


@functools.lru_cache(maxsize=None)
def kernel(spec, direction, dtype):
	"""The memoized kernel of one activation, direction ("forward"/"backward") and dtype."""
	return Kernel(spec, direction, dtype)
