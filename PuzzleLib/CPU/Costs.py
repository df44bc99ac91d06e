"""The CPU backend's cost kernels: the library's compiled loops over Kernels/CostRows' routines, or
numpy where no compiler is (PUZZLELIB_CPU_KERNELS=numpy). Each returns the partials (float64 numpy)
whose exact sum is the result. Called with checked arguments only (Backend/Kernels/Costs.py)."""

import ctypes, functools

import numpy as np

from PuzzleLib.CPU.CostSource import BLOCK_ELEMENTS
from PuzzleLib.CPU.ElementWise import library, requestedPath
from PuzzleLib.Kernels.CostRows import kernelSuffix, rangeSuffix


P, I64, F64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
SIGNATURES = {
	"xent": [P] * 5 + [I64] * 4 + [F64], "argmax_errors": [P] * 3 + [I64] * 4,
	"squared_error": [P] * 4 + [I64, F64], "bce": [P] * 4 + [I64, F64], "threshold_errors": [P] * 3 + [I64, F64],
	"value_range": [P] * 2 + [I64],
}


def _lib():
	path = requestedPath()
	return None if path == "numpy" else library(path)


@functools.lru_cache(maxsize=None)
def _function(name, suffix):
	function = getattr(_lib(), "cost_%s_%s" % (name, suffix))
	function.argtypes, function.restype = SIGNATURES[name], None
	return function


def _blocks(count, per, width=1):
	"""The partials of count items in blocks of per: a double (width > 1: a row of them) per block."""
	blocks = max(1, -(-count // per))
	return np.empty(blocks if width == 1 else (blocks, width), dtype=np.float64)


def _ptr(ary):
	return None if ary is None else ary.ptr


def crossEntropy(scores, labels, weights, grad, N, C, S, scale):
	if _lib() is None:
		return _crossEntropy(_rows(scores, N, C, S), labels.gpudata.reshape(N, S), weights, grad, scale)

	rowsPerBlock = max(1, BLOCK_ELEMENTS // C)
	partials = _blocks(N * S, rowsPerBlock)
	_function("xent", kernelSuffix(scores.dtype))(
		scores.ptr, labels.ptr, _ptr(weights), grad.ptr, partials.ctypes.data, N, C, S, rowsPerBlock, scale
	)
	return partials


def argmaxErrors(scores, labels, N, C, S):
	if _lib() is None:
		return np.array([np.count_nonzero(_rows(scores, N, C, S).argmax(axis=1) != labels.gpudata.reshape(N, S))], np.float64)

	rowsPerBlock = max(1, BLOCK_ELEMENTS // C)
	partials = _blocks(N * S, rowsPerBlock)
	_function("argmax_errors", kernelSuffix(scores.dtype))(scores.ptr, labels.ptr, partials.ctypes.data, N, C, S, rowsPerBlock)
	return partials


def _elementwise(name, numpyMath, x, t, grad, scale=0.0):
	if _lib() is None:
		with np.errstate(all="ignore"):
			loss, g = numpyMath(x.gpudata.astype(np.float64), t.gpudata.astype(np.float64), scale)
		if grad is not None:
			np.copyto(grad.gpudata, g.astype(grad.dtype))
		return np.array([loss.sum()], dtype=np.float64)

	partials = _blocks(x.size, BLOCK_ELEMENTS)
	arrays = (x.ptr, t.ptr) + ((grad.ptr, ) if grad is not None else ())
	_function(name, kernelSuffix(x.dtype, t.dtype))(*arrays, partials.ctypes.data, x.size, scale)
	return partials


def squaredError(pred, target, grad, scale):
	return _elementwise("squared_error", _squaredError, pred, target, grad, scale)


def binaryCrossEntropy(scores, target, grad, scale):
	return _elementwise("bce", _binaryCrossEntropy, scores, target, grad, scale)


def thresholdErrors(scores, target):
	return _elementwise("threshold_errors", _thresholdErrors, scores, target, None)


def valueRange(values):
	"""(blocks, 2) partial least and greatest values as doubles (a NaN wins)."""
	if _lib() is None:
		v = values.gpudata.reshape(-1).astype(np.float64)
		return np.array([[v.min(), v.max()]])

	partials = _blocks(values.size, BLOCK_ELEMENTS, width=2)
	_function("value_range", rangeSuffix(values.dtype))(values.ptr, partials.ctypes.data, values.size)
	return partials


# {{{ the numpy path: the same math in float64 over the whole arrays

def _rows(ary, N, C, S):
	return ary.gpudata.reshape(N, C, S).astype(np.float64)


def _crossEntropy(s, y, weights, grad, scale):
	N, C, S = s.shape
	top = s.max(axis=1, keepdims=True)
	empty = np.isneginf(top)                     # a row of -inf only: the uniform distribution

	with np.errstate(all="ignore"):
		shifted = np.where(empty, 0.0, s - top)
		logSum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
		logProb = shifted - logSum

	labelLogProb = np.take_along_axis(logProb, y[:, None, :].astype(np.int64), axis=1)[:, 0, :]
	w = np.ones((N, S)) if weights is None else weights.gpudata.astype(np.float64)[y]

	with np.errstate(all="ignore"):
		g = -np.exp(logProb)
		np.put_along_axis(g, y[:, None, :].astype(np.int64), np.take_along_axis(g, y[:, None, :].astype(np.int64), axis=1) + 1.0, axis=1)
		g *= w[:, None, :] * scale
		grad.gpudata.reshape(N, C, S)[...] = g.astype(grad.dtype)
		return np.array([-(w * labelLogProb).sum()], dtype=np.float64)


def _squaredError(p, t, scale):
	diff = t - p
	return diff * diff / 2, diff * scale


def _binaryCrossEntropy(x, t, scale):
	e = np.exp(-np.abs(x))
	sigmoid = np.where(x >= 0, 1.0, e) / (1 + e)
	return np.maximum(x, 0) - t * x + np.log1p(e), (t - sigmoid) * scale


def _thresholdErrors(x, t, scale):
	return ((x > 0) != (t > 0.5)).astype(np.float64), None

# }}}
