"""Costs against float64 references written plainly; label checks and mismatched batches refused."""

import numpy as np
import pytest

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Cost import BCE, CostError, CrossEntropy, MSE


def softmaxRef(scores):
	s = scores.astype(np.float64)
	e = np.exp(s - s.max(axis=1, keepdims=True))
	return e / e.sum(axis=1, keepdims=True)


def test_cross_entropy_error_and_grad(backend):
	rng = np.random.default_rng(0)
	scores = rng.standard_normal((8, 5)).astype(np.float32) * 4
	labels = rng.integers(0, 5, 8).astype(np.int32)

	cost = CrossEntropy()
	error, grad = cost(gpuarray.to_gpu(scores), gpuarray.to_gpu(labels))

	p = softmaxRef(scores)
	onehot = np.eye(5)[labels]
	assert np.isclose(error, -np.log(p[np.arange(8), labels]).mean(), rtol=1e-6)
	assert np.allclose(grad.get(), (onehot - p) / 8, rtol=1e-5, atol=1e-8)
	assert cost.getError() == error and cost.numOfSamples == 8

	cost(gpuarray.to_gpu(scores[:4]), gpuarray.to_gpu(labels[:4]))
	assert np.isclose(cost.getMeanError(), (error * 8 + cost.getError() * 4) / 12)
	cost.resetAccumulator()
	assert cost.getMeanError() == 0.0 and cost.numOfSamples == 0


def test_cross_entropy_is_finite_for_huge_logits(backend):
	scores = np.array([[1e30, -1e30, 0], [-3e38, 3e38, 1]], dtype=np.float32)
	labels = np.array([1, 0], dtype=np.int32)
	error, grad = CrossEntropy()(gpuarray.to_gpu(scores), gpuarray.to_gpu(labels))
	assert np.isfinite(error) and np.isfinite(grad.get()).all()
	assert np.isclose(error, (2e30 + 6e38) / 2, rtol=1e-6)


def test_cross_entropy_spatial_and_weights(backend):
	rng = np.random.default_rng(1)
	scores = rng.standard_normal((2, 3, 4)).astype(np.float32)
	labels = rng.integers(0, 3, (2, 4)).astype(np.int32)
	weights = np.array([1.0, 2.0, 0.5], dtype=np.float32)

	error, grad = CrossEntropy(weights=weights)(gpuarray.to_gpu(scores), gpuarray.to_gpu(labels))

	p = softmaxRef(scores)                                       # over axis 1
	w = weights[labels].astype(np.float64)                       # (2, 4)
	logp = np.log(np.take_along_axis(p, labels[:, None, :], axis=1)[:, 0])
	onehot = np.moveaxis(np.eye(3)[labels], -1, 1)
	assert np.isclose(error, -(w * logp).sum() / 4 / 2, rtol=1e-6)
	assert np.allclose(grad.get(), w[:, None, :] * (onehot - p) / 8, rtol=1e-5, atol=1e-8)


def test_validate_is_the_error_rate(backend):
	scores = np.array([[0, 1, 0], [2, 1, 0], [0, 0, 3], [1, 0, 0]], dtype=np.float32)
	labels = np.array([1, 0, 1, 2], dtype=np.int32)
	assert CrossEntropy().validate(gpuarray.to_gpu(scores), gpuarray.to_gpu(labels)) == 0.5


def test_mse(backend):
	rng = np.random.default_rng(2)
	pred, target = rng.standard_normal((2, 6, 5)).astype(np.float32)
	error, grad = MSE()(gpuarray.to_gpu(pred), gpuarray.to_gpu(target))

	diff = target.astype(np.float64) - pred
	# the summed error is sum (t - p)^2 / (2 numel) per sample: getError reads sum / (2 numel) * N / N
	assert np.isclose(error, (diff**2).sum() / (2 * diff.size), rtol=1e-6)
	assert np.allclose(grad.get(), diff / diff.size, rtol=1e-6)


def test_bce(backend):
	rng = np.random.default_rng(3)
	scores = (rng.standard_normal(10) * 5).astype(np.float32)
	labels = rng.integers(0, 2, 10).astype(np.int32)
	error, grad = BCE()(gpuarray.to_gpu(scores), gpuarray.to_gpu(labels))

	x = scores.astype(np.float64)
	p = 1 / (1 + np.exp(-x))
	ref = -(labels * np.log(p) + (1 - labels) * np.log(1 - p)).mean()
	assert np.isclose(error, ref, rtol=1e-6)
	assert np.allclose(grad.get(), (labels - p) / 10, rtol=1e-5)


@pytest.mark.parametrize("labels, match", [
	(np.array([0, 1, 2], dtype=np.int64), "int32"),
	(np.array([0.0, 1.0, 2.0], dtype=np.float32), "int32"),
	(np.array([[0], [1], [2]], dtype=np.int32), "shape"),
	(np.array([0, 1], dtype=np.int32), "batch"),
])
def test_cross_entropy_refuses_bad_labels(backend, labels, match):
	cost = CrossEntropy()
	with pytest.raises(CostError, match=match):
		cost(gpuarray.to_gpu(np.zeros((3, 4), dtype=np.float32)), gpuarray.to_gpu(labels))
	assert cost.numOfSamples == 0 and cost.accumErr == 0.0


def test_verify_data_checks_label_range(backend, monkeypatch):
	scores = gpuarray.to_gpu(np.zeros((3, 4), dtype=np.float32))
	for bad in ([0, 4, 1], [-1, 0, 1]):
		labels = gpuarray.to_gpu(np.array(bad, dtype=np.int32))
		monkeypatch.setattr(Config, "verifyData", True)
		with pytest.raises(CostError, match=r"\[0, 4\)"):
			CrossEntropy()(scores, labels)


def test_costs_refuse_mismatched_batches(backend):
	with pytest.raises(CostError, match="batch"):
		MSE()(gpuarray.to_gpu(np.zeros((4, 2), np.float32)), gpuarray.to_gpu(np.zeros((3, 2), np.float32)))
	with pytest.raises(CostError, match="shape"):
		MSE()(gpuarray.to_gpu(np.zeros((4, 2), np.float32)), gpuarray.to_gpu(np.zeros((4, 3), np.float32)))
	with pytest.raises(CostError, match="GPUArray"):
		MSE()(gpuarray.to_gpu(np.zeros((4, 2), np.float32)), np.zeros((4, 2), np.float32))
