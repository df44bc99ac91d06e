"""The same MLP, initial weights and batches learn step by step as in PyTorch (CPU torch, float32).

Sign convention: a cost here returns the NEGATIVE loss gradient and the optimizers add, so the
two libraries' steps coincide only if that is kept throughout.

relu's kink makes the gradient discontinuous: a pre-activation within rounding distance of zero
can fall on either side in two correct implementations, and Adam, which normalizes every step,
carries such a flip on. The batches are fixed (seeded) so that no run meets one, with either
backend's summation order (numpy's BLAS; the emulated cuBLAS' plain loops); a new seed may.
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torch.set_num_threads(1)        # these products are tiny: threads only contend

from PuzzleLib.Backend import gpuarray
from PuzzleLib.Containers import Sequential
from PuzzleLib.Cost import CrossEntropy, MSE
from PuzzleLib.Modules import Activation, Linear
from PuzzleLib.Optimizers import SGD, MomentumSGD, Adam


SIZES = (64, 128, 128, 10)
STEPS, BATCH = 200, 32


def buildPair(activation, seed):
	np.random.seed(seed)
	net = Sequential()
	layers = []

	for index, (insize, outsize) in enumerate(zip(SIZES[:-1], SIZES[1:])):
		net.append(Linear(insize, outsize))
		layer = torch.nn.Linear(insize, outsize)
		with torch.no_grad():
			layer.weight.copy_(torch.from_numpy(net[-1].getVar("W").data.get().T.copy()))
			b = np.random.uniform(-0.1, 0.1, outsize).astype(np.float32)     # non-zero biases test them too
			net[-1].getVar("b").data.set(b)
			layer.bias.copy_(torch.from_numpy(b))
		layers.append(layer)

		if index < len(SIZES) - 2:
			net.append(Activation(activation))
			layers.append(torch.nn.ReLU() if activation == "relu" else torch.nn.Tanh())

	return net, torch.nn.Sequential(*layers)


OPTIMIZERS = {
	"SGD": (lambda: SGD(learnRate=0.05), lambda params: torch.optim.SGD(params, lr=0.05)),
	"MomentumSGD": (
		lambda: MomentumSGD(learnRate=0.02, momRate=0.9), lambda params: torch.optim.SGD(params, lr=0.02, momentum=0.9)
	),
	# The original's Adam adds epsilon after folding the bias corrections into the step, PyTorch
	# before: the effective epsilons differ by sqrt(1 - beta2^t). Where a relu leaves grads near
	# zero that difference is all there is, so the comparison takes an epsilon too small to matter.
	"Adam": (lambda: Adam(alpha=1e-3, epsilon=1e-12), lambda params: torch.optim.Adam(params, lr=1e-3, eps=1e-12)),
}


def batches(cost, seed):
	rng = np.random.default_rng(seed)
	teacher = rng.standard_normal((SIZES[0], SIZES[-1]))

	for _ in range(STEPS):
		x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
		if cost == "CrossEntropy":
			y = (x @ teacher).argmax(axis=1).astype(np.int32)      # a learnable rule, so losses fall
		else:
			y = np.tanh(x @ teacher / 8).astype(np.float32)
		yield x, y


def relative(a, b):
	return np.abs(a - b).max() / max(np.abs(b).max(), 1e-12)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
@pytest.mark.parametrize("costName", ["CrossEntropy", "MSE"])
@pytest.mark.parametrize("optName", list(OPTIMIZERS))
@pytest.mark.parametrize("useGlobalState", [False, True])
def test_mlp_learns_as_in_pytorch(backend, activation, costName, optName, useGlobalState):
	torch.manual_seed(0)
	net, tnet = buildPair(activation, seed=3)
	makeOpt, makeTorchOpt = OPTIMIZERS[optName]

	optimizer = makeOpt()
	optimizer.setupOn(net, useGlobalState=useGlobalState)
	topt = makeTorchOpt(tnet.parameters())

	cost = CrossEntropy() if costName == "CrossEntropy" else MSE()
	losses, tlosses = [], []

	for x, y in batches(costName, seed=12):
		net.trainMode()
		error, grad = cost(net(gpuarray.to_gpu(x)), gpuarray.to_gpu(y))
		optimizer.zeroGradParams()
		net.backward(grad, updGrad=False)
		optimizer.update()
		losses.append(error)

		topt.zero_grad()
		out = tnet(torch.from_numpy(x))
		if costName == "CrossEntropy":
			loss = torch.nn.functional.cross_entropy(out, torch.from_numpy(y).long())
		else:
			loss = 0.5 * torch.nn.functional.mse_loss(out, torch.from_numpy(y))
		loss.backward()
		topt.step()
		tlosses.append(loss.item())

	losses, tlosses = np.array(losses), np.array(tlosses)
	stepError = np.abs(losses - tlosses) / np.abs(tlosses)
	assert stepError.max() <= 1e-4, "step %d: %r vs torch %r" % (stepError.argmax(), losses[stepError.argmax()], tlosses[stepError.argmax()])
	assert tlosses[-20:].mean() < 0.8 * tlosses[:20].mean(), "the oracle itself did not learn: a vacuous comparison"

	tlinears = [layer for layer in tnet if isinstance(layer, torch.nn.Linear)]
	for mod, layer in zip([m for m in net.modules.values() if isinstance(m, Linear)], tlinears):
		assert relative(mod.getVar("W").data.get(), layer.weight.detach().numpy().T) <= 1e-3
		assert relative(mod.getVar("b").data.get(), layer.bias.detach().numpy()) <= 1e-3
