"""The costs' row kernels: softmax cross-entropy, binary cross-entropy, squared error, error counts.

Each returns the summed error as a Python float and writes the NEGATIVE loss gradient (what the
optimizers ascend on). They compute on the host view of the arrays, in float64, and round once
on the store, so the result is the exact one rounded to the data's dtype.
(INTERIM: numpy row operations; the CUDA backend reaches them through a copy to the host.)
"""

import numpy as np

from PuzzleLib.Backend import gpuarray
from PuzzleLib.Backend.HostAccess import readHost, writeHost


def _rows(scores):
	"""(N, C, positions) float64 view of scores of shape (N, C, ...)."""
	values = readHost(scores).astype(np.float64)
	return values.reshape(values.shape[0], values.shape[1], -1)


def _labelRows(labels):
	values = readHost(labels)
	return values.reshape(values.shape[0], -1).astype(np.int64)


def crossEntropy(scores, labels, weights=None, grad=None):
	"""(sum over positions of w_label * -log softmax(scores)_label, grad) with
	grad = w_label * (onehot(label) - softmax(scores)) / positions, over axis 1."""
	s, y = _rows(scores), _labelRows(labels)
	N, C, P = s.shape

	shifted = s - s.max(axis=1, keepdims=True)           # exp never overflows
	logSum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
	logProb = shifted - logSum

	labelLogProb = np.take_along_axis(logProb, y[:, None, :], axis=1)[:, 0, :]
	w = np.ones((N, P)) if weights is None else readHost(weights).astype(np.float64)[y]

	g = -np.exp(logProb)
	np.put_along_axis(g, y[:, None, :], np.take_along_axis(g, y[:, None, :], axis=1) + 1.0, axis=1)
	g *= w[:, None, :] / (N * P)

	grad = gpuarray.empty(scores.shape, dtype=scores.dtype) if grad is None else grad
	writeHost(grad, g.astype(scores.dtype).reshape(scores.shape))
	return float(-(w * labelLogProb).sum() / P), grad


def labelRange(labels):
	"""(min, max) of the labels, as Python numbers."""
	values = readHost(labels)
	return values.min().item(), values.max().item()


def argmaxErrors(scores, labels):
	"""How many positions' argmax over axis 1 differs from the label."""
	return int((_rows(scores).argmax(axis=1) != _labelRows(labels)).sum())


def squaredError(pred, target, grad=None):
	"""(sum (t - p)^2 / 2, grad) with grad = (t - p) / numel."""
	p, t = readHost(pred).astype(np.float64), readHost(target).astype(np.float64)
	diff = t - p

	grad = gpuarray.empty(pred.shape, dtype=pred.dtype) if grad is None else grad
	writeHost(grad, (diff / diff.size).astype(pred.dtype))
	return float((diff * diff).sum() / 2), grad


def binaryCrossEntropy(scores, target, grad=None):
	"""(sum softplus(x) - t x, grad) for logits x, targets t in [0, 1]; grad = (t - sigmoid(x)) / numel."""
	x, t = readHost(scores).astype(np.float64), readHost(target).astype(np.float64)

	softplus = np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))
	e = np.exp(-np.abs(x))
	sigmoid = np.where(x >= 0, 1, e) / (1 + e)

	grad = gpuarray.empty(scores.shape, dtype=scores.dtype) if grad is None else grad
	writeHost(grad, ((t - sigmoid) / x.size).astype(scores.dtype))
	return float((softplus - t * x).sum()), grad


def thresholdErrors(scores, target):
	"""How many logits fall on the wrong side of 0 for their 0/1 target."""
	return int(((readHost(scores) > 0) != (readHost(target) > 0.5)).sum())
