"""Container and Sequential: naming, indexing, the inplace check, accumulating backward, one file."""

import numpy as np
import pytest

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Containers import Sequential, ContainerError
from PuzzleLib.Modules import Activation, Flatten, Linear, ModuleError


def mlp(sizes=(6, 5, 3), activation="tanh"):
	seq = Sequential()
	for index, (insize, outsize) in enumerate(zip(sizes[:-1], sizes[1:])):
		seq.append(Linear(insize, outsize))
		if index < len(sizes) - 2:
			seq.append(Activation(activation))
	return seq


def test_names_indexing_and_slicing(backend):
	seq = mlp()
	assert list(seq.modules) == ["0", "1", "2"]
	assert seq[0] is seq["0"] and seq[-1] is seq["2"]
	assert [m.name for m in seq[1:].modules.values()] == ["1", "2"]
	assert seq[1:]["2"] is seq["2"]                            # a slice shares the modules
	assert sorted(sum(seq.getVarTable().values(), [])) == ["0.W", "0.b", "2.W", "2.b"]
	assert seq.getVar("2.W") is seq[2].getVar("W")

	named = Linear(3, 3, name="head")
	seq.append(named)
	assert seq.getByName("head") is named and seq.getAllByType(Linear) == [seq[0], seq[2], named]

	with pytest.raises(ContainerError):
		seq["missing"]
	with pytest.raises(ContainerError):
		seq[17]


def test_duplicate_names_renamed_or_refused(backend):
	seq = Sequential()
	seq.append(Linear(2, 2, name="fc"))
	seq.append(Linear(2, 2, name="fc"))
	assert list(seq.modules) == ["fc", "fc_1"]

	with pytest.raises(ContainerError):
		seq.append(Linear(2, 2, name="fc"), acquire=False)
	assert len(seq) == 2


def test_inplace_after_a_module_that_needs_its_output_is_refused(backend, monkeypatch):
	seq = Sequential()
	seq.append(Activation("sigmoid"))
	seq.append(Flatten())                     # moves data only: the check looks through it
	with pytest.raises(ContainerError, match="inplace"):
		seq.append(Activation("relu", inplace=True))
	assert len(seq) == 2

	monkeypatch.setattr(Config, "disableModuleCompatChecks", True)
	seq.append(Activation("relu", inplace=True))
	assert len(seq) == 3

	ok = Sequential()
	ok.append(Linear(4, 4))
	ok.append(Activation("relu", inplace=True))       # Linear's backward does not read its output


def test_insert_pop_extend(backend):
	seq = mlp()
	extra = Activation("relu", name="extra")
	seq.insertAfter(extra, "0")
	assert list(seq.modules) == ["0", "extra", "1", "2"]
	assert seq.pop() is not None and list(seq.modules) == ["0", "extra", "1"]
	seq.insert(Linear(5, 5, name="first"), 0)
	assert list(seq.modules)[0] == "first"

	other = mlp((5, 2))
	seq.extend(other)
	assert len(seq) == 5


def test_forward_backward_against_numpy(backend):
	np.random.seed(0)
	seq = mlp()
	x = np.random.randn(4, 6).astype(np.float32)
	g = np.random.randn(4, 3).astype(np.float32)

	out = seq(gpuarray.to_gpu(x)).get()
	W0, b0 = seq[0].getVar("W").data.get().astype(np.float64), seq[0].getVar("b").data.get()
	W2, b2 = seq[2].getVar("W").data.get().astype(np.float64), seq[2].getVar("b").data.get()
	h = np.tanh(x @ W0 + b0)
	assert np.allclose(out, h @ W2 + b2, rtol=1e-5, atol=1e-6)
	assert seq.dataShapeFrom((4, 6)) == (4, 3) and seq.gradShapeFrom((4, 3)) == (4, 6)

	seq.zeroGradParams()
	seq.backward(gpuarray.to_gpu(g))
	dh = (g @ W2.T) * (1 - h * h)
	assert np.allclose(seq.grad.get(), dh @ W0.T, rtol=1e-4, atol=1e-6)
	assert np.allclose(seq[0].getVar("W").grad.get(), x.T @ dh, rtol=1e-4, atol=1e-6)

	# momentum defaults to 1.0: a second backward accumulates
	seq.backward(gpuarray.to_gpu(g))
	assert np.allclose(seq[2].getVar("W").grad.get(), 2 * h.T @ g, rtol=1e-4, atol=1e-6)

	seq.backward(gpuarray.to_gpu(g), updGrad=False)
	assert seq.grad is None


def test_a_failing_module_is_named_by_index(backend):
	seq = mlp()
	with pytest.raises(ModuleError, match="module 0"):
		seq(gpuarray.to_gpu(np.zeros((2, 7), dtype=np.float32)))


def tiedAutoencoder():
	seq = Sequential()
	seq.append(Linear(6, 4))
	seq.append(Activation("tanh"))
	decoder = Linear(4, 6, empty=True, transpose=True)
	decoder.setVar("W", seq[0].getVar("W"))
	decoder.setVar("b", seq[0].getVar("b").__class__(gpuarray.zeros((6, ), dtype=np.float32)))
	seq.append(decoder)
	return seq


def test_save_load_whole_tree_with_tied_weights(backend, tmp_path):
	import h5py

	np.random.seed(1)
	seq = tiedAutoencoder()
	path = str(tmp_path / "net.hdf")
	seq.save(path)

	with h5py.File(path, "r") as f:
		assert len(f["params"]) == 3                                  # W once, two biases
		assert f["links"][".0.W"][()] == f["links"][".2.W"][()]        # an unnamed root: links start with a dot

	before = {name: var.data.get() for var, names in seq.getVarTable().items() for name in names}
	np.random.seed(2)
	other = tiedAutoencoder()
	other.load(path)
	for var, names in other.getVarTable().items():
		for name in names:
			assert np.array_equal(var.data.get(), before[name])
	assert other[0].getVar("W") is other[2].getVar("W")


def test_load_of_another_network_changes_nothing(backend):
	np.random.seed(3)
	blob = mlp((6, 5, 3)).save()
	target = mlp((6, 7, 3))
	before = [var.data.get() for var in target.getVarTable()]

	with pytest.raises(ModuleError, match="shape|is"):
		target.load(blob)
	assert all(np.array_equal(var.data.get(), value) for var, value in zip(target.getVarTable(), before))


def test_modes_and_param_counts_reach_children(backend):
	seq = tiedAutoencoder()
	seq.evalMode()
	assert not any(m.train for m in seq.modules.values())
	seq.trainMode()
	assert all(m.train for m in seq.modules.values())
	assert seq.numOfParams() == 6 * 4 + 4 + 6                      # the tied W counted once
