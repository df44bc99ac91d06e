"""Linear, Flatten and Identity: outputs and gradients against float64 references, central finite
differences in float64, tied weights, shapes, blueprints, and refused input leaving all as it was."""

import numpy as np
import pytest

from cases import gpu, normal
from harness import centralDifferences
from reference import assertProductClose


def wide(ary):
	return np.asarray(ary, dtype=np.float64)


def linear(insize, outsize, dtype=np.float32, seed=0, **kwargs):
	from PuzzleLib.Modules import Linear
	np.random.seed(seed)
	lin = Linear(insize, outsize, **kwargs)
	if "b" in lin.vars:
		lin.b.set(normal((outsize, ), np.float32, seed=seed + 100))     # a bias that shows in the output
	lin.calcMode(dtype)
	return lin


# --- forward and backward against references --------------------------------------------------

@pytest.mark.parametrize("dtype", (np.float32, np.float16, np.float64), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("transpose", (False, True))
@pytest.mark.parametrize("passBefore", (False, True), ids=("first pass", "after a pass"))
def test_forward_backward_within_bounds(backend, dtype, transpose, passBefore):
	n, insize, outsize = 17, 70, 23
	lin = linear(insize, outsize, dtype, transpose=transpose)
	x, g = normal((n, insize), dtype, seed=1), normal((n, outsize), dtype, seed=2)
	if passBefore:
		# a pass over other arrays of these shapes: the next takes the products Blas has checked
		lin(gpu(normal((n, insize), dtype, seed=5)))
		lin.backward(gpu(normal((n, outsize), dtype, seed=6)))
	W, b = lin.W.get(), lin.b.get()
	Wio = W.T if transpose else W                  # as (insize, outsize)

	y = lin(gpu(x)).get()
	assert y.shape == (n, outsize) and y.dtype == np.dtype(dtype)
	# x W + b as one GEMM with beta = 1 over the bias: float16 rounds once
	assertProductClose(y, wide(x) @ wide(Wio) + wide(b), np.abs(wide(x)) @ np.abs(wide(Wio)) + np.abs(wide(b)),
		insize + 2, dtype, "forward")

	gradW0, gradb0 = normal(W.shape, dtype, seed=3), normal(b.shape, dtype, seed=4)
	lin.getVar("W").grad.set(gradW0)
	lin.getVar("b").grad.set(gradb0)

	lin.backward(gpu(g), scale=0.5, momentum=2.0)

	dx = lin.grad.get()
	assertProductClose(dx, wide(g) @ wide(Wio).T, np.abs(wide(g)) @ np.abs(wide(Wio)).T, outsize, dtype, "input grad")

	dW = wide(x).T @ wide(g)
	dWmag = np.abs(wide(x)).T @ np.abs(wide(g))
	if transpose:
		dW, dWmag = dW.T, dWmag.T
	assertProductClose(lin.getVar("W").grad.get(), 0.5 * dW + 2 * wide(gradW0), 0.5 * dWmag + 2 * np.abs(wide(gradW0)),
		n + 2, dtype, "W grad")

	db, dbmag = wide(g).sum(axis=0), np.abs(wide(g)).sum(axis=0)
	assertProductClose(lin.getVar("b").grad.get(), 0.5 * db + 2 * wide(gradb0), 0.5 * dbmag + 2 * np.abs(wide(gradb0)),
		n + 2, dtype, "b grad")


def test_without_bias(backend):
	lin = linear(5, 3, useBias=False)
	assert set(lin.vars) == {"W"}
	x = normal((4, 5), seed=5)
	y = lin(gpu(x)).get()
	assertProductClose(y, wide(x) @ wide(lin.W.get()), np.abs(wide(x)) @ np.abs(wide(lin.W.get())), 5, np.float32)


def test_eval_mode_computes_no_parameter_grads(backend):
	lin = linear(5, 3)
	lin.evalMode()
	lin(gpu(normal((4, 5), seed=6)))
	lin.backward(gpu(normal((4, 3), seed=7)))
	assert not lin.getVar("W").grad.get().any() and lin.grad.shape == (4, 5)


# --- finite differences in float64 -------------------------------------------------------------

def assertGradClose(got, numeric, what):
	# float64 data: central differences are accurate to ~eps^2 plus ~1e-10 of rounding
	np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8, err_msg=what)


@pytest.mark.parametrize("transpose", (False, True))
def test_finite_differences(backend, transpose):
	lin = linear(6, 4, np.float64, transpose=transpose, seed=8)
	x, r = normal((5, 6), np.float64, seed=9), normal((5, 4), np.float64, seed=10)
	W, b = lin.W.get(), lin.b.get()

	def loss():
		lin.getVar("W").data.set(W)
		lin.getVar("b").data.set(b)
		return float((lin(gpu(x)).get() * r).sum())

	numeric = {"x": centralDifferences(loss, x), "W": centralDifferences(loss, W), "b": centralDifferences(loss, b)}

	loss()
	lin.zeroGradParams()
	lin.backward(gpu(r))
	assertGradClose(lin.grad.get(), numeric["x"], "data")
	assertGradClose(lin.getVar("W").grad.get(), numeric["W"], "W")
	assertGradClose(lin.getVar("b").grad.get(), numeric["b"], "b")


def test_finite_differences_with_tied_weights(backend):
	"""An autoencoder whose decoder is the encoder's W transposed: W's grad sums both uses."""
	from PuzzleLib.Modules import Linear
	enc = linear(6, 3, np.float64, seed=11)
	dec = Linear(3, 6, empty=True, transpose=True)
	dec.setVar("W", enc.getVar("W"))
	from PuzzleLib.Variable import Variable
	dec.setVar("b", Variable(gpu(normal((6, ), np.float64, seed=12))))
	dec.calcMode(np.float64)

	x, r = normal((4, 6), np.float64, seed=13), normal((4, 6), np.float64, seed=14)
	W = enc.W.get()

	def loss():
		enc.getVar("W").data.set(W)
		return float((dec(enc(gpu(x))).get() * r).sum())

	numeric = centralDifferences(loss, W)

	loss()
	enc.zeroGradParams(), dec.zeroGradParams()
	dec.backward(gpu(r), momentum=1.0)
	enc.backward(dec.grad, momentum=1.0)
	assertGradClose(enc.getVar("W").grad.get(), numeric, "tied W")


def test_finite_differences_through_flatten(backend):
	from PuzzleLib.Modules import Flatten
	flat = Flatten()
	lin = linear(12, 2, np.float64, seed=15)
	x, r = normal((3, 2, 3, 2), np.float64, seed=16), normal((3, 2), np.float64, seed=17)

	def loss():
		return float((lin(flat(gpu(x))).get() * r).sum())

	numeric = centralDifferences(loss, x)
	loss()
	lin.backward(gpu(r))
	flat.backward(lin.grad)
	assert flat.grad.shape == x.shape
	assertGradClose(flat.grad.get(), numeric, "data through Flatten")


# --- Flatten and Identity ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", (np.float32, np.float16, np.int32), ids=lambda d: np.dtype(d).name)
def test_flatten_moves_data_without_copying(backend, dtype):
	from PuzzleLib.Modules import Flatten
	flat = Flatten()
	data = gpu(normal((2, 3, 4), np.float32, seed=18).astype(dtype))

	out = flat(data)
	assert out.shape == (2, 12) and out.dtype == np.dtype(dtype) and out.ptr == data.ptr
	assert np.array_equal(out.get(), data.get().reshape(2, 12))
	assert flat.dataShapeFrom((5, 2, 7)) == (5, 14) and flat.gradShapeFrom((5, 2, 7)) == (5, 2, 7)

	grad = gpu(normal((2, 12), np.float32, seed=19).astype(dtype))
	flat.backward(grad)
	assert flat.grad.shape == (2, 3, 4) and flat.grad.ptr == grad.ptr


@pytest.mark.parametrize("name", ("Flatten", "Identity"))
def test_moving_modules_follow_calc_mode(backend, name):
	"""A network switched to float16 or float64 switches every module, these included."""
	import PuzzleLib.Modules as Modules
	mod = getattr(Modules, name)()
	for dtype in (np.float16, np.float64, np.float32):
		mod.calcMode(dtype)
		assert mod(gpu(normal((2, 3), dtype, seed=22))).dtype == np.dtype(dtype)


def test_identity_passes_the_very_arrays(backend):
	from PuzzleLib.Modules import Identity
	ident = Identity(name="id")
	data, grad = gpu(normal((3, 5), seed=20)), gpu(normal((3, 5), seed=21))
	assert ident(data) is data
	ident.backward(grad)
	assert ident.grad is grad
	assert ident.getBlueprint() == {"classname": "Identity", "scheme": {"name": "id"}}


# --- signature, blueprint, shapes --------------------------------------------------------------

def test_blueprint_and_shapes(backend):
	from PuzzleLib.Modules import Linear
	lin = Linear(8, 3, wscale=0.5, useBias=False, initscheme=("xavier", "avg"), name="fc", transpose=True)
	assert lin.getBlueprint() == {"classname": "Linear", "scheme": {
		"insize": 8, "outsize": 3, "wscale": 0.5, "useBias": False, "initscheme": ("xavier", "avg"), "name": "fc",
		"empty": False, "transpose": True
	}}
	assert lin.W.shape == (3, 8) and lin.dataShapeFrom((10, 8)) == (10, 3) and lin.gradShapeFrom((10, 3)) == (10, 8)
	assert str(lin) == "Module Linear (name: fc)"
	assert lin.numOfParams() == 24


def test_bias_has_the_output_width_when_transposed(backend):
	lin = linear(5, 3, transpose=True)
	assert lin.W.shape == (3, 5) and lin.b.shape == (3, )


# --- refused input -----------------------------------------------------------------------------

def snapshot(lin):
	return {name: (var.data.get(), var.grad.get()) for name, var in lin.vars.items()}, lin.data, lin.grad, lin.inData


def assertUnchanged(lin, before):
	after = snapshot(lin)
	for name, (data, grad) in before[0].items():
		assert np.array_equal(after[0][name][0], data) and np.array_equal(after[0][name][1], grad), name
	assert after[1:] == before[1:] or all(a is b for a, b in zip(after[1:], before[1:]))


@pytest.mark.parametrize("name, call, message", [
	("1-D data", lambda lin: lin(gpu(normal((4, ), seed=30))), r"data must be 2-D \(batch, 4\), got shape \(4,\)"),
	("3-D data", lambda lin: lin(gpu(normal((2, 2, 4), seed=31)))	, "data must be 2-D"),
	("wrong width", lambda lin: lin(gpu(normal((2, 5), seed=32))), "data has width 5, expected insize 4"),
	("float64 data", lambda lin: lin(gpu(normal((2, 4), np.float64, seed=33))), "expected dtype float32"),
	("host data", lambda lin: lin(normal((2, 4), seed=34)), "data must be a"),
	("grad shape", lambda lin: lin.backward(gpu(normal((2, 4), seed=35))), r"grad has shape \(2, 4\), expected \(2, 3\)"),
	("grad dtype", lambda lin: lin.backward(gpu(normal((2, 3), np.float16, seed=36))), "expected dtype float32"),
	("grad rows", lambda lin: lin.backward(gpu(normal((3, 3), seed=37))), r"expected \(2, 3\)"),
])
def test_refused_input_changes_nothing(backend, name, call, message):
	from PuzzleLib.Modules import ModuleError
	lin = linear(4, 3)
	lin(gpu(normal((2, 4), seed=38)))
	before = snapshot(lin)

	with pytest.raises(ModuleError, match=message):
		call(lin)
	assertUnchanged(lin, before)


@pytest.mark.parametrize("passBefore", (False, True), ids=("first pass", "after a pass"))
def test_grads_swapped_or_overlapping_are_checked(backend, passBefore):
	"""A pass after one Blas checked reuses those checks only for the very same arrays: a grad set
	anew is checked again, and data that is a parameter's grad is refused as Blas refuses it."""
	from PuzzleLib.Backend import Blas, gpuarray
	lin = linear(4, 4)
	x, g = gpu(normal((4, 4), seed=40)), gpu(normal((4, 4), seed=41))
	lin(x)
	if passBefore:
		lin.backward(g)

	var = lin.getVar("W")
	var.grad = gpuarray.zeros((4, 4), dtype=np.float64)
	with pytest.raises(Blas.BlasError, match="dtype"):
		lin.backward(g)

	var.grad = gpuarray.zeros((4, 4), dtype=np.float32)
	lin(var.grad)
	with pytest.raises(Blas.BlasError, match="out overlaps A"):
		lin.backward(g)


def test_unchecked_data_after_a_pass_still_meets_blas_checks(backend, monkeypatch):
	"""With the module's dtype and shape checks off, a pass after a checked one must not hand BLAS
	data of the wrong width: Blas's own checks refuse it, before anything is written."""
	from PuzzleLib import Config
	from PuzzleLib.Backend import Blas
	lin = linear(4, 3)
	lin(gpu(normal((2, 4), seed=42)))
	monkeypatch.setattr(Config, "disableDtypeShapeChecks", True)

	with pytest.raises(Blas.BlasError, match="inner dimensions"):
		lin(gpu(normal((2, 5), seed=43)))


def test_backward_before_forward(backend):
	from PuzzleLib.Modules import ModuleError
	with pytest.raises(ModuleError, match="backward called before forward"):
		linear(4, 3).backward(gpu(normal((2, 3), seed=39)))


@pytest.mark.parametrize("kwargs, message", [
	({"insize": 0, "outsize": 3}, "insize and outsize must be positive integers"),
	({"insize": 2.5, "outsize": 3}, "insize and outsize must be positive integers"),
	({"insize": 2, "outsize": 3, "useBias": 1}, "useBias must be True or False"),
	({"insize": 2, "outsize": 3, "wscale": "big"}, "wscale must be a real number"),
	({"insize": 2, "outsize": 3, "initscheme": "glorot"}, "unknown init scheme 'glorot'"),
])
def test_refused_construction(backend, kwargs, message):
	from PuzzleLib.Modules import Linear, ModuleError
	with pytest.raises(ModuleError, match=message):
		Linear(**kwargs)


def test_empty_linear_needs_its_weights(backend):
	from PuzzleLib.Modules import Linear, ModuleError
	from PuzzleLib.Variable import Variable
	lin = Linear(4, 3, empty=True)
	assert lin.vars == {}
	with pytest.raises(ModuleError, match=r"W is not set"):
		lin(gpu(normal((2, 4), seed=40)))

	lin.setVar("W", Variable(gpu(normal((3, 4), seed=41))))
	lin.setVar("b", Variable(gpu(normal((3, ), seed=42))))
	with pytest.raises(ModuleError, match=r"W has shape \(3, 4\), expected \(4, 3\)"):
		lin(gpu(normal((2, 4), seed=43)))
	assert lin.data is None and lin.inData is None
