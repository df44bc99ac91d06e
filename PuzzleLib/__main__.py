"""python -m PuzzleLib: the documentation page's example on the chosen backend, then the time
each activation's forward and backward pass takes on a large tensor."""

import argparse

import numpy as np

from PuzzleLib import Backend
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Benchmark import moduleTimes, testData
from PuzzleLib.Kernels.Activations import ACTIVATIONS
from PuzzleLib.Modules import Activation


def pageExample():
	np.random.seed(123)
	data = gpuarray.to_gpu(np.random.randint(-10, 10, (3, 3)).astype(np.float32))
	print(data)

	act = Activation("sigmoid")
	print(act(data))

	act = Activation("relu")
	print(act(data))


def main():
	parser = argparse.ArgumentParser(description=__doc__)
	parser.add_argument("--size", type=int, default=1 << 22, help="elements of the timed tensor (default 2^22)")
	parser.add_argument("--repeat", type=int, default=5)
	args = parser.parse_args()

	print("backend: %s on %s" % (Backend.current.name, gpuarray.getDeviceName()))
	print()
	pageExample()

	print()
	print("timing on %d float32 elements (median of %d):" % (args.size, args.repeat))
	data, grad = testData(args.size, np.float32)

	for name in ACTIVATIONS:
		forward, backward = moduleTimes(name, data, grad, args.repeat)
		print("  %-10s forward %8.3f ms   backward %8.3f ms" % (name, forward * 1e3, backward * 1e3))


if __name__ == "__main__":
	main()
