"""The CUDA backend's elementwise kernels: Source's text, compiled by pycuda, launched prepared.

A module (one table entry, dtype and variant) is compiled once per process
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
def module(op, dtype, variant):
	"""The compiled module: exactly Source.moduleSource, which carries its own extern "C"."""
	return SourceModule(Source.moduleSource(op, dtype, variant), options=list(Source.NVCC_OPTIONS), no_extern_c=True)


@functools.lru_cache(maxsize=None)
def function(op, dtype, variant):
	"""The kernel's prepared function (its argument packing fixed once)."""
	compiled = module(op, dtype, variant).get_function(Source.kernelName(op, dtype, variant))
	compiled.prepare(Source.argFormat(op, dtype, variant))
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


@functools.lru_cache(maxsize=None)
def philoxWords():
	"""words(out, key, counter): the Philox stream's raw words into a contiguous uint32 array."""
	compiled = SourceModule(Source.wordsSource(), options=list(Source.NVCC_OPTIONS), no_extern_c=True)
	function = compiled.get_function("philox_words")
	function.prepare(Source.WORDS_FORMAT)
	cap = blocksCap()

	def words(out, key, counter):
		grid = LaunchPlan.gridShape(-(-out.size // 4), cap)
		function.prepared_call(grid, LaunchPlan.BLOCK_SHAPE, out.ptr, out.size, key, counter)

	return words


class Kernel(ElementwiseKernel):
	"""ker(*arrays, *args, slice=None), checked as ElementwiseKernel checks it.

	Launches are asynchronous, as pycuda's: errors of a launch itself (not of its arguments)
	surface at the next synchronizing call.
	"""

	arrayType = GPUArray
	isContiguous = staticmethod(isContiguous)

	def __init__(self, op, dtype):
		super().__init__(op, dtype)
		self.itemsizes = tuple(storage.itemsize for storage in self.dtypes)
		if len(set(self.itemsizes)) == 1:
			self.itemsizes = self.itemsizes[0]      # one int: LaunchPlan's quicker alignment test
		self.blocksCap = blocksCap()

		# compiled now, so that xxxKer(dtype) hands out a ready kernel and a bad toolchain shows at once
		self.functions = {variant: function(op, dtype, variant) for variant in Source.VARIANTS}

	def run(self, arrays, span, args):
		variant, pointers, counts, grid = LaunchPlan.plan([ary.ptr for ary in arrays], self.itemsizes, span, self.blocksCap)
		if variant == "vector" and self.isRandom:
			counts += (span.start, )         # the stream numbers elements from the arrays' start
		try:
			self.functions[variant].prepared_call(grid, LaunchPlan.BLOCK_SHAPE, *pointers, *counts, *args)
		except drv.Error as e:
			raise LaunchError("%s kernel (%s): the driver refused its launch of grid %s x block %s: %s" % (
				self.name, variant, grid, LaunchPlan.BLOCK_SHAPE, e
			)) from e


@functools.lru_cache(maxsize=None)
def kernel(op, dtype):
	"""The memoized kernel of one table entry and dtype."""
	return Kernel(op, dtype)
