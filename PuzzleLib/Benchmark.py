"""Throughput of every activation, SoftMax and Dropout through the public module API, next to copy
bandwidth, and Linear's training step next to the bare matrix products (PuzzleLib/BenchmarkLinear.py).

    python -m PuzzleLib.Benchmark [--only activations|linear] [--size N] [--dtype float32 [float16 ...]] [--repeat R]

For each activation: forward act(data) and backward act.backward(grad) as a user calls them
(output allocation from the pool included), in GB/s counting the bytes read and written (forward
2N, backward 3N elements), as a ratio of the copy bandwidth measured in the same run, and as a
ratio of a plain reference implementation (naive numpy on the CPU backend, PyTorch's kernels on
CUDA when torch imports). Then SoftMax (rows of 1024 and of 10) and Dropout (p = 0.5, the mask
drawn in the pass) the same way, and the warm per-call host time of each module at small N.
"""

import argparse, statistics, time

import numpy as np

from PuzzleLib import Backend
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Kernels.Activations import ACTIVATIONS
from PuzzleLib.Modules.Activation import Activation
from PuzzleLib.Modules.Dropout import Dropout
from PuzzleLib.Modules.SoftMax import SoftMax


def positiveInt(text):
	"""argparse type: an integer >= 1 (a size or a repeat count)."""
	try:
		value = int(text)
	except ValueError:
		raise argparse.ArgumentTypeError("expected an integer >= 1, got %r" % text) from None

	if value < 1:
		raise argparse.ArgumentTypeError("expected an integer >= 1, got %r" % text)
	return value


def dtypeNames():
	return [np.dtype(dtype).name for dtype, _ in gpuarray.dtypesSupported()]


def timeit(fn, repeat, synchronize=gpuarray.synchronize):
	"""Median seconds of fn() over repeat runs, after one warm-up run."""
	fn()
	synchronize()
	times = []

	for _ in range(repeat):
		start = time.perf_counter()
		fn()
		synchronize()
		times.append(time.perf_counter() - start)

	return statistics.median(times)


def moduleTimes(name, data, grad, repeat):
	"""(forward, backward) median seconds of one Activation on data, grad."""
	act = Activation(name)
	act.calcMode(data.dtype)

	forward = timeit(lambda: act(data), repeat)
	act(data)
	backward = timeit(lambda: act.backward(grad), repeat)
	return forward, backward


def testData(size, dtype):
	rng = np.random.default_rng(0)
	host = (rng.standard_normal(size, dtype=np.float32) * 4).astype(dtype)
	return gpuarray.to_gpu(host), gpuarray.to_gpu(rng.standard_normal(size, dtype=np.float32).astype(dtype))


def _numpyBaselines():
	def sigmoid(x): return 1 / (1 + np.exp(-x))
	return {
		"sigmoid": (sigmoid, lambda g, y: g * y * (1 - y)),
		"tanh": (np.tanh, lambda g, y: g * (1 - y * y)),
		"relu": (lambda x: np.maximum(x, 0), lambda g, y: g * (y > 0)),
		"leakyRelu": (lambda x: np.where(x > 0, x, 0.01 * x), lambda g, y: g * np.where(y > 0, 1, 0.01)),
		"elu": (lambda x: np.where(x > 0, x, np.expm1(x)), lambda g, y: g * np.where(y > 0, 1, y + 1)),
		"softPlus": (lambda x: np.log1p(np.exp(x)), lambda g, y: g * (1 - np.exp(-y))),
		"clip": (lambda x: np.clip(x, 0, 6), lambda g, y: g * ((y > 0) & (y < 6))),
	}


def _torchBaselines():
	import torch
	aten = torch.ops.aten
	return {
		"sigmoid": (torch.sigmoid, lambda g, y: aten.sigmoid_backward(g, y)),
		"tanh": (torch.tanh, lambda g, y: aten.tanh_backward(g, y)),
		"relu": (torch.relu, lambda g, y: aten.threshold_backward(g, y, 0)),
		"leakyRelu": (
			lambda x: torch.nn.functional.leaky_relu(x, 0.01), lambda g, y: aten.leaky_relu_backward(g, y, 0.01, True)
		),
		"elu": (torch.nn.functional.elu, lambda g, y: aten.elu_backward(g, 1.0, 1.0, 1.0, True, y)),
		"softPlus": (torch.nn.functional.softplus, lambda g, x: aten.softplus_backward(g, x, 1.0, 20.0)),
		"clip": (lambda x: torch.clamp(x, 0, 6), lambda g, y: aten.hardtanh_backward(g, y, 0.0, 6.0)),
	}


def baselines(data, grad):
	"""(label, {name: (forward(), backward())} thunks over this run's data) for the backend."""
	if not Backend.isCuda:
		x, g = data.get(), grad.get()

		def quiet(function):     # the naive formulas overflow on purpose; their warnings are noise
			def run(*args):
				with np.errstate(all="ignore"):
					return function(*args)
			return run

		return "numpy", {
			name: (lambda f=quiet(f): f(x), lambda b=quiet(b), y=quiet(f)(x): b(g, y))
			for name, (f, b) in _numpyBaselines().items()
		}

	try:
		import torch
	except ImportError:
		return None, {}

	x = torch.as_tensor(data.get(), device="cuda")
	g = torch.as_tensor(grad.get(), device="cuda")
	return "torch", {
		name: (lambda f=f: f(x), lambda b=b, y=f(x): b(g, y)) for name, (f, b) in _torchBaselines().items()
	}


def baselineSync():
	if Backend.isCuda:
		try:
			import torch
			return torch.cuda.synchronize
		except ImportError:
			pass
	return gpuarray.synchronize


def run(size, dtype, repeat, out=print):
	dtype = np.dtype(dtype)
	data, grad = testData(size, dtype)
	itemsize = dtype.itemsize

	dest = gpuarray.empty(data.shape, dtype=dtype)
	copySeconds = timeit(lambda: gpuarray.copy(dest, data), repeat)
	copyBandwidth = 2 * size * itemsize / copySeconds

	label, reference = baselines(data, grad)
	sync = baselineSync()

	out("%s, N = %d %s (%.1f MiB per array), median of %d" % (
		gpuarray.getDeviceName(), size, dtype, size * itemsize / 2**20, repeat
	))
	out("copy: %.1f GB/s" % (copyBandwidth / 1e9))

	header = "%-10s %9s %7s %9s %7s" % ("activation", "fwd GB/s", "/copy", "bwd GB/s", "/copy")
	if label is not None:
		header += "  %s fwd, bwd (times faster)" % label
	out(header)

	rows = []
	for name in ACTIVATIONS:
		forward, backward = moduleTimes(name, data, grad, repeat)
		fwdBandwidth, bwdBandwidth = 2 * size * itemsize / forward, 3 * size * itemsize / backward

		line = "%-10s %9.1f %7.2f %9.1f %7.2f" % (
			name, fwdBandwidth / 1e9, fwdBandwidth / copyBandwidth, bwdBandwidth / 1e9, bwdBandwidth / copyBandwidth
		)

		if name in reference:
			refForward, refBackward = reference[name]
			line += "  %8.2fx %8.2fx" % (
				timeit(refForward, repeat, sync) / forward, timeit(refBackward, repeat, sync) / backward
			)

		out(line)
		rows.append((name, fwdBandwidth / copyBandwidth, bwdBandwidth / copyBandwidth))

	return rows


def trainingModules(size, dtype, repeat, out=print):
	"""SoftMax and Dropout forward and backward in GB/s and as ratios of copy, measured in one run."""
	dtype = np.dtype(dtype)
	data, grad = testData(size, dtype)
	itemsize = dtype.itemsize

	dest = gpuarray.empty(data.shape, dtype=dtype)
	copyBandwidth = 2 * size * itemsize / timeit(lambda: gpuarray.copy(dest, data), repeat)

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

		forward = timeit(lambda: module(x), repeat)
		module(x)
		backward = timeit(lambda: module.backward(g), repeat)

		fwd, bwd = 2 * count * itemsize / forward, backwardArrays * count * itemsize / backward
		out("%-18s %9.1f %7.2f %9.1f %7.2f" % (
			label, fwd / 1e9, fwd / copyBandwidth, bwd / 1e9, bwd / copyBandwidth
		))
		rows.append((label, fwd / copyBandwidth, bwd / copyBandwidth))

	return rows


def hostOverhead(size=1024, calls=2000, out=print):
	"""Warm microseconds per forward call at small N (32 x 32): what a call costs beyond the memory traffic."""
	data, _ = testData(size, np.float32)
	data = data.reshape(32, size // 32)

	results = {}
	for label, module in (("Activation(sigmoid)", Activation("sigmoid")), ("SoftMax", SoftMax()), ("Dropout", Dropout(0.5))):
		seconds = timeit(lambda: [module(data) for _ in range(calls)], 3) / calls
		out("per-call time, 32 x %d float32 forward, %s: %.1f us" % (size // 32, label, seconds * 1e6))
		results[label] = seconds

	return results


def main():
	parser = argparse.ArgumentParser(prog="python -m PuzzleLib.Benchmark", description=__doc__.split("\n\n")[0])
	parser.add_argument("--size", type=positiveInt, default=None, help="elements (default 2^24 on cpu, 2^26 on cuda)")
	parser.add_argument(
		"--dtype", nargs="+", choices=dtypeNames(), default=None, help="default float32 on cpu, float32 float16 on cuda"
	)
	parser.add_argument("--repeat", type=positiveInt, default=10)
	parser.add_argument("--only", choices=("activations", "linear", "training"), default=None, help="run one part (default all)")
	parser.add_argument("--samples", type=positiveInt, default=60000, help="samples of the training epoch (default 60000)")
	args = parser.parse_args()

	size = args.size or (1 << 26 if Backend.isCuda else 1 << 24)
	dtypes = args.dtype or (["float32", "float16"] if Backend.isCuda else ["float32"])

	if args.only in (None, "activations"):
		for dtype in dtypes:
			run(size, dtype, args.repeat)
			print()
			trainingModules(size, dtype, args.repeat)
			print()

		hostOverhead()

	if args.only in (None, "linear"):
		from PuzzleLib import BenchmarkLinear
		if args.only is None:
			print()
		for dtype in dtypes:
			BenchmarkLinear.run(timeit, dtype=np.dtype(dtype), repeat=args.repeat)
		BenchmarkLinear.perCall(timeit)

	if args.only in (None, "training"):
		from PuzzleLib import BenchmarkTraining
		if args.only is None:
			print()
		BenchmarkTraining.run(timeit, samples=args.samples, repeat=min(args.repeat, 3))


if __name__ == "__main__":
	main()
