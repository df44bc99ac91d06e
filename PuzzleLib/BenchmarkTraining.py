"""Training through the public API next to PyTorch (CPU torch on the CPU backend, CUDA torch on CUDA).

Part of `python -m PuzzleLib.Benchmark` (`--only training`):
- one epoch of an MLP 784-1024-1024-10 (relu), batch 256, float32, MomentumSGD, on random data of
  MNIST's size (60000 samples; --samples to change), ours through Trainer.train on device data,
  PyTorch's as the usual zero_grad / forward / cross_entropy / backward / step loop;
- one optimizer update over 10^7 parameters (MomentumSGD and Adam on the global state), in GB/s
  counting the bytes of params, grads and state read and written, as a share of copy bandwidth;
- one epoch of the tiny MLP 64-128-128-10 at batch 32 on the digits' size (1500 samples), where
  per-call overhead dominates.
"""

import time

import numpy as np

from PuzzleLib import Backend, Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Containers import Sequential
from PuzzleLib.Cost import CrossEntropy
from PuzzleLib.Handlers import Trainer
from PuzzleLib.Modules import Activation, Linear
from PuzzleLib.Optimizers import Adam, MomentumSGD


def mlp(sizes):
	net = Sequential()
	for index, (insize, outsize) in enumerate(zip(sizes[:-1], sizes[1:])):
		net.append(Linear(insize, outsize))
		if index < len(sizes) - 2:
			net.append(Activation("relu"))
	return net


def torchMlp(torch, sizes, device):
	layers = []
	for index, (insize, outsize) in enumerate(zip(sizes[:-1], sizes[1:])):
		layers.append(torch.nn.Linear(insize, outsize))
		if index < len(sizes) - 2:
			layers.append(torch.nn.ReLU())
	return torch.nn.Sequential(*layers).to(device)


def epochTimes(sizes, samples, batchsize, repeat, timeit):
	"""(ours, PyTorch's or None) median seconds of one epoch."""
	rng = np.random.default_rng(0)
	data = rng.standard_normal((samples, sizes[0])).astype(np.float32)
	labels = rng.integers(0, sizes[-1], samples).astype(np.int32)

	np.random.seed(0)
	net = mlp(sizes)
	optimizer = MomentumSGD(learnRate=0.01, momRate=0.9)
	optimizer.setupOn(net, useGlobalState=True)
	trainer = Trainer(net, CrossEntropy(), optimizer, batchsize=batchsize)
	gdata, glabels = gpuarray.to_gpu(data), gpuarray.to_gpu(labels)

	ours = timeit(lambda: trainer.train(gdata, glabels, random=False), repeat)

	try:
		import torch
	except ImportError:
		return ours, None

	device = "cuda" if Backend.isCuda else "cpu"
	tnet = torchMlp(torch, sizes, device)
	topt = torch.optim.SGD(tnet.parameters(), lr=0.01, momentum=0.9)
	tdata, tlabels = torch.from_numpy(data).to(device), torch.from_numpy(labels).long().to(device)

	def torchEpoch():
		for start in range(0, samples, batchsize):
			topt.zero_grad()
			loss = torch.nn.functional.cross_entropy(tnet(tdata[start:start + batchsize]), tlabels[start:start + batchsize])
			loss.backward()
			topt.step()
		if Backend.isCuda:
			torch.cuda.synchronize()

	return ours, timeit(torchEpoch, repeat)


def updateBandwidth(size, repeat, timeit):
	"""{name: GB/s} of one update over size float32 parameters, and the copy's GB/s."""
	holder = Linear(size, 1, empty=True, useBias=False)
	from PuzzleLib.Variable import Variable
	holder.setVar("W", Variable(gpuarray.zeros((size, 1), dtype=np.float32)))

	results = {}
	for name, optimizer, arrays in (("MomentumSGD", MomentumSGD(), 5), ("Adam", Adam(), 7)):
		optimizer.setupOn(holder, useGlobalState=True)
		seconds = timeit(optimizer.update, repeat)
		results[name] = arrays * 4 * size / seconds / 1e9       # param r+w, grad r, each state r+w

	src, dst = gpuarray.zeros((size, ), dtype=np.float32), gpuarray.empty((size, ), dtype=np.float32)
	results["copy"] = 2 * 4 * size / timeit(lambda: gpuarray.copy(dst, src), repeat) / 1e9
	return results


def run(timeit, samples=60000, repeat=3, updateSize=10**7):
	Config.showWarnings = False
	reference = "PyTorch %s" % ("CUDA" if Backend.isCuda else "CPU")

	print("training step through the API (%s), median of %d, vs %s in the same run" % (
		Backend.current.name, repeat, reference
	))
	for label, sizes, count, batch in (
		("MLP 784-1024-1024-10, batch 256, %d samples" % samples, (784, 1024, 1024, 10), samples, 256),
		("MLP 64-128-128-10, batch 32, 1500 samples (digits)", (64, 128, 128, 10), 1500, 32),
	):
		ours, theirs = epochTimes(sizes, count, batch, repeat, timeit)
		if theirs is None:
			print("  %-52s epoch %8.3f s   (torch not installed)" % (label, ours))
		else:
			print("  %-52s epoch %8.3f s   torch %8.3f s   ours / torch %.2f" % (label, ours, theirs, ours / theirs))

	rates = updateBandwidth(updateSize, repeat, timeit)
	print("optimizer update over %d float32 parameters (copy %.1f GB/s):" % (updateSize, rates["copy"]))
	for name in ("MomentumSGD", "Adam"):
		print("  %-12s %6.1f GB/s   %.2f of copy" % (name, rates[name], rates[name] / rates["copy"]))
