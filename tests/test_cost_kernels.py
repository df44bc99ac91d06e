"""The costs' kernels (Backend/Kernels/Costs.py) against float64 references written plainly, a row or
an element at a time: every dtype, class weights, positions, huge and infinite logits, sizes that
take many blocks and the thread team; the labels' range behind Config.verifyData."""

import math

import numpy as np
import pytest

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Backend.Kernels import Costs
from PuzzleLib.Cost import BCE, CostError, CrossEntropy


DTYPES = (np.float16, np.float32, np.float64)
# (error rtol, grad rtol, grad atol as a share of the gradient's scale) per dtype
TOLERANCE = {np.float16: (1e-6, 2e-3, 1e-3), np.float32: (1e-6, 1e-5, 1e-6), np.float64: (1e-12, 1e-12, 1e-14)}


def crossEntropyReference(scores, labels, weights):
	"""(summed error / positions, grad) row by row in float64."""
	x = scores.astype(np.float64).reshape(scores.shape[0], scores.shape[1], -1)
	y = labels.reshape(labels.shape[0], -1)
	N, C, S = x.shape
	grad, total = np.zeros_like(x), 0.0

	for n in range(N):
		for s in range(S):
			row, label = x[n, :, s], y[n, s]
			w = 1.0 if weights is None else float(weights[label])
			top = row.max()
			if top == -np.inf:
				p, loss = np.full(C, 1.0 / C), math.log(C)
			else:
				logSumExp = top + math.log(sum(math.exp(v - top) for v in row))
				p, loss = np.exp(row - logSumExp), logSumExp - row[label]

			onehot = np.zeros(C)
			onehot[label] = 1.0
			grad[n, :, s] = w * (onehot - p) / (N * S)
			total += w * loss

	return total / S, grad.reshape(scores.shape)


def scoresWithExtremes(rng, shape, dtype, labels):
	"""Normal scores with, in some rows, +-1e4 and -inf away from the label."""
	x = rng.standard_normal(shape) * 3
	flat, y = x.reshape(shape[0], shape[1], -1), labels.reshape(shape[0], -1)
	for n in range(0, shape[0], 3):
		s = n % flat.shape[2]
		others = [c for c in range(shape[1]) if c != y[n, s]]
		flat[n, others[0], s] = 1e4
		flat[n, others[-1], s] = -np.inf
		if len(others) > 2 and n % 2:
			flat[n, y[n, s], s] = -1e4
	return x.astype(dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(7, 5), (4, 3, 2, 3), (600, 37), (9, 1000)], ids=str)
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_cross_entropy_against_a_plain_reference(backend, dtype, shape, weighted):
	rng = np.random.default_rng(len(shape) * 10 + shape[1])
	labels = rng.integers(0, shape[1], shape[:1] + shape[2:]).astype(np.int32)
	scores = scoresWithExtremes(rng, shape, dtype, labels)
	weights = rng.uniform(0.2, 3.0, shape[1]).astype(np.float32) if weighted else None

	error, grad = Costs.crossEntropy(
		gpuarray.to_gpu(scores), gpuarray.to_gpu(labels), None if weights is None else gpuarray.to_gpu(weights)
	)
	refError, refGrad = crossEntropyReference(scores, labels, weights)

	errorTol, gradTol, gradAtol = TOLERANCE[dtype]
	scale = (3.0 if weighted else 1.0) / labels.size
	assert grad.dtype == dtype and grad.shape == scores.shape
	assert math.isclose(error, refError, rel_tol=errorTol)
	np.testing.assert_allclose(grad.get().astype(np.float64), refGrad, rtol=gradTol, atol=gradAtol * scale)


def test_cross_entropy_of_infinite_and_nan_rows(backend):
	scores = np.array([
		[-np.inf, -np.inf, -np.inf, -np.inf],      # no mass anywhere: the uniform distribution
		[0.0, -np.inf, 1.0, 2.0],                  # -inf at the label: infinite loss
		[0.0, np.nan, 1.0, 2.0],                   # NaN: the row is NaN
	], dtype=np.float32)
	labels = np.array([2, 1, 0], dtype=np.int32)

	rows = []
	for k in range(3):
		error, grad = Costs.crossEntropy(gpuarray.to_gpu(scores[k:k + 1]), gpuarray.to_gpu(labels[k:k + 1]))
		rows.append((error, grad.get()[0]))

	assert math.isclose(rows[0][0], math.log(4), rel_tol=1e-12)
	np.testing.assert_allclose(rows[0][1], [-0.25, -0.25, 0.75, -0.25], rtol=1e-6)
	assert rows[1][0] == math.inf and np.isfinite(rows[1][1]).all()
	assert math.isnan(rows[2][0]) and np.isnan(rows[2][1]).all()


def test_cross_entropy_total_does_not_depend_on_the_thread_team(backend):
	if backend != "cpu":
		pytest.skip("the thread team is the CPU backend's")
	from PuzzleLib.CPU.ElementWise import threads

	rng = np.random.default_rng(5)
	scores = gpuarray.to_gpu((rng.standard_normal((2048, 100)) * 5).astype(np.float32))
	labels = gpuarray.to_gpu(rng.integers(0, 100, 2048).astype(np.int32))

	default = threads()
	try:
		results = []
		for count in (1, 2, 3):
			threads(count)
			error, grad = Costs.crossEntropy(scores, labels)
			results.append((error, grad.get()))
	finally:
		threads(0 if default is None else default)

	for error, grad in results[1:]:
		assert error == results[0][0]
		assert np.array_equal(grad, results[0][1])


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(700, 6, 3), (700, 6), (40, 600)], ids=str)
def test_argmax_errors_count_rows_whose_first_maximum_is_not_the_label(backend, dtype, shape):
	rng = np.random.default_rng(6)
	scores = rng.integers(0, 4, shape).astype(dtype)           # ties: the first maximum counts
	scores[5, 2] = np.nan                                      # a NaN is the maximum
	scores[7, -1] = np.nan                                     # ... at the end of its row too
	scores[7, 1] = 5
	labels = rng.integers(0, shape[1], shape[:1] + shape[2:]).astype(np.int32)

	flat = scores.reshape(shape[0], shape[1], -1).astype(np.float64)
	expected = 0
	for n in range(shape[0]):
		for s in range(flat.shape[2]):
			row = flat[n, :, s]
			best = int(np.flatnonzero(np.isnan(row))[0]) if np.isnan(row).any() else int(np.flatnonzero(row == row.max())[0])
			expected += best != labels.reshape(shape[0], -1)[n, s]

	assert Costs.argmaxErrors(gpuarray.to_gpu(scores), gpuarray.to_gpu(labels)) == expected


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("size", [1, 37, 40000])
def test_squared_error(backend, dtype, size):
	rng = np.random.default_rng(size)
	pred, target = (rng.standard_normal((2, size)) * 100).astype(dtype)

	error, grad = Costs.squaredError(gpuarray.to_gpu(pred), gpuarray.to_gpu(target))

	diff = target.astype(np.float64) - pred.astype(np.float64)
	assert math.isclose(error, math.fsum((diff * diff / 2).tolist()), rel_tol=1e-12)
	if dtype == np.float64:                                     # scaled by the rounded 1 / size
		np.testing.assert_allclose(grad.get(), diff / size, rtol=4e-16, atol=0)
	else:                                                       # rounded once from the exact value
		np.testing.assert_array_equal(grad.get(), (diff / size).astype(dtype))


def bceReference(x, t):
	"""Loss elements and sigmoid, in float64, one element at a time from the definitions."""
	loss, sigmoid = [], []
	for v, target in zip(x.tolist(), t.tolist()):
		loss.append(np.logaddexp(0.0, v) - target * v)              # softplus(v) - t v
		sigmoid.append(1 / (1 + math.exp(-v)) if v > -700 else 0.0)
	return np.array(loss), np.array(sigmoid)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("targets", ["int32", "float"])
@pytest.mark.parametrize("size", [10, 5000])
def test_binary_cross_entropy(backend, dtype, targets, size):
	rng = np.random.default_rng(size + len(targets))
	x = (rng.standard_normal(size) * 6).astype(dtype)
	x[:4] = [1e4, -1e4, 30, -30]
	t = rng.integers(0, 2, size).astype(np.int32) if targets == "int32" else rng.uniform(0, 1, size).astype(dtype)

	error, grad = Costs.binaryCrossEntropy(gpuarray.to_gpu(x), gpuarray.to_gpu(t))

	loss, sigmoid = bceReference(x.astype(np.float64), t.astype(np.float64))
	assert math.isclose(error, math.fsum(loss.tolist()), rel_tol=1e-12)
	gradRef = (t.astype(np.float64) - sigmoid) / size
	# float16 gradients of 1 / 5000 are subnormal: within one of their steps (2^-24)
	atol = 2.0**-24 if dtype == np.float16 else 1e-6 / size
	np.testing.assert_allclose(grad.get().astype(np.float64), gradRef, rtol=TOLERANCE[dtype][1], atol=atol)


@pytest.mark.parametrize("targets", ["int32", "float"])
def test_threshold_errors(backend, targets):
	rng = np.random.default_rng(8)
	x = rng.standard_normal(5000).astype(np.float32)
	x[:3] = [0.0, -0.0, np.nan]
	t = rng.integers(0, 2, 5000).astype(np.int32) if targets == "int32" else rng.uniform(0, 1, 5000).astype(np.float32)

	expected = sum((v > 0) != (target > 0.5) for v, target in zip(x.tolist(), t.tolist()))
	assert Costs.thresholdErrors(gpuarray.to_gpu(x), gpuarray.to_gpu(t)) == expected


def test_label_range_spans_every_block(backend):
	labels = np.full(70000, 3, dtype=np.int32)
	labels[69999], labels[20000] = 9, -2
	assert Costs.labelRange(gpuarray.to_gpu(labels)) == (-2, 9)

	values = np.full(70000, 0.5, dtype=np.float32)
	values[69998] = np.nan
	low, high = Costs.labelRange(gpuarray.to_gpu(values))
	assert math.isnan(low) and math.isnan(high)


@pytest.mark.parametrize("bad", [2.0, -0.5, np.nan])
def test_verify_data_refuses_bce_targets_outside_0_1(backend, monkeypatch, bad):
	monkeypatch.setattr(Config, "verifyData", True)
	scores = gpuarray.to_gpu(np.zeros(5000, dtype=np.float32))
	target = np.full(5000, 0.25, dtype=np.float32)
	BCE()(scores, gpuarray.to_gpu(target))

	target[4321] = bad
	with pytest.raises(CostError, match=r"\[0, 1\]"):
		BCE()(scores, gpuarray.to_gpu(target))


def test_verify_data_refuses_a_bad_label_in_a_late_block(backend, monkeypatch):
	monkeypatch.setattr(Config, "verifyData", True)
	scores = gpuarray.to_gpu(np.zeros((40000, 3), dtype=np.float32))
	labels = np.ones(40000, dtype=np.int32)
	CrossEntropy()(scores, gpuarray.to_gpu(labels))

	labels[39999] = 3
	with pytest.raises(CostError, match=r"\[0, 3\), found values in \[1, 3\]"):
		CrossEntropy()(scores, gpuarray.to_gpu(labels))


def test_cuda_cost_modules_compile_with_nvcc(tmp_path):
	"""Every dtype's cost module through the real nvcc, with no warning, holding every kernel."""
	import re, shutil, subprocess
	from PuzzleLib.Cuda import CostSource, Source

	nvcc = shutil.which("nvcc")
	if nvcc is None:
		pytest.skip("nvcc is not on PATH: the CUDA kernels' compile check needs the CUDA toolkit's nvcc")

	for dtype in Source.DTYPES:
		cu = tmp_path / ("costs_%s.cu" % np.dtype(dtype).name)
		cu.write_text(CostSource.costsSource(dtype))
		result = subprocess.run(
			[nvcc, "-ptx", "-arch=sm_80", *Source.NVCC_OPTIONS, "-o", str(cu.with_suffix(".ptx")), str(cu)],
			capture_output=True, text=True
		)
		assert result.returncode == 0 and "warning" not in result.stderr.lower(), result.stderr

		entries = set(re.findall(r"^\.visible \.entry (\w+)\(", cu.with_suffix(".ptx").read_text(), flags=re.M))
		assert entries == {"cost_%s_%s" % pair for pair in CostSource.kernelNames(dtype)}
