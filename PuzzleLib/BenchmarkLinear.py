"""Linear's forward and backward through the module API, next to the bare matrix products.

Part of `python -m PuzzleLib.Benchmark`. One training step of Linear(insize, outsize) on a
(batch, insize) batch: the forward x W + b, the backward's input grad g W^T and its parameter
grads x^T g and the column sums of g. The reference is the same three products alone, with
preallocated outputs: numpy's matmul on the CPU backend, PyTorch's on CUDA. On the CPU, a weight
gradient added into its grad (beta = 1, as Sequential's backward accumulates) next to what a
product without beta takes: numpy's matmul into a buffer, then an add. Then the warm per-call time
of a small Linear.
"""

import numpy as np

from PuzzleLib import Backend
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Modules.Linear import Linear


def step(lin, data, grad):
	lin(data)
	lin.backward(grad)


def referenceProducts(x, W, g):
	"""(label, thunk running the three products) on this backend's reference library."""
	if not Backend.isCuda:
		y, dx, dW = np.empty((x.shape[0], W.shape[1]), x.dtype), np.empty_like(x), np.empty_like(W)

		def products():
			np.matmul(x, W, out=y)
			np.matmul(g, W.T, out=dx)
			np.matmul(x.T, g, out=dW)

		return "numpy matmul", products

	try:
		import torch
	except ImportError:
		return None, None

	tx, tW, tg = (torch.as_tensor(a, device="cuda") for a in (x, W, g))
	y, dx, dW = torch.empty(x.shape[0], W.shape[1], device="cuda", dtype=tx.dtype), torch.empty_like(tx), torch.empty_like(tW)

	def products():
		torch.matmul(tx, tW, out=y)
		torch.matmul(tg, tW.T, out=dx)
		torch.matmul(tx.T, tg, out=dW)

	return "torch matmul", products


def referenceSync():
	if Backend.isCuda:
		import torch
		return torch.cuda.synchronize
	return gpuarray.synchronize


def run(timeit, batch=256, insize=1024, outsize=1024, dtype=np.float32, repeat=10, out=print):
	"""Seconds per step, ours and the reference's, and their ratio (reference / ours)."""
	rng = np.random.default_rng(0)
	x = rng.standard_normal((batch, insize), dtype=np.float32).astype(dtype)
	g = rng.standard_normal((batch, outsize), dtype=np.float32).astype(dtype)

	lin = Linear(insize, outsize)
	lin.calcMode(dtype)
	data, grad = gpuarray.to_gpu(x), gpuarray.to_gpu(g)

	ours = timeit(lambda: step(lin, data, grad), repeat)
	label, products = referenceProducts(x, lin.W.get(), g)

	flops = 3 * 2 * batch * insize * outsize
	line = "Linear %d x %d, batch %d, %s, forward + backward: %.2f ms (%.1f GFLOP/s)" % (
		insize, outsize, batch, np.dtype(dtype), ours * 1e3, flops / ours / 1e9
	)

	ratio = None
	if products is not None:
		theirs = timeit(products, repeat, referenceSync())
		ratio = theirs / ours
		line += "; %s of the three products: %.2f ms; ratio %.2f" % (label, theirs * 1e3, ratio)

	out(line)
	return ours, ratio


def accumulation(repeat, batch=256, insize=1024, outsize=1024, out=print):
	"""CPU only: (best seconds of Blas's x^T g + dW, of numpy's matmul into a buffer and an add,
	their ratio, the second's over the first's), run in turns; None on CUDA."""
	if Backend.isCuda:
		return None

	from PuzzleLib.Backend import Blas
	from PuzzleLib.Benchmark import alternating

	rng = np.random.default_rng(2)
	x = rng.standard_normal((batch, insize), dtype=np.float32)
	g = rng.standard_normal((batch, outsize), dtype=np.float32)
	data, grad, dW = gpuarray.to_gpu(x), gpuarray.to_gpu(g), gpuarray.zeros((insize, outsize), dtype=np.float32)
	hostGrad, product = np.zeros((insize, outsize), np.float32), np.empty((insize, outsize), np.float32)

	def ours():
		Blas.mulMatrixOnMatrix(data, grad, out=dW, transpA=True, beta=1.0)

	def matmulAndAdd():
		np.matmul(x.T, g, out=product)
		np.add(hostGrad, product, out=hostGrad)

	best, reference = alternating(ours, matmulAndAdd, repeat)
	out("x^T g added into a (%d, %d) grad, batch %d, float32: %.2f ms; numpy matmul and an add: %.2f ms; ratio %.2f" % (
		insize, outsize, batch, best * 1e3, reference * 1e3, reference / best
	))
	return best, reference, reference / best


def perCall(size=32, calls=200, repeat=50, out=print):
	"""Warm microseconds per forward call, and per forward + backward, of Linear(size, size), next
	to an Activation's forward on the same data (the leanest module call) in the same run: the best
	of repeat runs of `calls` calls in a plain loop, each output dropped before the next call."""
	from PuzzleLib.Benchmark import bestPerCall         # Benchmark runs this module's parts
	from PuzzleLib.Modules.Activation import Activation

	rng = np.random.default_rng(1)
	lin, act = Linear(size, size), Activation("relu")
	data = gpuarray.to_gpu(rng.standard_normal((size, size), dtype=np.float32))
	grad = gpuarray.to_gpu(rng.standard_normal((size, size), dtype=np.float32))

	forward = bestPerCall(lambda: lin(data), calls, repeat) / 1e6
	both = bestPerCall(lambda: step(lin, data, grad), calls, repeat) / 1e6
	activation = bestPerCall(lambda: act(data), calls, repeat) / 1e6

	out("per-call time on (%d, %d) float32: Linear forward %.1f us (%.2f x relu's %.1f us), forward + backward %.1f us" % (
		size, size, forward * 1e6, forward / activation, activation * 1e6, both * 1e6
	))
	return forward, both, activation
