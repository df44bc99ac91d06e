"""The CUDA backend's row kernels: Source.rowsSource compiled once per dtype. Rows of a matrix
(S == 1) run a block per row; softmax and argmax over an inner axis (S > 1) a thread per row (n, s),
adjacent threads on adjacent columns; addVecToMat a thread per element. Called with checked
arguments only (Backend/Kernels/MatVec.py and Backend/Dnn.py check them)."""

import functools

from pycuda.compiler import SourceModule

from PuzzleLib.Cuda import LaunchPlan, Source
from PuzzleLib.Cuda.ElementWise import blocksCap


@functools.lru_cache(maxsize=None)
def module(dtype):
	return SourceModule(Source.rowsSource(dtype), options=list(Source.NVCC_OPTIONS), no_extern_c=True)


@functools.lru_cache(maxsize=None)
def function(name, dtype):
	compiled = module(dtype).get_function(Source.rowKernelName(name, dtype))
	compiled.prepare(Source.ROW_KERNELS[name])
	return compiled


@functools.lru_cache(maxsize=None)
def kernel(name, dtype):
	"""kernel(*arrays, N, C, S) of one row kernel and dtype."""
	perThread = function(name, dtype)
	perBlock = function(name + "_rows", dtype) if name + "_rows" in Source.ROW_KERNELS else None

	def call(*arrays, N, C, S):
		pointers = [ary.ptr for ary in arrays]
		if perBlock is not None and S == 1:
			grid, block = LaunchPlan.rowLaunch(N, C, blocksCap())
			perBlock.prepared_call(grid, block, *pointers, N, C)
		else:
			work = N * C * S if name == "add_vec" else N * S
			perThread.prepared_call(LaunchPlan.gridShape(work, blocksCap()), LaunchPlan.BLOCK_SHAPE, *pointers, N, C, S)

	return call
