"""The CUDA backend's cost kernels: CostSource's module of each dtype, compiled once. Each returns the
partials (float64 numpy, a double per block of rows or elements, copied back) whose exact sum is the
result. Called with checked arguments only (Backend/Kernels/Costs.py)."""

import functools

import numpy as np

from pycuda.compiler import SourceModule

from PuzzleLib.Backend import gpuarray
from PuzzleLib.Cuda import CostSource, LaunchPlan, Source
from PuzzleLib.Cuda.ElementWise import blocksCap
from PuzzleLib.Kernels.CostRows import kernelSuffix, rangeSuffix


BLOCK_SHAPE = (CostSource.BLOCK, 1, 1)


@functools.lru_cache(maxsize=None)
def _module(dtype):
	return SourceModule(CostSource.costsSource(dtype), options=list(Source.NVCC_OPTIONS), no_extern_c=True)


@functools.lru_cache(maxsize=None)
def _function(name, dtype, suffix):
	function = _module(np.dtype(dtype)).get_function("cost_%s_%s" % (name, suffix))
	function.prepare(CostSource.FORMATS[name])
	return function


def _launch(name, dtype, suffix, blocks, arrays, *args, width=1, block=BLOCK_SHAPE):
	partials = gpuarray.empty((blocks, width), dtype=np.float64, allocator=gpuarray.memoryPool)
	_function(name, dtype, suffix).prepared_call((blocks, 1), block, *arrays, partials.ptr, *args)
	return partials.get().reshape(blocks, width) if width > 1 else partials.get().reshape(blocks)


def _launchRows(name, dtype, suffix, arrays, N, C, S, *args):
	"""A row cost: a block per row where the rows are a matrix's (S == 1), else a thread per row."""
	if S == 1:
		(blocks, _), block = LaunchPlan.rowLaunch(N, C, blocksCap())
		return _launch(name + "_rows", dtype, suffix, blocks, arrays, N, C, *args, block=block)
	return _launch(name, dtype, suffix, _rowBlocks(N * S), arrays, N * S, C, S, *args)


def _rowBlocks(rows):
	return -(-rows // CostSource.BLOCK)


def _elementBlocks(count):
	return -(-count // CostSource.SPAN)


def crossEntropy(scores, labels, weights, grad, N, C, S, scale):
	return _launchRows(
		"xent", scores.dtype, kernelSuffix(scores.dtype),
		(scores.ptr, labels.ptr, 0 if weights is None else weights.ptr, grad.ptr), N, C, S, scale
	)


def argmaxErrors(scores, labels, N, C, S):
	return _launchRows("argmax_errors", scores.dtype, kernelSuffix(scores.dtype), (scores.ptr, labels.ptr), N, C, S)


def squaredError(pred, target, grad, scale):
	return _launch(
		"squared_error", pred.dtype, kernelSuffix(pred.dtype), _elementBlocks(pred.size), (pred.ptr, target.ptr, grad.ptr), pred.size, scale
	)


def binaryCrossEntropy(scores, target, grad, scale):
	return _launch(
		"bce", scores.dtype, kernelSuffix(scores.dtype, target.dtype), _elementBlocks(scores.size),
		(scores.ptr, target.ptr, grad.ptr), scores.size, scale
	)


def thresholdErrors(scores, target):
	return _launch(
		"threshold_errors", scores.dtype, kernelSuffix(scores.dtype, target.dtype), _elementBlocks(scores.size),
		(scores.ptr, target.ptr), scores.size, 0.0
	)


def valueRange(values):
	"""(blocks, 2) partial least and greatest values as doubles (a NaN wins)."""
	dtype = np.float32 if values.dtype == np.int32 else values.dtype
	return _launch("value_range", dtype, rangeSuffix(values.dtype), _elementBlocks(values.size), (values.ptr, ), values.size, width=2)
