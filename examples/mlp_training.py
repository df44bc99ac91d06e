"""An MLP trained in the style of the original's TestLib scripts: runs unchanged on PuzzleLib.

    python examples/mlp_training.py [--epochs N] [--workdir DIR] [--seed S]

A Sequential of Linear / Activation(relu, inplace=True) / Dropout / Linear, then a decoder Linear
tied (transposed) to the first layer's weights through setVar, trained with MomentumSGD on the
global state, validated, saved, reloaded, and resumed from the saved optimizer state. The data is
scikit-learn's bundled 8x8 digits (no download).
"""

import argparse, os, tempfile

import numpy as np

from PuzzleLib import Config
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Containers import Sequential
from PuzzleLib.Cost import CrossEntropy
from PuzzleLib.Handlers import Trainer, Validator
from PuzzleLib.Modules import Activation, Dropout, Linear
from PuzzleLib.Optimizers import MomentumSGD
from PuzzleLib.Variable import Variable


def loadDigits():
	from sklearn.datasets import load_digits

	digits = load_digits()
	data = (digits.data / 16.0).astype(np.float32)
	labels = digits.target.astype(np.int32)

	perm = np.random.RandomState(0).permutation(labels.size)
	data, labels = data[perm], labels[perm]
	return (data[:1500], labels[:1500]), (data[1500:], labels[1500:])


def buildNet(name="mlp"):
	seq = Sequential(name=name)

	seq.append(Linear(64, 128, initscheme="he"))
	seq.append(Activation("relu", inplace=True))
	seq.append(Dropout(p=0.1))
	seq.append(Linear(128, 128))
	seq.append(Activation("relu", inplace=True))

	# a layer tied to the first one: its W is the very variable of layer 0, used transposed
	tied = Linear(128, 64, empty=True, transpose=True)
	tied.setVar("W", seq[0].getVar("W"))
	tied.setVar("b", Variable(gpuarray.zeros((64, ), dtype=np.float32)))
	seq.append(tied)
	seq.append(Activation("relu", inplace=True))

	seq.append(Linear(64, 10))
	return seq


def main():
	parser = argparse.ArgumentParser()
	parser.add_argument("--epochs", type=int, default=10)
	parser.add_argument("--workdir", default=None)
	parser.add_argument("--seed", type=int, default=1234)
	args = parser.parse_args()

	workdir = args.workdir or tempfile.mkdtemp()
	np.random.seed(args.seed)            # the initial weights
	gpuarray.globalRng.seed = args.seed  # the dropout masks
	Config.showWarnings = False

	(trainData, trainLabels), (valData, valLabels) = loadDigits()
	net = buildNet()

	optimizer = MomentumSGD(learnRate=0.05, momRate=0.9)
	optimizer.setupOn(net, useGlobalState=True)

	cost = CrossEntropy(maxlabels=10)
	trainer = Trainer(net, cost, optimizer, batchsize=32)
	validator = Validator(net, cost, batchsize=256)

	def onMacroBatchFinish(train):
		print("    macro-batch %d/%d: mean loss %.4f" % (train.currMacroBatch + 1, train.totalMacroBatches, cost.getMeanError()))

	half = args.epochs // 2
	for epoch in range(half):
		trainer.trainFromHost(trainData, trainLabels, macroBatchSize=1000, onMacroBatchFinish=onMacroBatchFinish)
		error = validator.validateFromHost(valData, valLabels, macroBatchSize=1000)
		print("epoch %d: train loss %.4f, validation accuracy %.2f%%" % (epoch + 1, cost.getMeanError(), 100 * (1 - error)))

	netFile, optFile = os.path.join(workdir, "mlp.hdf"), os.path.join(workdir, "optimizer.hdf")
	net.save(netFile)
	optimizer.save(optFile)

	# resume: a fresh network and optimizer, loaded from the files, continue where training stopped
	net = buildNet()
	net.load(netFile)
	optimizer = MomentumSGD(learnRate=0.05, momRate=0.9)
	optimizer.setupOn(net, useGlobalState=True)
	optimizer.load(optFile)

	trainer = Trainer(net, cost, optimizer, batchsize=32)
	validator = Validator(net, cost, batchsize=256)

	resumed = validator.validate(gpuarray.to_gpu(valData), gpuarray.to_gpu(valLabels))
	print("resumed at step %d: validation accuracy %.2f%%" % (optimizer.t, 100 * (1 - resumed)))

	for epoch in range(half, args.epochs):
		trainer.train(gpuarray.to_gpu(trainData), gpuarray.to_gpu(trainLabels))
		error = validator.validateFromHost(valData, valLabels)
		print("epoch %d: train loss %.4f, validation accuracy %.2f%%" % (epoch + 1, cost.getMeanError(), 100 * (1 - error)))

	print("final validation accuracy: %.2f%%" % (100 * (1 - validator.error)))


if __name__ == "__main__":
	main()
