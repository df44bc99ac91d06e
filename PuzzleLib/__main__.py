"""python -m PuzzleLib: the documentation page's example on the chosen backend, an MLP trained on
scikit-learn's bundled 8x8 digits (progress per epoch, then the test accuracy), and the time each
activation's forward and backward pass takes on a large tensor."""

import argparse, time

import numpy as np

from PuzzleLib import Backend
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Benchmark import moduleTimes, positiveInt, testData
from PuzzleLib.Kernels.Activations import ACTIVATIONS
from PuzzleLib.Modules import Activation


def pageExample():
	np.random.seed(123)
	data = gpuarray.to_gpu(np.random.randint(-10, 10, (3, 3)).astype(np.float32))
	print("input:")
	print(data)

	act = Activation("sigmoid")
	print("sigmoid:")
	print(act(data))

	act = Activation("relu")
	print("relu:")
	print(act(data))


def loadDigits():
	try:
		from sklearn.datasets import load_digits
	except ImportError:
		raise SystemExit("the training example needs scikit-learn: pip install '.[main]'") from None

	digits = load_digits()
	data, labels = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int32)
	perm = np.random.RandomState(0).permutation(labels.size)
	data, labels = data[perm], labels[perm]

	return (data[:1200], labels[:1200]), (data[1200:1500], labels[1200:1500]), (data[1500:], labels[1500:])


def trainDigits(epochs):
	from PuzzleLib.Containers import Sequential
	from PuzzleLib.Cost import CrossEntropy
	from PuzzleLib.Handlers import Trainer, Validator
	from PuzzleLib.Modules import Linear
	from PuzzleLib.Optimizers import MomentumSGD

	train, val, test = loadDigits()
	print("MLP 64-128-128-10 on the 8x8 digits: %d train, %d validation, %d test samples" % (
		len(train[1]), len(val[1]), len(test[1])
	))

	np.random.seed(1234)
	net = Sequential()
	net.append(Linear(64, 128))
	net.append(Activation("relu"))
	net.append(Linear(128, 128))
	net.append(Activation("relu"))
	net.append(Linear(128, 10))

	cost = CrossEntropy(maxlabels=10)
	optimizer = MomentumSGD(learnRate=0.05, momRate=0.9)
	optimizer.setupOn(net, useGlobalState=True)
	trainer, validator = Trainer(net, cost, optimizer, batchsize=32), Validator(net, cost, batchsize=256)

	start = time.perf_counter()
	for epoch in range(epochs):
		trainer.trainFromHost(*train)
		error = validator.validateFromHost(*val)
		print("  epoch %2d: loss %.4f, validation accuracy %6.2f%%, %.2f s" % (
			epoch + 1, cost.getMeanError(), 100 * (1 - error), time.perf_counter() - start
		))

	error = validator.validateFromHost(*test)
	print("test accuracy: %.2f%%" % (100 * (1 - error)))


def main():
	parser = argparse.ArgumentParser(prog="python -m PuzzleLib", description=__doc__)
	parser.add_argument("--size", type=positiveInt, default=1 << 22, help="elements of the timed tensor (default 2^22)")
	parser.add_argument("--repeat", type=positiveInt, default=5)
	parser.add_argument("--epochs", type=positiveInt, default=20, help="epochs of the digits MLP (default 20)")
	args = parser.parse_args()

	print("backend: %s on %s" % (Backend.current.name, gpuarray.getDeviceName()))
	print()
	pageExample()

	print()
	trainDigits(args.epochs)

	print()
	print("timing on %d float32 elements (median of %d):" % (args.size, args.repeat))
	data, grad = testData(args.size, np.float32)

	for name in ACTIVATIONS:
		forward, backward = moduleTimes(name, data, grad, args.repeat)
		print("  %-10s forward %8.3f ms   backward %8.3f ms" % (name, forward * 1e3, backward * 1e3))


if __name__ == "__main__":
	main()
