"""Training pieces through the public API: SoftMax and Dropout next to copy bandwidth, and the
training step next to PyTorch (CPU torch on the CPU backend, CUDA torch on CUDA).

    python -m PuzzleLib.BenchmarkTraining [--size N] [--dtype float32 [float16 ...]] [--repeat R]

runs the modules' part: SoftMax (rows of 1024 and of 10) and Dropout (p = 0.5, the mask drawn in
the pass), forward and backward as a user calls them, in GB/s counting the bytes read and written,
as shares of copy's bandwidth (each pass run in turn with a copy of its data, the median of the
rounds' ratios); then the warm per-call time of Activation, SoftMax
and Dropout, forward and backward, on a 32 x 32 float32 tensor (best of 50 runs of 200 calls).

`python -m PuzzleLib.Benchmark --only training [--samples N]` runs the training part (run()):
- one epoch of an MLP 784-1024-1024-10 (relu), batch 256, float32, MomentumSGD, on random data of
  MNIST's size (60000 samples; --samples to change), ours through Trainer.train on device data,
  PyTorch's as the usual zero_grad / forward / cross_entropy / backward / step loop;
- one optimizer update over 10^7 parameters (SGD, MomentumSGD and Adam on the global state: one
  kernel over all parameters, on the thread team), in GB/s counting the bytes of params, grads and
  state read and written, as a share of copy bandwidth;
- one epoch of the tiny MLP 64-128-128-10 at batch 32 on the digits' size (1500 samples), where
  per-call overhead dominates.

`python -m PuzzleLib.Benchmark --only costs` runs costs(): one CrossEntropy call (loss and
gradient) at 256 x 10 and 4096 x 1000, next to PyTorch's cross_entropy forward and backward.

Each comparison alternates the two sides round by round (interleaved), and its ratio is the median
of the rounds' ratios: a load that comes and goes slows both sides of a round alike.
"""

import argparse, statistics, time

import numpy as np

from PuzzleLib import Backend, Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Benchmark import bestPerCall, positiveInt, testData
from PuzzleLib.Containers import Sequential
from PuzzleLib.Cost import CrossEntropy
from PuzzleLib.Handlers import Trainer
from PuzzleLib.Modules import Activation, Dropout, Linear, SoftMax
from PuzzleLib.Optimizers import SGD, Adam, MomentumSGD


def interleaved(first, second, repeat, syncFirst=gpuarray.synchronize, syncSecond=None):
	"""(median seconds of first(), of second(), median of the rounds' first / second): the two run
	in turn, after a warm-up of each, so that a load that comes and goes slows both alike."""
	syncSecond = syncFirst if syncSecond is None else syncSecond

	def seconds(fn, synchronize):
		start = time.perf_counter()
		fn()
		synchronize()
		return time.perf_counter() - start

	seconds(first, syncFirst), seconds(second, syncSecond)
	rounds = [(seconds(first, syncFirst), seconds(second, syncSecond)) for _ in range(repeat)]

	return (
		statistics.median(a for a, _ in rounds), statistics.median(b for _, b in rounds),
		statistics.median(a / b for a, b in rounds)
	)


def trainingModules(size, dtype, repeat, out=print):
	"""SoftMax and Dropout forward and backward in GB/s and as shares of copy's bandwidth: each pass
	run in turn with a copy of its data (interleaved), the share the median of the rounds' ratios,
	so that the machine's swings slow both sides alike."""
	dtype = np.dtype(dtype)
	data, grad = testData(size, dtype)
	itemsize = dtype.itemsize
	dest = gpuarray.empty(data.shape, dtype=dtype)

	out("%-18s %9s %7s %9s %7s" % ("module", "fwd GB/s", "/copy", "bwd GB/s", "/copy"))
	cases = [
		("SoftMax, C = 1024", SoftMax(), (size // 1024, 1024), 3),
		("SoftMax, C = 10", SoftMax(), (size // 10, 10), 3),
		("Dropout, p = 0.5", Dropout(0.5), (size, ), 2),
	]

	rows = []
	for label, module, shape, backwardArrays in cases:
		module.calcMode(dtype)
		count = int(np.prod(shape))
		x, g = data[:count].reshape(shape), grad[:count].reshape(shape)

		target = dest[:count].reshape(shape)
		copy = lambda: gpuarray.copy(target, x)

		# copy moves 2 arrays of count elements: a pass moving k arrays at copy's rate takes k / 2 its time
		forward, _, fwdShare = interleaved(lambda: module(x), copy, repeat)
		module(x)
		backward, _, bwdShare = interleaved(lambda: module.backward(g), copy, repeat)
		fwdShare, bwdShare = 1 / fwdShare, backwardArrays / 2 / bwdShare

		fwd, bwd = 2 * count * itemsize / forward, backwardArrays * count * itemsize / backward
		out("%-18s %9.1f %7.2f %9.1f %7.2f" % (label, fwd / 1e9, fwdShare, bwd / 1e9, bwdShare))
		rows.append((label, fwdShare, bwdShare))

	return rows


def hostOverhead(size=1024, calls=200, repeat=50, out=print):
	"""Warm microseconds per call on a 32 x (size / 32) float32 tensor, forward and backward, of
	Activation(sigmoid), SoftMax, Dropout (p = 0.5) and Linear (as wide out as in, its backward
	accumulating both parameter grads): what a call costs beyond its memory traffic.
	Each is the best of repeat runs of `calls` calls in a plain loop, every output dropped before
	the next call (as a user's loop drops it, so the pool hands the same buffer back)."""
	data, grad = testData(size, np.float32)
	data, grad = data.reshape(32, size // 32), grad.reshape(32, size // 32)

	out("per-call time, 32 x %d float32, best of %d runs of %d calls (us)" % (size // 32, repeat, calls))
	out("%-20s %9s %9s" % ("module", "forward", "backward"))

	results = {}
	width = size // 32
	modules = (
		("Activation(sigmoid)", Activation("sigmoid")), ("SoftMax", SoftMax()), ("Dropout", Dropout(0.5)),
		("Linear", Linear(width, width))
	)
	for label, module in modules:
		forward = bestPerCall(lambda: module(data), calls, repeat)
		module(data)
		backward = bestPerCall(lambda: module.backward(grad), calls, repeat)
		out("%-20s %9.2f %9.2f" % (label, forward, backward))
		results[label] = (forward, backward)

	return results


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
	"""(ours, PyTorch's or None, ours / PyTorch's or None): median seconds of one epoch, and the
	median ratio of epochs run in turn."""
	rng = np.random.default_rng(0)
	data = rng.standard_normal((samples, sizes[0])).astype(np.float32)
	labels = rng.integers(0, sizes[-1], samples).astype(np.int32)

	np.random.seed(0)
	net = mlp(sizes)
	optimizer = MomentumSGD(learnRate=0.01, momRate=0.9)
	optimizer.setupOn(net, useGlobalState=True)
	trainer = Trainer(net, CrossEntropy(), optimizer, batchsize=batchsize)
	gdata, glabels = gpuarray.to_gpu(data), gpuarray.to_gpu(labels)

	def ourEpoch():
		trainer.train(gdata, glabels, random=False)

	try:
		import torch
	except ImportError:
		torch = None
	if torch is None or (Backend.isCuda and not torch.cuda.is_available()):
		return timeit(ourEpoch, repeat), None, None

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

	return interleaved(ourEpoch, torchEpoch, repeat)


def costTimes(batch, classes, repeat, timeit):
	"""(ours, PyTorch's or None, median ratio of the rounds or None): median seconds of one
	CrossEntropy call (loss and gradient) on float32 scores (batch, classes), PyTorch's as
	cross_entropy forward and backward, run in turn."""
	rng = np.random.default_rng(0)
	scores = (rng.standard_normal((batch, classes)) * 3).astype(np.float32)
	labels = rng.integers(0, classes, batch).astype(np.int32)
	calls = max(1, (1 << 20) // scores.size)      # a few milliseconds a measurement

	cost, gscores, glabels = CrossEntropy(), gpuarray.to_gpu(scores), gpuarray.to_gpu(labels)

	def ourCalls():
		for _ in range(calls):
			cost(gscores, glabels)

	try:
		import torch
	except ImportError:
		torch = None
	if torch is None or (Backend.isCuda and not torch.cuda.is_available()):
		return timeit(ourCalls, repeat) / calls, None, None

	device = "cuda" if Backend.isCuda else "cpu"
	tscores = torch.from_numpy(scores).to(device).requires_grad_()
	tlabels = torch.from_numpy(labels).long().to(device)

	def torchCalls():
		for _ in range(calls):
			tscores.grad = None
			torch.nn.functional.cross_entropy(tscores, tlabels).backward()
		if Backend.isCuda:
			torch.cuda.synchronize()

	ours, theirs, ratio = interleaved(ourCalls, torchCalls, repeat)
	return ours / calls, theirs / calls, ratio


def costs(timeit, repeat):
	"""Prints CrossEntropy's per-call time at 256 x 10 and 4096 x 1000 next to PyTorch's."""
	reference = "PyTorch %s" % ("CUDA" if Backend.isCuda else "CPU")
	print("CrossEntropy per call, loss and gradient (float32), vs %s cross_entropy forward + backward, in turn:" % reference)
	for batch, classes in ((256, 10), (4096, 1000)):
		ours, theirs, ratio = costTimes(batch, classes, repeat, timeit)
		label = "%d x %d" % (batch, classes)
		if theirs is None:
			print("  %-12s %9.1f us   (torch not available)" % (label, ours * 1e6))
		else:
			print("  %-12s %9.1f us   torch %9.1f us   ours / torch %.2f" % (label, ours * 1e6, theirs * 1e6, ratio))


def updateBandwidth(size, repeat, timeit):
	"""{name: (GB/s, share of the copy's GB/s in rounds run in turn)} of one update over size float32
	parameters, and "copy": the copy's GB/s."""
	holder = Linear(size, 1, empty=True, useBias=False)
	from PuzzleLib.Variable import Variable
	holder.setVar("W", Variable(gpuarray.zeros((size, 1), dtype=np.float32)))

	src, dst = gpuarray.zeros((size, ), dtype=np.float32), gpuarray.empty((size, ), dtype=np.float32)
	copyBytes = 2 * 4 * size

	def copy():
		gpuarray.copy(dst, src)

	results, copies = {}, []
	for name, optimizer, arrays in (("SGD", SGD(), 3), ("MomentumSGD", MomentumSGD(), 5), ("Adam", Adam(), 7)):
		optimizer.setupOn(holder, useGlobalState=True)
		updateBytes = arrays * 4 * size        # param r+w, grad r, each state r+w
		seconds, copySeconds, ratio = interleaved(optimizer.update, copy, repeat)
		results[name] = (updateBytes / seconds / 1e9, updateBytes / copyBytes / ratio)
		copies.append(copySeconds)

	results["copy"] = copyBytes / statistics.median(copies) / 1e9
	return results


def run(timeit, samples=60000, repeat=3, updateSize=10**7, updateRepeat=21):
	Config.showWarnings = False
	reference = "PyTorch %s" % ("CUDA" if Backend.isCuda else "CPU")

	print("training step through the API (%s), median of %d, vs %s run in turn" % (
		Backend.current.name, repeat, reference
	))
	for label, sizes, count, batch in (
		("MLP 784-1024-1024-10, batch 256, %d samples" % samples, (784, 1024, 1024, 10), samples, 256),
		("MLP 64-128-128-10, batch 32, 1500 samples (digits)", (64, 128, 128, 10), 1500, 32),
	):
		ours, theirs, ratio = epochTimes(sizes, count, batch, repeat, timeit)
		if theirs is None:
			print("  %-52s epoch %8.3f s   (no PyTorch for this device)" % (label, ours))
		else:
			print("  %-52s epoch %8.3f s   torch %8.3f s   ours / torch %.2f" % (label, ours, theirs, ratio))

	rates = updateBandwidth(updateSize, updateRepeat, timeit)
	print("optimizer update over %d float32 parameters, median of %d, copy run in turn (%.1f GB/s):" % (
		updateSize, updateRepeat, rates["copy"]
	))
	for name in ("SGD", "MomentumSGD", "Adam"):
		print("  %-12s %6.1f GB/s   %.2f of copy" % (name, *rates[name]))


def main():
	parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
	parser.add_argument("--size", type=positiveInt, default=None, help="elements (default 2^22 on cpu, 2^26 on cuda)")
	parser.add_argument("--dtype", nargs="+", default=None, help="default float32 on cpu, float32 float16 on cuda")
	parser.add_argument("--repeat", type=positiveInt, default=10)
	args = parser.parse_args()

	size = args.size or (1 << 26 if Backend.isCuda else 1 << 22)
	for dtype in args.dtype or (["float32", "float16"] if Backend.isCuda else ["float32"]):
		trainingModules(size, dtype, args.repeat)
		print()

	hostOverhead()


if __name__ == "__main__":
	main()
