"""The Philox4x32-10 generator: known answers, the stream's layout, globalRng's fills, and the same
stream from every kernel path (compiled C, numpy; CUDA on the emulator in test_cuda_fake)."""

import numpy as np
import pytest

from harness import assertSameBits


# {{{ an independent plain-Python Philox4x32-10 (Salmon et al., SC'11), written from the paper

def philoxPlain(counter, key):
	M0, M1, W0, W1, MASK = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85, 0xFFFFFFFF
	c0, c1, c2, c3 = counter
	k0, k1 = key
	for _ in range(10):
		p0, p1 = M0 * c0, M1 * c2
		c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & MASK, (p0 >> 32) ^ c3 ^ k1, p0 & MASK
		k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
	return [c0, c1, c2, c3]


def streamPlain(key, counter, n):
	"""Element e: word e % 4 of the block at counter + e // 4 (low, high 32 bits), key (low, high)."""
	words = []
	for e in range(n):
		block = (counter + e // 4) % (1 << 64)
		words.append(philoxPlain((block & 0xFFFFFFFF, block >> 32, 0, 0), (key & 0xFFFFFFFF, key >> 32))[e % 4])
	return np.array(words, dtype=np.uint32)

# }}}


KAT = [
	((0, 0, 0, 0), (0, 0), (0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8)),
	((0xffffffff, ) * 4, (0xffffffff, 0xffffffff), (0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd)),
	# Random123's third vector: pi's digits as counter and key
	((0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344), (0xa4093822, 0x299f31d0),
		(0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1)),
]


@pytest.mark.parametrize("counter, key, expected", KAT)
def test_known_answers(counter, key, expected):
	from PuzzleLib.Kernels import Philox
	assert philoxPlain(counter, key) == list(expected)
	got = Philox.block([[word] for word in counter], key)[:, 0]
	assert [int(word) for word in got] == list(expected)


def test_the_numpy_stream_is_the_plain_one():
	from PuzzleLib.Kernels import Philox
	for key, counter in ((0, 0), (12345, 7), ((1 << 64) - 1, (1 << 64) - 2)):   # the last wraps the counter
		assert np.array_equal(Philox.words(key, counter, np.arange(23)), streamPlain(key, counter, 23))


def test_fill_integer_is_the_stream(backend):
	from PuzzleLib.Backend import gpuarray
	rng = gpuarray.PhiloxRng(seed=0)
	out = gpuarray.empty((1001, ), dtype=np.uint32)
	rng.fillInteger(out)

	expected = streamPlain(0, 0, 1001)
	assert np.array_equal(out.get()[:4], np.array(KAT[0][2], dtype=np.uint32))
	assert np.array_equal(out.get(), expected)

	# the next draw starts after the 251 blocks the first reserved
	again = gpuarray.empty((6, ), dtype=np.int32)
	rng.fillInteger(again)
	assert np.array_equal(again.get().view(np.uint32), streamPlain(0, 251, 6))


def test_uniforms_are_the_top_24_bits(backend):
	from PuzzleLib.Backend import gpuarray
	seed = 0x0123456789ABCDEF
	out = gpuarray.empty((4099, ), dtype=np.float32)
	gpuarray.PhiloxRng(seed).fillUniform(out)

	expected = (streamPlain(seed, 0, 4099) >> 8).astype(np.float64) / 2.0 ** 24
	assert np.array_equal(out.get().astype(np.float64), expected)
	assert out.get().min() >= 0 and out.get().max() < 1


def test_uniform_range_and_dtypes(backend):
	from PuzzleLib.Backend import gpuarray
	for dtype in (np.float16, np.float64):
		out = gpuarray.empty((5000, ), dtype=dtype)
		gpuarray.PhiloxRng(3).fillUniform(out, minval=-2.0, maxval=6.0)
		values = out.get().astype(np.float64)
		assert values.min() >= -2 and values.max() <= 6 and abs(values.mean() - 2) < 0.2


def test_normals(backend):
	from PuzzleLib.Backend import gpuarray
	n = 1 << 20
	out = gpuarray.empty((n, ), dtype=np.float32)
	gpuarray.PhiloxRng(11).fillNormal(out, mean=1.5, sigma=2.0)
	values = out.get().astype(np.float64)

	assert np.isfinite(values).all()
	assert abs(values.mean() - 1.5) < 4 * 2.0 / np.sqrt(n)
	assert abs(values.std() - 2.0) < 0.01
	# about 4.55% of a normal lies beyond 2 sigma
	assert abs(np.mean(np.abs(values - 1.5) > 4.0) - 0.0455) < 0.002


def test_seed_is_the_generators_own(backend):
	from PuzzleLib.Backend import gpuarray

	def draw(rng):
		out = gpuarray.empty((64, ), dtype=np.uint32)
		rng.fillInteger(out)
		return out.get()

	rng = gpuarray.PhiloxRng(seed=42)
	np.random.seed(0)
	first = draw(rng)
	np.random.seed(0)
	assert not np.array_equal(draw(rng), first)      # numpy's seed does not rewind it

	rng.setSeed(42)
	assert np.array_equal(draw(rng), first)          # its own seed does
	rng.seed = 43
	assert not np.array_equal(draw(rng), first)
	assert isinstance(gpuarray.globalRng, gpuarray.PhiloxRng) and 0 <= gpuarray.globalRng.seed < 1 << 64


def test_refused_fills_leave_the_counter(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Backend.Random import RngError
	from PuzzleLib.Kernels.Launch import KernelError

	rng = gpuarray.PhiloxRng(1)
	for call in (
		lambda: rng.fillInteger(gpuarray.empty((8, ), dtype=np.float32)),
		lambda: rng.fillUniform(gpuarray.empty((8, ), dtype=np.int32)),
		lambda: rng.fillUniform(np.zeros(8, dtype=np.float32)),
		lambda: rng.fillNormal(gpuarray.empty((8, 2), dtype=np.float32)[:, 0]),
		lambda: rng.fillUniform(gpuarray.empty((8, ), dtype=np.float32), minval=float("nan")),
		lambda: rng.setSeed(1.5),
	):
		with pytest.raises(KernelError):
			call()
	assert issubclass(RngError, KernelError) and rng.counter == 0 and rng.seed == 1


def test_compiled_and_numpy_paths_draw_the_same_masks(backend):
	if backend != "cpu":
		pytest.skip("the CPU kernel paths are CPU-backend internals")

	from PuzzleLib.CPU import ElementWise
	from PuzzleLib.CPU.GPUArray import to_gpu
	from PuzzleLib.Kernels.Table import TABLE

	n = 70001          # above the threading threshold: the threads' shares end inside blocks too
	x = to_gpu(np.random.default_rng(0).standard_normal(n).astype(np.float32))
	# whole, stepped, and unit-step ranges whose ends cut a block of four (or lie inside one)
	slices = (None, slice(7, None, 3), slice(5, n - 5), slice(1, 3), slice(4, 8), slice(6, 7))
	results = {}
	for path in ("compiled", "numpy"):
		ker = ElementWise.kernel(TABLE["dropout"], np.dtype(np.float32), path=path)
		for slc in slices:
			out = to_gpu(np.zeros(n, dtype=np.float32))
			ker(out, x, 0.3, 1 / 0.7, (1 << 64) - 5, 99, slice=slc)
			results[path, str(slc)] = out.get()

	for slc in slices:
		assertSameBits(results["compiled", str(slc)], results["numpy", str(slc)], "compiled vs numpy, slice %s" % (slc, ))
		if slc is not None:
			inside = np.zeros(n, dtype=bool)
			inside[slc] = True
			assertSameBits(results["compiled", str(slc)][inside], results["compiled", "None"][inside], "slice %s" % (slc, ))
	results = [results["compiled", "None"]]
	u = (streamPlain((1 << 64) - 5, 99, 5003) >> 8) / 2.0 ** 24
	results = [results[0][:5003]]
	assert np.array_equal(results[0] != 0, u >= 0.3)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_streamed_outputs_are_the_stored_ones(backend, dtype):
	"""Outputs above the streaming threshold leave through a buffer and streaming stores: the same
	bits as the plain stores and as the numpy path, for every random entry, over whole, sliced and
	in-place calls (the threads' shares and the slices start at any alignment)."""
	if backend != "cpu":
		pytest.skip("the CPU kernel paths are CPU-backend internals")

	import ctypes
	from PuzzleLib.CPU import ElementWise
	from PuzzleLib.CPU.GPUArray import to_gpu
	from PuzzleLib.Kernels.Table import TABLE

	lib = ElementWise.library(ElementWise.requestedPath())
	if lib is None:
		pytest.skip("no compiled library")
	setStreamMin = lib.pz_set_stream_min
	setStreamMin.argtypes, setStreamMin.restype = [ctypes.c_int64], ctypes.c_int64

	n, dtype = 70001, np.dtype(dtype)
	x = np.random.default_rng(1).standard_normal(n).astype(dtype)
	calls = {
		"dropout": (lambda out, src: (out, src, 0.3, 1 / 0.7), True),
		"fillUniform": (lambda out, src: (out, -2.0, 3.0), False),
		"fillNormal": (lambda out, src: (out, 1.0, 2.0), False),
	}
	slices = (None, slice(5, n - 5), slice(64, n - 3), slice(3, 2000))

	def run(name, path, slc, inplace, streamMin):
		args, reads = calls[name]
		ker = ElementWise.kernel(TABLE[name], dtype, path=path)
		src = to_gpu(x)
		out = src if inplace else to_gpu(np.full(n, 7, dtype=dtype))
		old = setStreamMin(streamMin)
		try:
			ker(*args(out, src), (1 << 64) - 5, 99, slice=slc)
		finally:
			setStreamMin(old)
		return out.get()

	for name, (_, reads) in calls.items():
		for slc in slices:
			for inplace in ((False, True) if reads else (False, )):
				streamed = run(name, "compiled", slc, inplace, 0)
				stored = run(name, "compiled", slc, inplace, 1 << 62)
				message = "%s %s, slice %s, inplace %s" % (name, dtype, slc, inplace)
				assertSameBits(streamed, stored, message)
				if name == "dropout":      # the fills' numpy path rounds through another type
					assertSameBits(streamed, run(name, "numpy", slc, inplace, 0), message + ", numpy path")
