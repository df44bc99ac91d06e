"""Run by test_thread_counts.py in a fresh interpreter whose OMP_NUM_THREADS sets the thread team's size:

    python thread_child.py

Runs gpuarray.copy and every CPU kernel (forward and backward, whole and with a stepped slice)
over sizes at the edges of the threads' chunks, for every dtype. Each result is checked against
the same kernel run serially, piece by piece below the threading threshold (within a few ulp: an
element may fall in the vectorized body in one run and in the scalar tail in the other), and
bitwise against a second run into an output filled differently, so an element that no thread
writes shows. Prints one line per problem and "ok <threads>" when there is none.

Then the row kernels (softmax, its backward, argmax, addVecToMat) over (N, C, S) views whose rows
the threads share in chunks: each checked against a float64 numpy reference and for unwritten
elements as above; their results' digest, the last line ("rows <digest>"), must be the same for
every thread count (a row is computed by one thread, in one order, however many there are).
"""

import hashlib, sys

import numpy as np

from PuzzleLib.Backend import gpuarray
from PuzzleLib.Backend.Dnn import softmaxNd, softmaxNdBackward
from PuzzleLib.Backend.Kernels import ElementWise
from PuzzleLib.Backend.Kernels.MatVec import addVecToMat, argmax
from PuzzleLib.CPU import Source
from PuzzleLib.Kernels.Activations import ACTIVATIONS


ARGS = {"leakyRelu": (0.2, ), "elu": (0.5, ), "clip": (-1.5, 2.25)}
SERIAL_PIECE = Source.PARALLEL_MIN - 1          # a kernel this short runs in one thread
ULP = 8

INT = {2: np.int16, 4: np.int32, 8: np.int64}


def nearlyEqual(got, expected):
	"""NaN where expected has NaN, elsewhere within ULP units in the last place."""
	differ = got.view(INT[got.itemsize]) != expected.view(INT[got.itemsize])
	got, expected = got[differ], expected[differ]       # most elements are the same bits

	nan = np.isnan(expected)
	if not np.array_equal(np.isnan(got), nan):
		return False

	def ordered(ary):          # floats as integers that count ulps, -0 and +0 alike
		ints = ary[~nan].view(INT[ary.itemsize]).astype(np.int64)
		return np.where(ints < 0, -(ints & np.iinfo(INT[ary.itemsize]).max), ints)

	a, b = ordered(got), ordered(expected)
	return bool(np.all((a <= b + ULP) & (b <= a + ULP)))
COPY_MIN_BYTES = Source.PARALLEL_MIN * 4        # copy_bytes' threading threshold


def copySizes(threads, itemsize):
	"""Element counts around copy's threading threshold and its threads' chunk edges: copy splits
	the bytes into a share per thread, rounded up to a multiple of 64."""
	edge = COPY_MIN_BYTES // itemsize
	sizes = {edge - 1, edge, edge + 1}

	block = 64 * threads
	for multiple in (-(-COPY_MIN_BYTES // block), -(-COPY_MIN_BYTES // block) + 1):
		sizes.update(multiple * block // itemsize + d for d in (-1, 0, 1))
	return sorted(sizes)


def kernelSizes(threads):
	"""Element counts at the kernels' threading threshold and where the threads' equal shares end
	with a remainder; the last is long enough for a threaded stepped slice."""
	share = -(-Source.PARALLEL_MIN // threads)
	return [Source.PARALLEL_MIN, share * threads + 1, 2 * Source.PARALLEL_MIN + (threads + 1) * threads // 2]


def serially(kernel, out, operands, args):
	for start in range(0, out.size, SERIAL_PIECE):
		piece = slice(start, start + SERIAL_PIECE)
		kernel(out[piece], *(operand[piece] for operand in operands), *args)


def filled(shape, dtype, value):
	return gpuarray.to_gpu(np.full(shape, value, dtype=dtype))


def inputs(rng, size, dtype):
	x = (rng.standard_normal(size) * 4).astype(dtype)
	x[-3:] = (np.nan, np.inf, -np.inf)
	return x, rng.standard_normal(size).astype(dtype)


def checkCopy(threads, dtype, rng):
	problems = []
	for size in copySizes(threads, np.dtype(dtype).itemsize):
		x, _ = inputs(rng, size, dtype)
		source = gpuarray.to_gpu(x)

		for fill in (0, 7):
			dest = filled(size, dtype, fill)
			gpuarray.copy(dest, source)
			differ = np.count_nonzero(dest.get().view(np.uint8) != x.view(np.uint8))
			if differ:
				problems.append("copy %s n=%d fill %d: %d bytes differ" % (np.dtype(dtype).name, size, fill, differ))

	return problems


def checkKernels(threads, dtype, rng):
	problems = []
	for size in kernelSizes(threads):
		x, dy = inputs(rng, size, dtype)
		source = gpuarray.to_gpu(x)
		what = "%s n=%d" % (np.dtype(dtype).name, size)

		for name in ACTIVATIONS:
			args = ARGS.get(name, ())
			y = gpuarray.empty(size, dtype)
			serially(getattr(ElementWise, name + "Ker")(dtype), y, (source, ), args)

			for direction, operands in (("Ker", (source, )), ("DerKer", (gpuarray.to_gpu(dy), y))):
				kernel = getattr(ElementWise, name + direction)(dtype)
				expected = gpuarray.empty(size, dtype)
				serially(kernel, expected, operands, args)
				expected = expected.get()

				outs = []
				for fill in (0, 5):
					out = filled(size, dtype, fill)
					kernel(out, *operands, *args)
					outs.append(out.get())

				if not np.array_equal(outs[0].view(np.uint8), outs[1].view(np.uint8)):
					problems.append("%s%s %s: elements left unwritten" % (name, direction, what))
				elif not nearlyEqual(outs[0], expected):
					problems.append("%s%s %s: differs from the serial run" % (name, direction, what))

				if size > 2 * Source.PARALLEL_MIN:        # a threaded stepped slice: the strided loop
					out = filled(size, dtype, 3)
					kernel(out, *operands, *args, slice=slice(1, None, 2))
					got = out.get()
					if not (np.all(got[::2] == 3) and nearlyEqual(got[1::2], expected[1::2])):
						problems.append("%s%s %s slice(1, None, 2)" % (name, direction, what))

	return problems


# (N, C, S) views at and above the threading threshold: many short rows, few long ones (fewer
# than two a thread), rows of a matrix and columns of a 3-D tensor (S > 1)
ROW_SHAPES = [
	(Source.PARALLEL_MIN // 11 + 1, 11, 1), (Source.PARALLEL_MIN // 3 + 5, 3, 1), (41, 1024, 1), (3, 20011, 1), (1, 40000, 1),
	(7, 13, 400), (2, 3, 6001), (300, 2, 61),
]


def rowInputs(seed, shape, dtype):
	"""Entries of both signs and magnitudes, ties (argmax), and rows and columns with -inf and NaN."""
	rng = np.random.default_rng(seed)
	x = (rng.standard_normal(shape) * 8).astype(dtype)
	x[..., ::7] = np.round(x[..., ::7])
	x[0, 1::3] = -np.inf
	x[-1, :, -1] = -np.inf
	x[-1, -1, 0] = np.nan
	return x, rng.standard_normal(shape).astype(dtype), rng.standard_normal(shape[1]).astype(dtype)


def softmaxReference(x):
	wide = x.astype(np.float64)
	top = wide.max(axis=1, keepdims=True)
	with np.errstate(invalid="ignore"):
		e = np.where(np.isneginf(top), 1.0, np.exp(wide - np.where(np.isneginf(top), 0, top)))
		return e / e.sum(axis=1, keepdims=True)


def withFills(run, shape, dtype):
	"""run(out) into two outputs filled differently: (the result, whether both hold the same bits)."""
	outs = []
	for fill in (0, 3):
		out = filled(shape, dtype, fill)
		run(out)
		outs.append(out.get())
	return outs[0], outs[0].tobytes() == outs[1].tobytes()


def checkRows(digest):
	problems = []
	for dtype in (np.float16, np.float32, np.float64):
		tolerance = {np.float16: 2e-3, np.float32: 1e-6, np.float64: 1e-13}[dtype]
		for seed, shape in enumerate(ROW_SHAPES):
			x, g, vec = rowInputs(seed, shape, dtype)
			what = "%s %s" % (np.dtype(dtype).name, shape)
			data, grad = gpuarray.to_gpu(x), gpuarray.to_gpu(g)

			y, whole = withFills(lambda out: softmaxNd(data, out=out), shape, dtype)
			expected = softmaxReference(x)
			if not whole:
				problems.append("softmax %s: elements left unwritten" % what)
			elif not np.allclose(y, expected, rtol=tolerance, atol=tolerance / 1e3, equal_nan=True):
				problems.append("softmax %s: differs from the float64 reference" % what)

			outdata = gpuarray.to_gpu(y)
			dx, whole = withFills(lambda out: softmaxNdBackward(outdata, grad, out=out), shape, dtype)
			wideY, wideG = y.astype(np.float64), g.astype(np.float64)
			with np.errstate(invalid="ignore"):
				expected = wideY * (wideG - (wideG * wideY).sum(axis=1, keepdims=True))
			if not whole:
				problems.append("softmaxNdBackward %s: elements left unwritten" % what)
			elif not np.allclose(dx, expected, rtol=10 * tolerance, atol=10 * tolerance, equal_nan=True):
				problems.append("softmaxNdBackward %s: differs from the float64 reference" % what)

			indices, whole = withFills(lambda out: argmax(data, axis=1, out=out), (shape[0], shape[2]), np.int32)
			if not whole or not np.array_equal(indices, x.argmax(axis=1)):
				problems.append("argmax %s: differs from numpy's" % what)

			added, whole = withFills(lambda out: addVecToMat(gpuarray.to_gpu(vec), data, axis=1, out=out), shape, dtype)
			compute = np.float64 if dtype == np.float64 else np.float32
			with np.errstate(invalid="ignore"):
				expected = (x.astype(compute) + vec.astype(compute)[None, :, None]).astype(dtype)
			if not whole or added.tobytes() != expected.tobytes():
				problems.append("addVecToMat %s: differs from numpy's" % what)

			for result in (y, dx, indices, added):
				digest.update(result.tobytes())

	return problems


def check(threads):
	rng = np.random.default_rng(threads)
	return [
		problem for dtype in (np.float16, np.float32, np.float64)
		for problem in checkCopy(threads, dtype, rng) + checkKernels(threads, dtype, rng)
	]


if __name__ == "__main__":
	threads = int(sys.argv[1])
	digest = hashlib.sha256()
	found = check(threads) + checkRows(digest)
	print("\n".join(found) if found else "ok %d" % threads)
	print("rows %s" % digest.hexdigest())
