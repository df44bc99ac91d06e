"""Accuracy of every activation, forward and backward, through the kernel layer and the module.

Bounds (against the independent references in reference.py): float32 within 4 ulp, float16 within
1 ulp over all 65536 bit patterns, float64 within 4 ulp of a long double (or exact) reference.
"""

import math

import numpy as np
import pytest

import reference
from cases import (
	ACTIVATIONS, CASES, DEFAULT_CASES, DTYPES, WIDE_DTYPES, assertBackward, assertForward, backendKernel, cast,
	checkBackwardAccuracy, checkForwardAccuracy, forwardInputs, gpu, idOf, kernelBackward, kernelForward, limits,
	module, randomGrad, refForward
)


caseParam = pytest.mark.parametrize("case", CASES, ids=idOf)
dtypeParam = pytest.mark.parametrize("dtype", DTYPES, ids=idOf)
wideDtypeParam = pytest.mark.parametrize("dtype", WIDE_DTYPES, ids=idOf)


def moduleShape(size):
	"""A 2-D shape for the module runs (the module sees ordinary tensors, not flat vectors)."""
	return (256, size // 256) if size % 256 == 0 else (1, size)


def test_kernel_names_importable(backend):
	"""The names custom modules import, each a factory of the kernel of one dtype."""
	from PuzzleLib.Backend.Kernels.ElementWise import (
		sigmoidKer, sigmoidDerKer, tanhKer, tanhDerKer, reluKer, reluDerKer, leakyReluKer, leakyReluDerKer,
		eluKer, eluDerKer, softPlusKer, softPlusDerKer, clipKer, clipDerKer
	)
	factories = (
		sigmoidKer, sigmoidDerKer, tanhKer, tanhDerKer, reluKer, reluDerKer, leakyReluKer, leakyReluDerKer,
		eluKer, eluDerKer, softPlusKer, softPlusDerKer, clipKer, clipDerKer
	)
	names = [name + suffix for name in ACTIVATIONS for suffix in ("Ker", "DerKer")]
	assert [factory.__name__ for factory in factories] == names
	assert all(callable(factory(np.float32)) for factory in factories)


@caseParam
@dtypeParam
def test_kernel_forward(backend, case, dtype):
	checkForwardAccuracy(case, dtype, backendKernel(case, "forward", dtype), what="(kernel)")


@caseParam
@dtypeParam
def test_kernel_backward(backend, case, dtype):
	checkBackwardAccuracy(case, dtype, backendKernel(case, "backward", dtype), what="(kernel)")


@caseParam
@dtypeParam
def test_module_forward_backward(backend, case, dtype):
	x = forwardInputs(dtype)
	act = module(case, dtype)
	shape = moduleShape(x.size)
	out = act(gpu(x.reshape(shape)))
	assert out.shape == shape and out.dtype == dtype
	assertForward(out.get().ravel(), case, x, "(module)")

	# the gradient is computed from the module's own output, whatever it holds
	y, dy = out.get(), randomGrad(x.size, dtype, seed=6).reshape(shape)
	act.backward(gpu(dy))
	assert act.grad.shape == shape and act.grad.dtype == dtype
	assertBackward(act.grad.get(), case, dy, y, "(module)")


@caseParam
@dtypeParam
def test_nan_in_nan_out(backend, case, dtype):
	nan = cast([math.nan, -math.nan], dtype)
	assert np.isnan(kernelForward(case, nan)).all(), "forward of NaN must be NaN"

	finite = cast([0.5, -0.5], dtype)
	assert np.isnan(kernelBackward(case, finite, nan)).all(), "backward at y = NaN must be NaN"
	assert np.isnan(kernelBackward(case, nan, finite)).all(), "backward of dy = NaN must be NaN"


@caseParam
@dtypeParam
def test_infinities_give_limits(backend, case, dtype):
	x = cast([-math.inf, math.inf], dtype)
	got = kernelForward(case, x)
	expected = limits(case, dtype)
	assert got.tolist() == expected.tolist(), "%s(-inf, +inf) = %s, expected %s" % (case, got, expected)


@caseParam
@dtypeParam
def test_finite_inputs_stay_finite(backend, case, dtype):
	"""No finite input gives inf or NaN, except where the true value is beyond the dtype's range."""
	x = forwardInputs(dtype)
	x = x[np.isfinite(x)]
	got = kernelForward(case, x)
	with np.errstate(invalid="ignore"):
		beyond = np.abs(refForward(case, x)) > np.finfo(dtype).max

	bad = ~np.isfinite(got) & ~beyond
	assert not bad.any(), "%s %s of finite %s gave %s" % (case, dtype, x[bad][:5], got[bad][:5])


def test_softplus_tiny_output_float32(backend):
	"""softPlus(-100) = log1p(e^-100) ~ e^-100, a float32 subnormal: not flushed to 0."""
	x = np.array([-100.0], dtype=np.float32)
	got = kernelForward(DEFAULT_CASES[ACTIVATIONS.index("softPlus")], x)
	assert got[0] != 0
	reference.assertClose(got, np.exp(np.float64(-100.0)).reshape(1), context="softPlus(-100)")


@wideDtypeParam
def test_elu_tiny_negative(backend, dtype):
	"""elu(-1e-8) = expm1(-1e-8) ~ -1e-8, not 0 (exp(x) - 1 would cancel)."""
	x = np.array([-1e-8], dtype=dtype)
	got = kernelForward(DEFAULT_CASES[ACTIVATIONS.index("elu")], x)
	assert got[0] != 0
	reference.assertClose(got, np.expm1(x.astype(np.longdouble)), context="elu(-1e-8)")


@wideDtypeParam
def test_softplus_derivative_tiny_output(backend, dtype):
	"""softPlus' from the output at y = 1e-8 is 1 - e^-y ~ 1e-8, not 0."""
	y = np.array([1e-8], dtype=dtype)
	got = kernelBackward(DEFAULT_CASES[ACTIVATIONS.index("softPlus")], np.ones_like(y), y)
	assert got[0] != 0
	reference.assertClose(got, -np.expm1(-y.astype(np.longdouble)), context="softPlus'(y=1e-8)")
