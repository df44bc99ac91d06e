"""The Activation module's contract: the documentation page's example, signature, defaults,
inplace, slices, blueprint, modes and dtypes."""

import importlib, inspect, logging
from enum import Enum

import numpy as np
import pytest

import reference
from cases import ACTIVATIONS, DEFAULT_ARGS, Case, assertBackward, assertForward, cast, gpu, idOf, normal


def pageData():
	np.random.seed(123)
	return np.random.randint(-10, 10, (3, 3)).astype(np.float32)


# The documentation page's printed outputs, as printed. numpy prints the shortest decimal that
# identifies a float32, so each is the original's float32 output exactly; the original's sigmoid was
# itself up to ~3 ulp off (0.00012339462 for sigmoid(-9), whose float32 rounding is 0.00012339458).
PAGE_DATA = [[3, -8, -8], [-4, 7, 9], [0, -9, -10]]
PAGE_SIGMOID = (
	("0.95257413", "0.00033535017", "0.00033535017"),
	("0.01798621", "0.999089", "0.99987662"),
	("0.5", "0.00012339462", "0.000045397865"),
)
PAGE_RELU = [[3, 0, 0], [0, 7, 9], [0, 0, 0]]


def assertPrinted(got, printed):
	"""Each value agrees with the page's float32 to the accuracy contract's float32 bound (4 ulp)."""
	page = np.array(printed, dtype=np.float32).astype(np.float64)
	reference.assertClose(got, page, context="the page's printed sigmoid values")


def capturedLog(caplog):
	"""Records the "PuzzleLib" logger (its records propagate to caplog's handler on the root logger)."""
	return caplog.at_level(logging.DEBUG, logger="PuzzleLib")


def warnings(caplog):
	return [r.getMessage() for r in caplog.records if r.name == "PuzzleLib" and r.levelno >= logging.WARNING]


# --- the documentation page's example ----------------------------------------------------------

def test_page_example(backend, capsys):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Activation

	host = pageData()
	data = gpuarray.to_gpu(host)
	assert host.tolist() == PAGE_DATA and data.get().tolist() == PAGE_DATA

	print(data)
	assert capsys.readouterr().out == str(host) + "\n", "a GPUArray prints like the numpy array it holds"

	act = Activation('sigmoid')
	out = act(data)
	got = out.get()
	assertPrinted(got, PAGE_SIGMOID)
	assertForward(got, Case("sigmoid", (), ()), host, "(page example)")

	print(out)
	assert capsys.readouterr().out == str(got) + "\n"

	act = Activation("relu")
	assert act(data).get().tolist() == PAGE_RELU
	assert data.get().tolist() == PAGE_DATA, "a module that is not inplace leaves its input alone"


# --- names, signature, defaults ------------------------------------------------------------------

def test_signature():
	from PuzzleLib.Modules import Activation, Module
	params = inspect.signature(Activation).parameters
	assert [(p.name, p.default) for p in params.values()] == [
		("activation", inspect.Parameter.empty), ("slc", None), ("inplace", False), ("name", None), ("args", ())
	]
	assert issubclass(Activation, Module)


def test_activation_type_is_str_enum():
	module = importlib.import_module("PuzzleLib.Modules.Activation")    # the package's attribute is the class
	from PuzzleLib.Modules.Activation import ActivationType

	assert issubclass(ActivationType, str) and issubclass(ActivationType, Enum)
	assert sorted(member.value for member in ActivationType) == sorted(ACTIVATIONS)

	for name in ACTIVATIONS:
		constant = getattr(module, name)
		assert isinstance(constant, ActivationType)
		assert constant == name and constant.value == name and ActivationType(name) is constant


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_constant_and_string_are_the_same(backend, name):
	module = importlib.import_module("PuzzleLib.Modules.Activation")    # the package's attribute is the class
	from PuzzleLib.Modules.Activation import Activation

	x = normal((4, 5), seed=7, scale=5)
	byConstant, byName = Activation(getattr(module, name)), Activation(name)

	assert byConstant(gpu(x)).get().tobytes() == byName(gpu(x)).get().tobytes()
	assert byConstant.getBlueprint()["scheme"]["activation"] == name


@pytest.mark.parametrize("name", sorted(DEFAULT_ARGS))
def test_default_args(backend, name):
	"""The defaults are the documented ones: leakyRelu 0.01, elu 1.0, clip (0, 6)."""
	from PuzzleLib.Modules import Activation

	x = cast(np.linspace(-8, 8, 65), np.float32)
	default = Activation(name)(gpu(x)).get()
	explicit = Activation(name, args=DEFAULT_ARGS[name])(gpu(x)).get()

	assert default.tobytes() == explicit.tobytes()
	assertForward(default, Case(name, DEFAULT_ARGS[name], ()), x, "(defaults)")


def test_grad_uses_out_data(backend):
	from PuzzleLib.Modules import Activation
	assert all(Activation(name).gradUsesOutData is True for name in ACTIVATIONS)


# --- inplace -------------------------------------------------------------------------------------

INPLACE_CASE = Case("elu", DEFAULT_ARGS["elu"], ())


def test_inplace_forward_backward(backend, caplog):
	from PuzzleLib.Modules import Activation

	x = normal((6, 7), seed=8, scale=3)
	dy = normal((6, 7), seed=9)

	with capturedLog(caplog):
		act = Activation("elu", inplace=True, name="ip")

	messages = warnings(caplog)
	assert len(messages) == 1 and "inplace" in messages[0] and "Module Activation (name: ip)" in messages[0]

	data, grad = gpu(x), gpu(dy)
	out = act(data)
	assert out is data and act.data is data
	assertForward(data.get(), INPLACE_CASE, x, "(inplace)")

	y = data.get()
	act.backward(grad)
	assert act.grad is grad
	assertBackward(grad.get(), INPLACE_CASE, dy, y, "(inplace)")


def test_inplace_no_warning_when_warnings_off(backend, caplog, monkeypatch):
	from PuzzleLib import Config
	from PuzzleLib.Modules import Activation

	monkeypatch.setattr(Config, "showWarnings", False)
	with capturedLog(caplog):
		Activation("relu", inplace=True)
	assert warnings(caplog) == []


def test_not_inplace_leaves_inputs(backend):
	from PuzzleLib.Modules import Activation

	x = normal((5, 3), seed=10)
	dy = normal((5, 3), seed=11)
	data, grad = gpu(x), gpu(dy)

	act = Activation("tanh")
	out = act(data)
	act.backward(grad)

	assert out is not data and act.grad is not grad and act.inData is data
	assert data.get().tobytes() == x.tobytes() and grad.get().tobytes() == dy.tobytes()


# --- slc -----------------------------------------------------------------------------------------

SHAPE = (4, 6)
SLICES = (
	slice(None), slice(2, 10), slice(-5, None), slice(None, -3), slice(-7, -2), slice(None, None, -1),
	slice(10, 2, -3), slice(1, 20, 4), slice(None, None, 7), slice(-2, None, -5), slice(5, 5), slice(8, 3),
	slice(-1, -4), slice(0, 1000), slice(-1000, 3), slice(1000, None), slice(None, -1000, -1), slice(3, None, 100),
)
SLICE_CASES = (INPLACE_CASE, Case("clip", (-0.5, 0.75), (-0.5, 0.75)))


@pytest.mark.parametrize("case", SLICE_CASES, ids=idOf)
@pytest.mark.parametrize("inplace", (False, True), ids=("copy", "inplace"))
@pytest.mark.parametrize("slc", SLICES, ids=str)
def test_slice(backend, slc, inplace, case):
	"""Only the elements of the flat slice (resolved like slice.indices) change, forward and backward."""
	from PuzzleLib.Modules import Activation

	x, dy = normal(SHAPE, seed=12, scale=2), normal(SHAPE, seed=14)
	inside = np.zeros(x.size, dtype=bool)
	inside[np.arange(x.size)[slc]] = True

	act = Activation(case.name, slc=slc, inplace=inplace, args=case.moduleArgs)
	data, grad = gpu(x), gpu(dy)
	y = act(data).get().ravel()
	assert (act.data is data) == inplace

	assert y[~inside].tobytes() == x.ravel()[~inside].tobytes(), "forward changed elements outside the slice"
	assertForward(y[inside], case, x.ravel()[inside], "(inside %s)" % slc)

	act.backward(grad)
	assert (act.grad is grad) == inplace
	dx = act.grad.get().ravel()
	assert dx[~inside].tobytes() == dy.ravel()[~inside].tobytes(), "backward changed elements outside the slice"
	assertBackward(dx[inside], case, dy.ravel()[inside], y[inside], "(inside %s)" % slc)

	if not inplace:
		assert data.get().tobytes() == x.tobytes() and grad.get().tobytes() == dy.tobytes()


# --- blueprint, names, modes ---------------------------------------------------------------------

def test_blueprint(backend):
	from PuzzleLib.Modules import Activation

	kwargs = dict(activation="elu", slc=slice(1, 9, 2), inplace=False, name="act1", args=(0.5, ))
	act = Activation(**kwargs)
	assert act.getBlueprint() == {"classname": "Activation", "scheme": kwargs}

	assert Activation("relu").getBlueprint() == {
		"classname": "Activation", "scheme": dict(activation="relu", slc=None, inplace=False, name=None, args=())
	}

	# the scheme rebuilds an equivalent module
	x = cast(np.linspace(-3, 3, 12), np.float32)
	clone = Activation(**act.getBlueprint()["scheme"])
	assert clone(gpu(x)).get().tobytes() == act(gpu(x)).get().tobytes()


@pytest.mark.parametrize("name", (None, "act1", "my layer"))
def test_str(backend, name):
	from PuzzleLib.Modules import Activation
	act = Activation("sigmoid", name=name)
	assert str(act) == "Module Activation (name: %s)" % name
	assert act.name == name


def test_train_eval_reset(backend):
	from PuzzleLib.Modules import Activation

	act = Activation("relu")
	assert act.train is True

	x = gpu(cast(np.arange(-3, 3), np.float32))
	act(x)
	act.backward(gpu(cast(np.ones(6), np.float32)))
	assert act.data is not None and act.grad is not None and act.inData is x

	act.evalMode()
	assert act.train is False
	assert act.data is None and act.grad is None and act.inData is None

	act(x)
	act.trainMode()
	assert act.train is True and act.data is None

	act(x)
	act.reset()
	assert act.train is True and act.data is None and act.inData is None and act.grad is None


@pytest.mark.parametrize("evalMode", (False, True))
def test_global_eval_mode(backend, monkeypatch, evalMode):
	from PuzzleLib import Config
	from PuzzleLib.Modules import Activation

	monkeypatch.setattr(Config, "globalEvalMode", evalMode)
	assert Activation("tanh").train is (not evalMode)


@pytest.mark.parametrize("dtype", (np.float16, np.float64), ids=idOf)
def test_calc_mode(backend, dtype):
	from PuzzleLib.Modules import Activation, ModuleError

	x = cast(np.linspace(-4, 4, 33), dtype)
	act = Activation("softPlus")

	with pytest.raises(ModuleError, match="Module Activation"):
		act(gpu(x))     # the default calcMode is float32

	act.calcMode(dtype)
	out = act(gpu(x))
	assert out.dtype == dtype
	assertForward(out.get(), Case("softPlus", (), ()), x, "(calcMode)")

	dy = cast(np.ones(x.size), dtype)
	act.backward(gpu(dy))
	assert act.grad.dtype == dtype
	assertBackward(act.grad.get(), Case("softPlus", (), ()), dy, out.get(), "(calcMode)")

	with pytest.raises(ModuleError, match="Module Activation"):
		act(gpu(cast(x, np.float32)))    # and now float32 is the foreign one


def test_no_params(backend):
	from PuzzleLib.Modules import Activation
	for name in ACTIVATIONS:
		act = Activation(name)
		assert act.numOfParams() == 0 and act.paramSize() == 0 and act.paramSize("mb") == 0
		assert act.vars == {}


def test_shapes(backend):
	from PuzzleLib.Modules import Activation
	act = Activation("relu")
	assert act.dataShapeFrom((2, 3, 4)) == (2, 3, 4) and act.gradShapeFrom((5, )) == (5, )


@pytest.mark.parametrize("shape", ((0, ), (1, ), (3, 0, 2), (2, 3, 4, 5)), ids=str)
def test_any_shape(backend, shape):
	from PuzzleLib.Modules import Activation

	x = normal(shape, seed=13)
	act = Activation("sigmoid")
	out = act(gpu(x))
	assert out.shape == shape
	assertForward(out.get(), Case("sigmoid", (), ()), x, "(shape %s)" % (shape, ))

	act.backward(gpu(np.ones_like(x)))
	assert act.grad.shape == shape



class _Var:
	"""The two attributes Module reads of a parameter: its data and its gradient."""

	def __init__(self, data):
		self.data, self.grad = data, None


def test_save_load_roundtrip_of_parameters(backend, tmp_path):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Module, ModuleError

	values = normal((3, 4), np.float32)
	source, target = Module(name="layer"), Module(name="layer")
	source.setVar("W", _Var(gpuarray.to_gpu(values)))
	target.setVar("W", _Var(gpuarray.zeros((3, 4), np.float32)))

	assert source.numOfParams() == 12 and source.paramSize() == 48
	target.load(source.save())
	assert np.array_equal(target.W.get(), values)

	path = str(tmp_path / "params.npz")
	source.save(path)
	target.W.fill(0)
	target.load(path)
	assert np.array_equal(target.W.get(), values)

	wrongShape = Module(name="layer")
	wrongShape.setVar("W", _Var(gpuarray.zeros((4, 3), np.float32)))
	with pytest.raises(ModuleError, match="W is"):
		wrongShape.load(path)
	assert np.array_equal(wrongShape.W.get(), np.zeros((4, 3), np.float32))


def test_a_module_deep_copies_before_its_first_pass_not_after(backend):
	import copy
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Activation

	act = Activation("clip", args=(-1.0, 1.0))
	twin = copy.deepcopy(act)
	data = gpuarray.to_gpu(np.array([-3.0, 0.5, 2.0], dtype=np.float32))
	assert twin(data).get().tolist() == [-1.0, 0.5, 1.0] and act.data is None

	act(data)
	with pytest.raises((TypeError, RuntimeError)):
		copy.deepcopy(act)
