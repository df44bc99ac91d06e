"""Variable and the Module additions the training core stands on: getVarTable, init schemes,
zeroGradParams and updateParams, list inputs, calcMode converting parameters."""

import numpy as np
import pytest

from cases import gpu, normal


def test_variable_defaults(backend):
	from PuzzleLib.Variable import Variable
	data = gpu(normal((3, 4), seed=1))

	var = Variable(data)
	assert var.data is data and var.name.isdigit()
	assert var.grad.shape == (3, 4) and var.grad.dtype == np.float32 and not var.grad.get().any()
	assert (var.learnRate, var.momRate, var.wc) == (1.0, 1.0, 0.0)
	assert not var.hasUpdater and not var.hasPostUpdater

	other = Variable(data)
	assert int(other.name) > int(var.name)                     # a class-wide counter
	assert Variable(data, name="W").name == "W"
	assert Variable(data, withgrad=False).grad is None

	grad = gpu(normal((3, 4), seed=2))
	assert Variable(data, grad=grad).grad is grad


def test_variable_in_global_eval_mode_has_no_grad(backend, monkeypatch):
	from PuzzleLib import Config
	from PuzzleLib.Variable import Variable
	monkeypatch.setattr(Config, "globalEvalMode", True)
	assert Variable(gpu(normal((2, ), seed=3))).grad is None


def test_variable_with_updater(backend):
	from PuzzleLib.Variable import Variable
	calls = []
	var = Variable(gpu(normal((2, ), seed=4)), updater=lambda v, lr: calls.append((v, lr)))

	assert var.hasUpdater and var.grad is None and not hasattr(var, "learnRate")
	var.update(0.5)
	assert calls == [(var, 0.5)]


def test_variable_set_copies_data_and_grad(backend):
	from PuzzleLib.Variable import Variable
	a, b = Variable(gpu(normal((5, ), seed=5))), Variable(gpu(normal((5, ), seed=6)), grad=gpu(normal((5, ), seed=7)))
	a.set(b)
	assert np.array_equal(a.data.get(), b.data.get()) and np.array_equal(a.grad.get(), b.grad.get())
	assert a.data is not b.data


def test_variable_refuses_a_host_array(backend):
	from PuzzleLib.Variable import Variable
	with pytest.raises(TypeError, match="must be a GPUArray"):
		Variable(np.zeros(3, np.float32))
	with pytest.raises(TypeError, match="grad must be a GPUArray of the data's shape"):
		Variable(gpu(np.zeros(3, np.float32)), grad=gpu(np.zeros(4, np.float32)))


def test_var_table_names_and_shared_variables(backend):
	from PuzzleLib.Modules import Linear

	first = Linear(4, 3)
	tied = Linear(3, 4, empty=True, transpose=True, useBias=False)
	tied.setVar("W", first.getVar("W"))

	table = first.getVarTable()
	assert table == {first.getVar("W"): ["W"], first.getVar("b"): ["b"]}

	table = first.getVarTable(name="0.")
	tied.getVarTable(table, name="1.")
	assert table[first.getVar("W")] == ["0.W", "1.W"] and table[first.getVar("b")] == ["0.b"]


def test_module_attribute_follows_the_variable(backend):
	from PuzzleLib.Modules import Linear
	lin = Linear(2, 2)
	replacement = gpu(normal((2, 2), seed=8))
	lin.getVar("W").data = replacement          # as an optimizer re-binding parameters does
	assert lin.W is replacement


# --- init schemes --------------------------------------------------------------------------------

@pytest.mark.parametrize("scheme, std", [
	(None, np.sqrt(1 / 400)), ("xavier_uniform", np.sqrt(1 / 400)), ("xavier", np.sqrt(1 / 400)),
	("xavier_normal", np.sqrt(1 / 400)), ("he", np.sqrt(2 / 400)), ("gaussian", 0.3), ("uniform", 0.3 / np.sqrt(3)),
	(("xavier", "out"), np.sqrt(1 / 300)), (("he", "avg"), np.sqrt(2 / 350)),
])
def test_init_scheme_spread(backend, scheme, std):
	from PuzzleLib.Modules import Module
	np.random.seed(1)
	tensor = Module.createTensorWithScheme(scheme, (400, 300), 0.3)
	assert tensor.dtype == np.float32 and tensor.shape == (400, 300)
	assert abs(tensor.mean()) < 0.02 * std * 10 and abs(tensor.std() / std - 1) < 0.02

	uniform = scheme in (None, "xavier_uniform", "uniform")
	assert (np.abs(tensor).max() <= std * np.sqrt(3)) == uniform


def test_init_scheme_fans_of_a_convolution_weight(backend):
	from PuzzleLib.Modules import Module
	np.random.seed(2)
	# (out maps, in maps, 3, 3): fan in 16 * 9
	tensor = Module.createTensorWithScheme("he", (64, 16, 3, 3), 1.0, dtype=np.float64)
	assert tensor.dtype == np.float64 and abs(tensor.std() / np.sqrt(2 / 144) - 1) < 0.05


def test_init_scheme_is_reproducible_with_numpy_seed(backend):
	from PuzzleLib.Modules import Module
	np.random.seed(3)
	first = Module.createTensorWithScheme("xavier", (5, 5), 1.0)
	np.random.seed(3)
	assert np.array_equal(first, Module.createTensorWithScheme("xavier", (5, 5), 1.0))


def test_init_scheme_none_leaves_the_weight_uninitialised(backend):
	from PuzzleLib.Modules import InitScheme, Linear, Module
	assert Module.createTensorWithScheme("none", (3, 3), 1.0) is None
	assert Linear(3, 2, initscheme=InitScheme.none).W.shape == (3, 2)


@pytest.mark.parametrize("scheme, message", [
	("glorot", "unknown init scheme 'glorot'; valid ones are: none, xavier"),
	(("xavier", "sideways"), "unknown factor type 'sideways'"),
	(("xavier", "in", 1), "an init scheme pair is"),
])
def test_unknown_init_scheme(backend, scheme, message):
	from PuzzleLib.Modules import Linear, Module, ModuleError
	with pytest.raises(ModuleError, match=message):
		Module.createTensorWithScheme(scheme, (3, 3), 1.0)
	with pytest.raises(ModuleError, match="Linear.*" + message.split(";")[0]):
		Linear(3, 3, initscheme=scheme)


# --- parameters: zero, update, calcMode -----------------------------------------------------------

def test_zero_grad_params_skips_updater_variables(backend):
	from PuzzleLib.Modules import Module
	from PuzzleLib.Variable import Variable

	mod = Module()
	mod.setVar("W", Variable(gpu(normal((3, ), seed=9)), grad=gpu(normal((3, ), seed=10))))
	mod.setVar("s", Variable(gpu(normal((3, ), seed=11)), updater=lambda var, lr: None))
	mod.zeroGradParams()
	assert not mod.getVar("W").grad.get().any()


def test_update_params_ascends_and_calls_updaters(backend):
	from PuzzleLib.Modules import Module
	from PuzzleLib.Variable import Variable

	data, grad = normal((4, ), seed=12), normal((4, ), seed=13)
	seen = []
	mod = Module()
	mod.setVar("W", Variable(gpu(data), grad=gpu(grad)))
	mod.setVar("s", Variable(gpu(data), updater=lambda var, lr: seen.append(lr)))

	mod.updateParams(0.5)
	np.testing.assert_allclose(mod.W.get(), data.astype(np.float64) + 0.5 * grad, rtol=1e-6)
	assert seen == [0.5]


def test_calc_mode_converts_parameters_once(backend):
	from PuzzleLib.Modules import Linear
	first = Linear(3, 2)
	tied = Linear(2, 3, empty=True, transpose=True, useBias=False)
	tied.setVar("W", first.getVar("W"))
	before = first.W.get()

	first.calcMode(np.float64)
	tied.calcMode(np.float64)
	assert first.W.dtype == np.float64 and first.getVar("W").grad.dtype == np.float64 and first.b.dtype == np.float64
	assert tied.getVar("W") is first.getVar("W") and np.array_equal(first.W.get(), before.astype(np.float64))


def test_list_inputs_are_checked_item_by_item(backend):
	from PuzzleLib.Modules import Module, ModuleError

	from PuzzleLib.Backend import Blas

	class Add(Module):
		def updateData(self, data):
			self.data = Blas.addVectorToVector(data[0], data[1])

	mod = Add()
	a, b = gpu(normal((3, ), seed=14)), gpu(normal((3, ), seed=15))
	np.testing.assert_array_equal(mod([a, b]).get(), a.get() + b.get())

	with pytest.raises(ModuleError, match="expected dtype float32 .*got float64"):
		mod([a, gpu(normal((3, ), np.float64, seed=16))])
	with pytest.raises(ModuleError, match=r"data\[1\] must be a"):
		mod([a, np.zeros(3, np.float32)])
