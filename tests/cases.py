"""What the test modules share: the activation cases, the input sets, and thin runners.

The defaults and limits below are written from the contract (spec/API.md), not read from the
library, so a library whose table drifted from the contract fails the tests.
"""

from collections import namedtuple
from fractions import Fraction
import math

import numpy as np

import reference


ACTIVATIONS = ("sigmoid", "tanh", "relu", "leakyRelu", "elu", "softPlus", "clip")

# the documented defaults: leakyRelu alpha=0.01, elu alpha=1.0, clip (0.0, 6.0)
DEFAULT_ARGS = {"leakyRelu": (0.01, ), "elu": (1.0, ), "clip": (0.0, 6.0)}

CUSTOM_ARGS = {
	"leakyRelu": ((0.2, ), (0, )),
	"elu": ((0.5, ), (2.0, ), (0, )),
	"clip": ((-1.5, 2.25), (0.1, 0.3)),
}


class Case(namedtuple("Case", ["name", "args", "moduleArgs"])):
	"""An activation with its resolved args; moduleArgs is what the module is given (() = defaults)."""

	def __str__(self):
		return self.name if not self.moduleArgs else "%s(%s)" % (self.name, ",".join("%g" % a for a in self.args))


DEFAULT_CASES = tuple(Case(name, DEFAULT_ARGS.get(name, ()), ()) for name in ACTIVATIONS)
CUSTOM_CASES = tuple(Case(name, args, args) for name in ACTIVATIONS for args in CUSTOM_ARGS.get(name, ()))
CASES = DEFAULT_CASES + CUSTOM_CASES

DTYPES = (np.dtype(np.float32), np.dtype(np.float16), np.dtype(np.float64))
WIDE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

SPECIALS = (
	0.0, -0.0, 1e-30, -1e-30, 1e-8, -1e-8, 17.0, -17.0, 20.0, -20.0, 88.7, -88.7, 89.0, -89.0,
	100.0, -100.0, 1e4, -1e4, 3e38, -3e38, math.inf, -math.inf, math.nan
)
FLOAT64_SPECIALS = (709.7, -709.7, 710.0, -745.1, -746.0, 1e300, -1e300, 5e-324, -5e-324, 2.2250738585072014e-308)


def cast(values, dtype):
	with np.errstate(over="ignore", under="ignore", invalid="ignore"):
		return np.asarray(values, dtype=np.float64).astype(dtype)


def specials(dtype):
	dtype = np.dtype(dtype)
	extra = FLOAT64_SPECIALS if dtype == np.float64 else ()
	return cast(SPECIALS + extra, dtype)


def allHalf():
	"""Every float16 bit pattern: all values, both zeros, subnormals, infinities and NaNs."""
	return np.arange(1 << 16, dtype=np.uint16).view(np.float16)


def forwardInputs(dtype, n=None, seed=1):
	"""Random values over every magnitude, standard normals, a dense [-30, 30] band, and the specials.

	For float16, all 65536 bit patterns instead (they include every special).
	"""
	dtype = np.dtype(dtype)
	if dtype == np.float16:
		return allHalf().copy()

	n = (20000 if dtype == np.float32 else 10000) if n is None else n
	rng = np.random.default_rng(seed)
	sign = rng.choice((-1.0, 1.0), n)
	parts = [
		sign * 10.0 ** rng.uniform(-40, 39, n),
		rng.standard_normal(n),
		rng.uniform(-30, 30, n),
	]
	if dtype == np.float64:
		parts.append(-sign * 10.0 ** rng.uniform(-320, 308, n))

	return np.concatenate([cast(np.concatenate(parts), dtype), specials(dtype)])


def nearBounds(dtype, n=2000, seed=2):
	"""Values just inside +-1 (where tanh's and sigmoid's derivatives cancel) and around 0."""
	rng = np.random.default_rng(seed)
	sign = rng.choice((-1.0, 1.0), n)
	gap = 10.0 ** rng.uniform(-17, 0, n)
	return cast(np.concatenate([sign * (1 - gap), sign * gap]), dtype)


def randomGrad(size, dtype, seed=3):
	"""A random incoming gradient with every magnitude, and inf, -inf, 0, -0 and NaN sprinkled in."""
	rng = np.random.default_rng(seed)
	dy = rng.choice((-1.0, 1.0), size) * 10.0 ** rng.uniform(-20, 20, size)
	dy[::3] = rng.standard_normal(dy[::3].size)
	for offset, special in enumerate((math.inf, -math.inf, 0.0, -0.0, math.nan)):
		dy[offset::101] = special

	return cast(dy, dtype)


def backwardInputs(case, dtype):
	"""(y, dy variants): y over the activation's output range plus the specials.

	float16: y is every bit pattern, and dy is 1, a fixed random array, and a permutation of every
	bit pattern. Otherwise y is the reference forward of the forward inputs (so the output range
	and its endpoints) plus values near the bounds and the specials; dy is 1 and a random array.
	"""
	dtype = np.dtype(dtype)
	if dtype == np.float16:
		y = allHalf().copy()
		rng = np.random.default_rng(4)
		return y, {
			"ones": np.ones_like(y),
			"random": randomGrad(y.size, dtype),
			"permuted": rng.permutation(allHalf()),
		}

	x = forwardInputs(dtype, n=4000, seed=5)
	outputs = cast(refForward(case, x), dtype)
	y = np.concatenate([outputs, nearBounds(dtype), specials(dtype)])
	return y, {"ones": np.ones_like(y), "random": randomGrad(y.size, dtype)}


def refForward(case, x):
	return reference.forward(case.name, x, case.args)


def _exactTanhGrad(dy, y):
	"""dy * (1 - y^2) exactly (fractions), as a long double hi + lo pair: accurate to ~2^-100."""
	value = Fraction(dy) * (1 - Fraction(y) ** 2)
	try:
		hi = float(value)
	except OverflowError:
		return np.longdouble(math.copysign(math.inf, value))

	if math.isinf(hi):
		return np.longdouble(hi)

	return np.longdouble(hi) + np.longdouble(float(value - Fraction(hi)))


def refBackward(case, dy, y):
	"""reference.backward, with two refinements.

	1. f'(y) is a value of the compute type (float32 for float16 and float32 data, float64 for
	   float64), as the contract has it: where the true f'(y) lies beyond that type's range, it is
	   +-inf, so dy = 0 there gives NaN by IEEE (0 * inf). This happens only for y that the
	   activation cannot output (softPlus at y < -88.7 in float32, sigmoid at |y| > 1.8e19, ...);
	   inside every activation's output range f'(y) is at most 1 in magnitude.
	2. float64 tanh where finite |y| is in (0.5, 1): there 1 - y*y cancels even in long double (y*y
	   is rounded to 64 bits, then most of them cancel), so the reference would be off by thousands
	   of float64 ulps; those elements get an exact one (fractions).
	"""
	ref = reference.backward(case.name, dy, y, case.args)

	derivative = reference.backward(case.name, np.ones_like(y), y, case.args)
	with np.errstate(invalid="ignore"):
		beyond = np.abs(derivative) > np.finfo(reference.computeType(y.dtype)).max
		if beyond.any():
			ref = np.where(beyond, dy.astype(ref.dtype) * np.copysign(ref.dtype.type(np.inf), derivative), ref)

	if case.name == "tanh" and y.dtype == np.float64:
		with np.errstate(invalid="ignore"):
			exact = np.flatnonzero(np.isfinite(dy) & np.isfinite(y) & (np.abs(y) > 0.5) & (np.abs(y) < 1))

		ref = ref.copy()
		for i in exact:
			ref.flat[i] = _exactTanhGrad(float(dy.flat[i]), float(y.flat[i]))

	return ref


def limits(case, dtype):
	"""(f(-inf), f(+inf)) from the contract, with the params rounded as a kernel receives them."""
	args = tuple(float(a) for a in reference.roundedArgs(case.args, dtype))
	alpha = args[0] if args else None

	table = {
		"sigmoid": (0.0, 1.0),
		"tanh": (-1.0, 1.0),
		"relu": (0.0, math.inf),
		"leakyRelu": (-math.inf if case.name == "leakyRelu" and alpha > 0 else 0.0, math.inf),
		"elu": (-alpha if case.name == "elu" else None, math.inf),
		"softPlus": (0.0, math.inf),
		"clip": args if case.name == "clip" else None,
	}
	return cast(table[case.name], dtype)


# --- runners: the kernel layer and the module, on whatever backend this run uses ---------------

def gpu(host):
	from PuzzleLib.Backend import gpuarray
	return gpuarray.to_gpu(np.ascontiguousarray(host))


def normal(shape, dtype=np.float32, seed=0, scale=1.0):
	"""A reproducible host array of standard normals times scale."""
	return cast(np.random.default_rng(seed).standard_normal(shape) * scale, dtype)


def backendKernel(case, direction, dtype):
	"""The kernel of the facade custom modules import: xxxKer(dtype) or xxxDerKer(dtype)."""
	from PuzzleLib.Backend.Kernels import ElementWise
	return getattr(ElementWise, "%s%sKer" % (case.name, "Der" if direction == "backward" else ""))(dtype)


def run(ker, out, operands, args=(), slc=None, toDevice=gpu):
	"""ker(out, *operands, *args, slice=slc) on device copies of host arrays; returns the host output."""
	result = toDevice(out)
	ker(result, *(toDevice(operand) for operand in operands), *args, slice=slc)
	return result.get()


def nanLike(host):
	"""An output prefilled with NaN, so an element the kernel skipped cannot pass as right."""
	return np.full_like(host, np.nan)


def kernelForward(case, x):
	return run(backendKernel(case, "forward", x.dtype), nanLike(x), (x, ), case.args)


def kernelBackward(case, dy, y):
	return run(backendKernel(case, "backward", y.dtype), nanLike(dy), (dy, y), case.args)


def checkForwardAccuracy(case, dtype, ker, toDevice=gpu, what=""):
	"""ker over forwardInputs(dtype), within the dtype's bound of the reference."""
	x = forwardInputs(dtype)
	assertForward(run(ker, nanLike(x), (x, ), case.args, toDevice=toDevice), case, x, what)


def checkBackwardAccuracy(case, dtype, der, toDevice=gpu, what=""):
	"""der over backwardInputs(case, dtype), every dy variant, within the dtype's bound."""
	y, grads = backwardInputs(case, dtype)
	for name, dy in grads.items():
		got = run(der, nanLike(y), (dy, y), case.args, toDevice=toDevice)
		assertBackward(got, case, dy, y, "%s (dy %s)" % (what, name))


def module(case, dtype=np.float32, **kwargs):
	from PuzzleLib.Modules import Activation
	act = Activation(case.name, args=case.moduleArgs, **kwargs)
	act.calcMode(dtype)
	return act


def requireWideReference(dtype):
	"""float64 is judged against long double: where that is no wider (some platforms), skip."""
	if np.dtype(dtype) == np.float64 and np.finfo(np.longdouble).nmant <= np.finfo(np.float64).nmant:
		import pytest
		pytest.skip("long double is no wider than float64 on this platform: no independent float64 reference")


def assertForward(got, case, x, what=""):
	requireWideReference(x.dtype)
	reference.assertClose(got, refForward(case, x), context="%s %s forward %s" % (case, x.dtype, what))


def assertBackward(got, case, dy, y, what=""):
	requireWideReference(y.dtype)
	reference.assertClose(got, refBackward(case, dy, y), context="%s %s backward %s" % (case, y.dtype, what))


def idOf(value):
	return np.dtype(value).name if isinstance(value, (np.dtype, type)) else str(value)


def pycudaLimit(request, backend, reason):
	"""Marks a case that the cuda backend fails because GPUArray there is pycuda's own, as a
	strict expected failure: it must fail (and says why) until that is fixed, then it must pass."""
	if backend == "cuda":
		import pytest
		request.applymarker(pytest.mark.xfail(strict=True, reason="pycuda's GPUArray: " + reason))
