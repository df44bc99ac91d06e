"""Property-based tests (hypothesis) of the Activation module over random shapes (0-size, one element,
odd sizes, up to 5 dimensions, a few big tensors of up to ~3M elements), every supported dtype, every
activation with args anywhere in their valid ranges, any slice (start/stop beyond the ends, negative and
huge steps, numpy integers) and both inplace modes:

- forward and backward agree with the independent float64 / long double references within the ulp
  bounds (float32 4, float16 1, float64 4), and elements outside the slice pass through bitwise;
- inplace and not inplace give bitwise identical results, and a pass that is not inplace leaves its
  inputs alone;
- in float64, forward-then-backward agrees with a central finite difference of the reference function,
  wherever the function is smooth.

The examples are derandomized and no example database is kept, so every run (and CI) is reproducible.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import reference
from cases import ACTIVATIONS, DEFAULT_ARGS, Case, refBackward, refForward
from harness import assertSameBits


SETTINGS = dict(
	deadline=None, derandomize=True, database=None,
	suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]
)

KINKED = {"relu", "leakyRelu", "elu", "clip"}
EXACT_TANH_LIMIT = 20000     # cases.refBackward's exact float64 tanh reference is per element (fractions)


@pytest.fixture
def quiet(monkeypatch):
	from PuzzleLib import Config
	monkeypatch.setattr(Config, "showWarnings", False)     # no log line per inplace module built


def supportedDtypes():
	from PuzzleLib.Backend import gpuarray
	return [np.dtype(dtype) for dtype, _ in gpuarray.dtypesSupported()]


# --- strategies --------------------------------------------------------------------------------

def argsOf(name):
	"""Args anywhere in the valid range: alpha >= 0 (0 and tiny included), clip with min < max."""
	if name in ("leakyRelu", "elu"):
		return st.tuples(st.one_of(st.just(0.0), st.floats(0, 1e-3), st.floats(0, 10)))

	if name == "clip":
		return st.tuples(st.floats(-50, 50), st.floats(1e-6, 60)).map(lambda pair: (pair[0], pair[0] + pair[1]))

	return st.just(())


@st.composite
def cases(draw):
	name = draw(st.sampled_from(ACTIVATIONS))
	if name in DEFAULT_ARGS and draw(st.booleans()):
		return Case(name, DEFAULT_ARGS[name], ())          # the module's defaults

	args = draw(argsOf(name))
	return Case(name, args, args)


def slices(size):
	"""None, or any slice with step != 0: bounds inside, beyond and far beyond the ends, as ints or
	numpy integers; steps of every size and sign, including ones larger than int64."""
	span = size + 3
	bound = st.one_of(
		st.none(), st.integers(-span, span), st.integers(-span, span).map(np.int64), st.integers(-2 ** 70, 2 ** 70)
	)
	step = st.one_of(
		st.none(), st.integers(1, span), st.integers(-span, -1), st.integers(-3, 3).filter(bool).map(np.int64),
		st.sampled_from((2 ** 40, -2 ** 40, 2 ** 70))
	)
	some = st.builds(slice, bound, bound, step)
	return st.one_of(st.none(), some, some, some)        # a slice three times as often as none


def elements(dtype):
	width = 8 * dtype.itemsize
	return st.one_of(st.floats(width=width), st.floats(-30, 30, width=width))


SCALES = (1e-3, 0.5, 4.0, 30.0, 1e4)


def randomTensor(shape, dtype, seed, scale):
	"""Normals at one scale (so neighbours differ, and a misplaced element shows), with NaN, +-inf
	and +-0 at a few random positions."""
	rng = np.random.default_rng(seed)
	size = int(np.prod(shape))
	x = rng.standard_normal(size) * scale
	if size:
		specials = (np.nan, np.inf, -np.inf, 0.0, -0.0)
		x[rng.integers(0, size, 4 * len(specials))] = np.repeat(specials, 4)

	with np.errstate(over="ignore"):
		return x.astype(dtype).reshape(shape)


@st.composite
def tensors(draw, shape, dtype, label):
	"""A random tensor, with up to 8 values anywhere in the dtype (subnormals, huge, NaN, inf, -0)
	that hypothesis picks, at positions it picks."""
	x = randomTensor(shape, dtype, draw(st.integers(0, 2 ** 32 - 1)), draw(st.sampled_from(SCALES)))
	if x.size:
		flat = x.reshape(-1)
		picks = draw(st.lists(st.tuples(st.integers(0, x.size - 1), elements(dtype)), max_size=8), label=label)
		for index, value in picks:
			flat[index] = value

	return x


# --- the checks --------------------------------------------------------------------------------

def selected(size, slc):
	"""The flat indices a slice selects, by Python's own range slicing."""
	picked = range(size)[slice(None) if slc is None else slice(*(
		None if part is None else int(part) for part in (slc.start, slc.stop, slc.step)
	))]
	return np.arange(picked.start, picked.stop, picked.step, dtype=np.int64)


def runModule(case, x, dy, slc, inplace):
	"""(y, dx) from a module's forward and backward, checking what inplace promises on the way."""
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Activation

	act = Activation(case.name, slc=slc, inplace=inplace, args=case.moduleArgs)
	act.calcMode(x.dtype)

	data, grad = gpuarray.to_gpu(x), gpuarray.to_gpu(dy)
	out = act(data)
	assert (out is data) == inplace, "inplace=%s: the output should %sbe the input object" % (inplace, "" if inplace else "not ")
	y = out.get()

	act.backward(grad)
	assert (act.grad is grad) == inplace
	dx = act.grad.get()

	if not inplace:
		assertSameBits(data.get(), x, "the forward input was modified")
		assertSameBits(grad.get(), dy, "the incoming gradient was modified")

	return y, dx


def checkPasses(case, x, dy, slc, inplace):
	y, dx = runModule(case, x, dy, slc, inplace)
	assert y.shape == x.shape and y.dtype == x.dtype and dx.shape == x.shape and dx.dtype == x.dtype

	inside = selected(x.size, slc)
	outside = np.ones(x.size, dtype=bool)
	outside[inside] = False
	flat = {name: ary.reshape(-1) for name, ary in (("x", x), ("dy", dy), ("y", y), ("dx", dx))}
	what = "%s %s shape %s slice %s inplace %s" % (case, x.dtype, x.shape, slc, inplace)

	reference.assertClose(flat["y"][inside], refForward(case, flat["x"][inside]), context="forward " + what)
	assertSameBits(flat["y"][outside], flat["x"][outside], "forward outside the slice " + what)

	checked = inside
	if case.name == "tanh" and x.dtype == np.float64 and inside.size > EXACT_TANH_LIMIT:
		rng = np.random.default_rng(inside.size)
		checked = np.concatenate([inside[:64], inside[-64:], rng.choice(inside, 4096)])

	reference.assertClose(
		flat["dx"][checked], refBackward(case, flat["dy"][checked], flat["y"][checked]), context="backward " + what
	)
	assertSameBits(flat["dx"][outside], flat["dy"][outside], "backward outside the slice " + what)

	yOther, dxOther = runModule(case, x, dy, slc, not inplace)
	assertSameBits(yOther, y, "forward, inplace=%s vs %s: %s" % (not inplace, inplace, what))
	assertSameBits(dxOther, dx, "backward, inplace=%s vs %s: %s" % (not inplace, inplace, what))


# --- the properties ----------------------------------------------------------------------------

@settings(max_examples=300, **SETTINGS)
@given(data=st.data())
def test_small_tensors_match_reference(backend, quiet, data):
	dtype = data.draw(st.sampled_from(supportedDtypes()), label="dtype")
	case = data.draw(cases(), label="case")
	shape = data.draw(st.one_of(
		hnp.array_shapes(min_dims=0, max_dims=5, min_side=0, max_side=7),
		hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=150)
	), label="shape")
	x = data.draw(tensors(shape, dtype, "x values"), label="x")
	dy = data.draw(tensors(shape, dtype, "dy values"), label="dy")
	slc = data.draw(slices(x.size), label="slc")

	checkPasses(case, x, dy, slc, data.draw(st.booleans(), label="inplace"))


@settings(max_examples=6, **SETTINGS)
@given(data=st.data())
def test_big_tensors_match_reference(backend, quiet, data):
	"""Past the CPU kernels' threading threshold (2^15 elements), up to ~3M elements."""
	dtype = data.draw(st.sampled_from(supportedDtypes()), label="dtype")
	case = data.draw(cases(), label="case")
	lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2), label="leading dims"))
	cap = 3_000_000 // int(np.prod(lead))
	last = data.draw(st.one_of(st.integers(1 << 15, 300_000), st.integers(cap // 3, cap)), label="last dim")
	shape = lead + (last, )

	x = data.draw(tensors(shape, dtype, "x values"), label="x")
	dy = data.draw(tensors(shape, dtype, "dy values"), label="dy")
	slc = data.draw(slices(x.size), label="slc")

	checkPasses(case, x, dy, slc, data.draw(st.booleans(), label="inplace"))


def referenceFunction(case, x):
	return reference.forward(case.name, x, case.args)


def smooth(case, x, margin):
	"""Where the function is smooth within margin: away from the kinks of relu, leakyRelu, elu at 0
	and of clip at its bounds."""
	if case.name not in KINKED:
		return np.ones(x.shape, dtype=bool)

	kinks = case.args if case.name == "clip" else (0.0, )
	return np.all([np.abs(x - kink) > margin for kink in kinks], axis=0)


@settings(max_examples=100, **SETTINGS)
@given(data=st.data())
def test_gradient_matches_finite_differences(backend, quiet, data):
	"""float64: backward after forward equals dy times the central difference of the reference
	function, to a relative 1e-6 (plus a few float64 ulps of |dy| for the output-based derivatives
	that cancel, e.g. elu's y + alpha as y nears -alpha). |x| <= 8 keeps the difference quotient's
	rounding (long double values over a step of 2^-20 |x|) far below the tolerance."""
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Activation

	if np.dtype(np.float64) not in supportedDtypes():
		pytest.skip("this backend does not compute in float64, the only dtype a finite difference can check")

	case = data.draw(cases(), label="case")
	size = data.draw(st.integers(1, 300), label="size")
	x = data.draw(hnp.arrays(np.float64, size, elements=st.floats(-8, 8)), label="x")
	dy = data.draw(hnp.arrays(np.float64, size, elements=st.floats(-4, 4)), label="dy")

	act = Activation(case.name, inplace=data.draw(st.booleans(), label="inplace"), args=case.moduleArgs)
	act.calcMode(np.float64)
	act(gpuarray.to_gpu(x))
	act.backward(gpuarray.to_gpu(dy))
	got = act.grad.get()

	h = 2.0 ** -20 * np.maximum(1.0, np.abs(x))
	above, below = x + h, x - h
	wide = reference.wideType(np.float64)
	slope = (referenceFunction(case, above) - referenceFunction(case, below)) / (above.astype(wide) - below.astype(wide))
	expected = dy.astype(wide) * slope

	scale = 1.0 + max((abs(a) for a in case.args), default=0.0)
	# below the normal range float64 is spaced by its smallest subnormal: a rounding there is one step
	tolerance = 1e-6 * np.abs(expected) + 16 * np.finfo(np.float64).eps * np.abs(dy) * scale \
		+ 2 * np.finfo(np.float64).smallest_subnormal
	error = np.abs(got.astype(wide) - expected)

	mask = smooth(case, x, 4 * h)
	bad = np.flatnonzero(mask & ~(error <= tolerance))
	assert bad.size == 0, "%s: at x=%r dy=%r: backward %r, finite difference %r (%d elements off)" % (
		case, x[bad[0]], dy[bad[0]], got[bad[0]], float(expected[bad[0]]), bad.size
	)
