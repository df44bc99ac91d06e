"""Throughput of SoftMax and Dropout through the public module API, next to copy bandwidth.

    python -m PuzzleLib.BenchmarkTraining [--size N] [--dtype float32 [float16 ...]] [--repeat R]

SoftMax (rows of 1024 and of 10) and Dropout (p = 0.5, the mask drawn in the pass): forward and
backward as a user calls them, in GB/s counting the bytes read and written, as ratios of the copy
measured in the same run; then the warm per-call time of Activation, SoftMax and Dropout on a
32 x 32 float32 tensor.
"""

import argparse

import numpy as np

from PuzzleLib import Backend
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Benchmark import positiveInt, testData, timeit
from PuzzleLib.Modules.Activation import Activation
from PuzzleLib.Modules.Dropout import Dropout
from PuzzleLib.Modules.SoftMax import SoftMax


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
