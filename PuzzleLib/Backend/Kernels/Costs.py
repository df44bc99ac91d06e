"""The costs' kernels: softmax cross-entropy, binary cross-entropy, squared error, error counts,
the labels' range.

Each loss returns the summed error as a Python float and writes the NEGATIVE loss gradient (what
the optimizers ascend on). The backend's kernels (Kernels/CostRows' routines, generated for the CPU
and CUDA) compute each element in double and sum a fixed block of rows or elements in double into
a partial; the partials are added here exactly (math.fsum), so a total is the same for any thread
count or launch shape. The arrays are checked by the callers (PuzzleLib/Cost).
"""

import math

import numpy as np

from PuzzleLib import Backend
from PuzzleLib.Backend import gpuarray

if Backend.isCuda:
	from PuzzleLib.Cuda import Costs as kernels
else:
	from PuzzleLib.CPU import Costs as kernels


def _rowsView(scores):
	"""(N, C, positions) of scores of shape (N, C, ...)."""
	return scores.shape[0], scores.shape[1], math.prod(scores.shape[2:])


def _gradFor(ary, grad):
	return gpuarray.empty(ary.shape, dtype=ary.dtype, allocator=gpuarray.memoryPool) if grad is None else grad


def _total(partials):
	return math.fsum(partials.tolist())


def crossEntropy(scores, labels, weights=None, grad=None):
	"""(sum over rows of w_label * -log softmax(scores)_label / positions, grad) with
	grad = w_label * (onehot(label) - softmax(scores)) / (N * positions), over axis 1."""
	N, C, S = _rowsView(scores)
	grad = _gradFor(scores, grad)
	if scores.size == 0:
		return 0.0, grad

	partials = kernels.crossEntropy(scores, labels, weights, grad, N, C, S, 1.0 / (N * S))
	return _total(partials) / S, grad


def argmaxErrors(scores, labels):
	"""How many positions' argmax over axis 1 differs from the label."""
	N, C, S = _rowsView(scores)
	return int(_total(kernels.argmaxErrors(scores, labels, N, C, S))) if scores.size else 0


def squaredError(pred, target, grad=None):
	"""(sum (t - p)^2 / 2, grad) with grad = (t - p) / numel."""
	grad = _gradFor(pred, grad)
	return (_total(kernels.squaredError(pred, target, grad, 1.0 / pred.size)) if pred.size else 0.0), grad


def binaryCrossEntropy(scores, target, grad=None):
	"""(sum softplus(x) - t x, grad) for logits x, targets t in [0, 1]; grad = (t - sigmoid(x)) / numel."""
	grad = _gradFor(scores, grad)
	return (_total(kernels.binaryCrossEntropy(scores, target, grad, 1.0 / scores.size)) if scores.size else 0.0), grad


def thresholdErrors(scores, target):
	"""How many logits fall on the wrong side of 0 for their 0/1 target."""
	return int(_total(kernels.thresholdErrors(scores, target))) if scores.size else 0


def labelRange(labels):
	"""(min, max) of the labels (or targets), as Python numbers: ints for int32, floats otherwise; a
	NaN anywhere makes both NaN. None for no labels."""
	if labels.size == 0:
		return None

	partials = kernels.valueRange(labels)
	if np.isnan(partials).any():
		return math.nan, math.nan

	low, high = partials[:, 0].min(), partials[:, 1].max()
	return (int(low), int(high)) if labels.dtype == np.int32 else (float(low), float(high))
