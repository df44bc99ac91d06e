"""Optimizers: each rule against PyTorch's on raw tensors, the global state, hooks, files, refusals."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from PuzzleLib.Backend import gpuarray
from PuzzleLib.Containers import Sequential
from PuzzleLib.Modules import Activation, Linear
from PuzzleLib.Optimizers import SGD, Adam, MomentumSGD, NesterovSGD, OptimizerError, RMSProp, WeightDecay
from PuzzleLib.Variable import Variable


def oneVariable(value):
	mod = Linear(value.shape[0], value.shape[1], empty=True, useBias=False)
	mod.setVar("W", Variable(gpuarray.to_gpu(value)))
	return mod


RULES = {
	"SGD": (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1)),
	"MomentumSGD": (lambda: MomentumSGD(0.1, 0.8), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8)),
	"NesterovSGD": (lambda: NesterovSGD(0.1, 0.8), lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.8, nesterov=True)),
	# the original's RMSProp weights the old mean square by factor: PyTorch's alpha
	"RMSProp": (lambda: RMSProp(0.01, factor=0.9, epsilon=1e-6), lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6)),
	# the original's defaults: factor 0.9, epsilon 1e-5
	"RMSProp defaults": (lambda: RMSProp(0.01), lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-5)),
	"Adam": (lambda: Adam(0.01, epsilon=1e-12), lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-12)),
}


@pytest.mark.parametrize("rule", list(RULES))
@pytest.mark.parametrize("useGlobalState", [False, True])
def test_rule_matches_pytorch(backend, rule, useGlobalState):
	rng = np.random.default_rng(0)
	value = rng.standard_normal((7, 5)).astype(np.float32)
	mod = oneVariable(value.copy())
	optimizer = RULES[rule][0]()
	optimizer.setupOn(mod, useGlobalState=useGlobalState)

	tparam = torch.nn.Parameter(torch.from_numpy(value.copy()))
	topt = RULES[rule][1]([tparam])

	for _ in range(30):
		g = rng.standard_normal((7, 5)).astype(np.float32)
		mod.getVar("W").grad.set(-g)                       # our grads are the negative loss gradient
		optimizer.update()
		tparam.grad = torch.from_numpy(g)
		topt.step()

	ours, theirs = mod.getVar("W").data.get(), tparam.detach().numpy()
	assert np.abs(ours - theirs).max() <= 1e-5 * np.abs(theirs).max()
	assert optimizer.t == 30


def net():
	np.random.seed(4)
	seq = Sequential()
	seq.append(Linear(5, 4))
	seq.append(Activation("tanh"))
	tied = Linear(4, 5, empty=True, transpose=True)
	tied.setVar("W", seq[0].getVar("W"))
	tied.setVar("b", Variable(gpuarray.zeros((5, ), dtype=np.float32)))
	seq.append(tied)
	return seq


def test_global_state_keeps_tied_weights_one_variable(backend):
	seq = net()
	values = {names[0]: var.data.get() for var, names in seq.getVarTable().items()}

	optimizer = SGD(0.5)
	optimizer.setupOn(seq, useGlobalState=True)
	(pack, _), = optimizer.globalState.values()

	assert seq[0].getVar("W") is seq[2].getVar("W")
	for var, names in seq.getVarTable().items():
		assert np.array_equal(var.data.get(), values[names[0]])          # values copied in
		assert var.data.ptr >= pack.data.ptr                               # now views of the one buffer

	x = gpuarray.to_gpu(np.random.randn(3, 5).astype(np.float32))
	seq(x)
	optimizer.zeroGradParams()
	seq.backward(gpuarray.to_gpu(np.ones((3, 5), np.float32)))
	W = seq[0].getVar("W")
	expected = W.data.get() + 0.5 * W.grad.get()
	optimizer.update()
	assert np.allclose(W.data.get(), expected, rtol=1e-6)
	assert np.array_equal(seq[0].W.get(), W.data.get()) and np.array_equal(seq[2].W.get(), W.data.get())


def test_per_variable_multipliers_and_custom_updaters(backend):
	seq = net()
	frozen, custom = seq[0].getVar("b"), []
	frozen.learnRate = 0.0
	seq[2].setVar("b", Variable(gpuarray.zeros((5, ), dtype=np.float32), updater=lambda var, lr: custom.append(lr)))

	for useGlobalState in (False, True):
		optimizer = SGD(0.5)
		optimizer.setupOn(seq, useGlobalState=useGlobalState)
		before = frozen.data.get()
		frozen.grad.fill(1.0)
		optimizer.update()
		assert np.array_equal(frozen.data.get(), before)
	assert custom == [0.5, 0.5]


def test_weight_decay_hook(backend):
	value = np.full((2, 3), 2.0, dtype=np.float32)
	mod = oneVariable(value)
	optimizer = SGD(0.1)
	optimizer.setupOn(mod)
	optimizer.addHook(WeightDecay(0.5))
	mod.getVar("W").grad.fill(0)
	optimizer.update()
	assert np.allclose(mod.getVar("W").data.get(), 2.0 - 0.1 * 0.5 * 2.0)


def test_save_load_restores_state_and_refuses_another_network(backend, tmp_path):
	seq = net()
	optimizer = Adam(0.01)
	optimizer.setupOn(seq, useGlobalState=True)
	for _ in range(3):
		for var in seq.getVarTable():
			var.grad.fill(0.25)
		optimizer.update()

	path = str(tmp_path / "opt.hdf")
	optimizer.save(path)

	restored = Adam(0.01)
	restored.setupOn(net(), useGlobalState=True)
	restored.load(path)
	assert restored.t == 3 and restored.learnRate == optimizer.learnRate
	for key, ary in optimizer.stateTensors().items():
		assert np.array_equal(restored.stateTensors()[key].get(), ary.get())

	other = Sequential()
	other.append(Linear(5, 9))
	stranger = Adam(0.01)
	stranger.setupOn(other)
	with pytest.raises(OptimizerError, match="load"):
		stranger.load(path)
	assert stranger.t == 0 and all(not ary.get().any() for ary in stranger.stateTensors().values())

	momentum = MomentumSGD()
	momentum.setupOn(net(), useGlobalState=True)
	with pytest.raises(OptimizerError, match="momRate"):
		momentum.load(path)


def test_setup_on_a_module_without_parameters_is_refused(backend):
	with pytest.raises(OptimizerError, match="no parameters"):
		SGD().setupOn(Activation("relu"))
	with pytest.raises(OptimizerError, match="setupOn"):
		SGD().update()
