"""float64 accuracy of the activations computed with exp, expm1 and tanh, forward and backward,
on dense sweeps where exp-based code errs most: around x = k ln 2 (where the reduction
x - k ln 2 changes k) and halfway between, across binade boundaries 2^e of the input and, most
telling, just below those of the output, besides random inputs. Every output within 4 ulp of a
long double reference.

The default run sweeps a few hundred thousand inputs per activation; `pytest -m slow` sweeps
millions (denser around each k ln 2 and each binade).
"""

import numpy as np
import pytest

import reference
from cases import DEFAULT_ARGS, backendKernel, Case, gpu


NAMES = ("sigmoid", "tanh", "elu", "softPlus")
LN2 = np.log(2.0)
POWERS = np.exp2(-np.arange(1, 60, dtype=np.longdouble))

# outputs at binade boundaries, and the inputs that give them (inverses in long double): just
# below a boundary an ulp of the output halves, so an error in exp weighs twice as much there
CROSSINGS = {
	"sigmoid": (POWERS, lambda y: np.log(y / (1 - y))),
	"tanh": (np.concatenate([POWERS, -POWERS]), np.arctanh),
	"elu": (-POWERS, np.log1p),                                       # alpha = 1
	"softPlus": (np.exp2(np.arange(-59, 6, dtype=np.longdouble)), lambda y: np.log(np.expm1(y))),
}


def neighbours(centers, count):
	"""The count doubles on either side of each center, and the centers themselves."""
	bits = np.asarray(centers, dtype=np.float64).view(np.int64)
	return (bits[:, None] + np.arange(-count, count + 1)[None, :]).ravel().view(np.float64)


def sweep(name, ulps, window, randoms, seed):
	"""x around +-k ln 2 and +-(k + 1/2) ln 2 for every k an exp can take (where the reduction
	x - k ln 2 changes k), around +-2^e, densely on the side of each output boundary where the
	output is smaller in magnitude, and random inputs over the interesting range."""
	k = np.arange(1, 1076, dtype=np.float64)
	binades = np.exp2(np.arange(-60, 11, dtype=np.float64))
	rng = np.random.default_rng(seed)

	parts = [neighbours(np.concatenate([sign * k * LN2, sign * (k - 0.5) * LN2]), ulps) for sign in (1, -1)]
	parts += [neighbours(np.concatenate([binades, -binades]), 4 * ulps)]

	outputs, inverse = CROSSINGS[name]
	centers = inverse(outputs).astype(np.float64)
	steps = np.linspace(0, 0.02, window)
	parts += [(centers[:, None] - np.sign(outputs).astype(np.float64)[:, None] * steps[None, :]).ravel()]

	parts += [rng.uniform(-40, 40, randoms), -np.exp(rng.uniform(-30, 6.6, randoms // 4))]
	x = np.concatenate(parts)
	return x[np.isfinite(x)]


def checkSweep(name, x):
	args = DEFAULT_ARGS.get(name, ())
	case = Case(name, args, ())
	forward = backendKernel(case, "forward", np.float64)
	backward = backendKernel(case, "backward", np.float64)

	y = gpu(np.empty_like(x))
	forward(y, gpu(x), *args)
	reference.assertClose(y.get(), reference.forward(name, x, args), "%s float64 forward" % name)

	dy = np.random.default_rng(7).uniform(0.5, 2.0, x.size)
	dx = gpu(np.empty_like(x))
	backward(dx, gpu(dy), y, *args)
	reference.assertClose(dx.get(), reference.backward(name, dy, y.get(), args), "%s float64 backward" % name)


@pytest.mark.parametrize("name", NAMES)
def test_float64_sweep(backend, name):
	checkSweep(name, sweep(name, ulps=16, window=4000, randoms=1 << 17, seed=1))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_float64_dense_sweep(backend, name):
	checkSweep(name, sweep(name, ulps=1024, window=1 << 16, randoms=1 << 23, seed=2))
