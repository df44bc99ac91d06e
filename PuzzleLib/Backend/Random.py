"""gpuarray.globalRng: a counter-based Philox4x32-10 generator, the same stream on every backend.

The generator is a 64-bit key (the seed) and a 64-bit counter. A draw of n numbers reserves
ceil(n / 4) blocks of the stream (see Kernels/Philox.py) and moves the counter past them, so draws
never overlap and a seed fixes every number drawn after it, on the CPU and on CUDA alike.
np.random.seed does not touch it.
"""

import secrets

import numpy as np

from PuzzleLib import Backend
from PuzzleLib.Kernels.Launch import KernelError, dtypesSupported
from PuzzleLib.Kernels.Table import TABLE

if Backend.isCuda:
	from PuzzleLib.Cuda.ElementWise import kernel, philoxWords
	from PuzzleLib.Cuda.GPUArray import GPUArray, isContiguous
else:
	from PuzzleLib.CPU.ElementWise import kernel, philoxWords
	from PuzzleLib.CPU.GPUArray import GPUArray, isContiguous


UINT64 = 1 << 64


class RngError(KernelError):
	pass


class PhiloxRng:
	"""fillInteger, fillUniform, fillNormal on device arrays; seed / setSeed; reserve for kernels.

	With no seed, a random one (secrets.randbits); read it back from .seed to repeat a run.
	"""

	def __init__(self, seed=None):
		self.setSeed(secrets.randbits(64) if seed is None else seed)

	def setSeed(self, seed):
		"""Restarts the stream at counter 0 under the key seed (an int, taken mod 2^64)."""
		if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
			raise RngError("the seed must be an int, got %r" % (seed, ))

		self.key, self.counter = int(seed) % UINT64, 0

	seed = property(lambda self: self.key, setSeed)

	def reserve(self, size):
		"""(key, counter) of a fresh draw of size numbers; the counter moves past it."""
		counter = self.counter
		self.counter = (counter + (int(size) + 3) // 4) % UINT64
		return self.key, counter

	def _check(self, data, what, dtypes):
		if not isinstance(data, GPUArray):
			raise RngError("%s takes a gpuarray.GPUArray, got %s" % (what, type(data).__name__))
		if not isContiguous(data):
			raise RngError("%s takes a C-contiguous array" % what)
		if np.dtype(data.dtype) not in dtypes:
			raise RngError("%s fills %s arrays, got %s" % (what, " or ".join(str(dtype) for dtype in dtypes), data.dtype))

	def fillInteger(self, data, stream=None):
		"""Fills a uint32 (or int32) array with the stream's raw 32-bit words."""
		self._check(data, "fillInteger", (np.dtype(np.uint32), np.dtype(np.int32)))
		if data.size > 0:
			philoxWords()(data, *_signed(self.reserve(data.size)))

	def fillUniform(self, data, minval=0.0, maxval=1.0, stream=None):
		"""Fills a float array with minval + (maxval - minval) u, u uniform on the 2^-24 grid of [0, 1)."""
		self._fill(TABLE["fillUniform"], data, "fillUniform", minval, maxval)

	def fillNormal(self, data, mean=0.0, sigma=1.0, stream=None):
		"""Fills a float array with mean + sigma z, z standard normal (Box-Muller)."""
		self._fill(TABLE["fillNormal"], data, "fillNormal", mean, sigma)

	def _fill(self, op, data, what, *params):
		self._check(data, what, [np.dtype(dtype) for dtype, _ in dtypesSupported()])
		fill = kernel(op, np.dtype(data.dtype))
		fill.checkArgs(params)                     # refused before the counter moves
		fill(data, *params, *self.reserve(data.size))


def _signed(stream):
	return tuple((value + (1 << 63)) % UINT64 - (1 << 63) for value in stream)


globalRng = PhiloxRng()
