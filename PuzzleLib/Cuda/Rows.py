"""The CUDA backend's row kernels: Source.rowsSource compiled once per dtype, a thread per row.
Called with checked arguments only (Backend/Kernels/MatVec.py and Backend/Dnn.py check them)."""

import functools

from pycuda.compiler import SourceModule

from PuzzleLib.Cuda import LaunchPlan, Source
from PuzzleLib.Cuda.ElementWise import blocksCap


@functools.lru_cache(maxsize=None)
def module(dtype):
	return SourceModule(Source.rowsSource(dtype), options=list(Source.NVCC_OPTIONS), no_extern_c=True)


@functools.lru_cache(maxsize=None)
def kernel(name, dtype):
	"""kernel(*arrays, N, C, S) of one row kernel and dtype."""
	function = module(dtype).get_function(Source.rowKernelName(name, dtype))
	function.prepare(Source.ROW_KERNELS[name])
	cap = blocksCap()

	def call(*arrays, N, C, S):
		work = N * C * S if name == "add_vec" else N * S
		function.prepared_call(LaunchPlan.gridShape(work, cap), LaunchPlan.BLOCK_SHAPE, *(ary.ptr for ary in arrays), N, C, S)

	return call
