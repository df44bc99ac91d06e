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


class RowKernel:
	"""kernel(*arrays, N, C, S) of one row kernel and dtype; bind(N, C, S) is the call over arrays of
	one (N, C, S) view, fn(*arrays), its launch shape chosen once."""

	def __init__(self, name, dtype):
		self.name = name
		self.perThread = function(name, dtype)
		self.perBlock = function(name + "_rows", dtype) if name + "_rows" in Source.ROW_KERNELS else None

	def launch(self, N, C, S):
		"""(prepared_call, grid, block, the arguments after the arrays' addresses)."""
		if self.perBlock is not None and S == 1:
			grid, block = LaunchPlan.rowLaunch(N, C, blocksCap())
			return self.perBlock.prepared_call, grid, block, (N, C)

		work = N * C * S if self.name == "add_vec" else N * S
		return self.perThread.prepared_call, LaunchPlan.gridShape(work, blocksCap()), LaunchPlan.BLOCK_SHAPE, (N, C, S)

	def __call__(self, *arrays, N, C, S):
		call, grid, block, counts = self.launch(N, C, S)
		call(grid, block, *[ary.ptr for ary in arrays], *counts)

	def bind(self, N, C, S):
		call, grid, block, counts = self.launch(N, C, S)
		return lambda *arrays: call(grid, block, *[ary.ptr for ary in arrays], *counts)


@functools.lru_cache(maxsize=None)
def kernel(name, dtype):
	"""The row kernel of name and dtype (a RowKernel)."""
	return RowKernel(name, dtype)
