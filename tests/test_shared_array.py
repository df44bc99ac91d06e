"""gpuarray.SharedArray: tensors registered by name become aligned views of one zeroed buffer."""

import numpy as np
import pytest

from cases import normal


def test_views_share_one_buffer(backend):
	from PuzzleLib.Backend import Blas, gpuarray

	shared = gpuarray.SharedArray(np.float32)
	shared.register((3, 5), np.float32, "0.W")
	shared.register(5, np.float32, "0.b")
	shared.register((0, ), np.float32, "empty")
	assert shared.build() is shared and len(shared) == 3 and "0.W" in shared

	W, b = shared["0.W"], shared["0.b"]
	assert W.shape == (3, 5) and b.shape == (5, ) and W.dtype == np.float32 and shared["empty"].size == 0
	assert not shared.ary.get().any()
	assert W.ptr == shared.ary.ptr and (b.ptr - W.ptr) % 256 == 0 and b.ptr >= W.ptr + W.nbytes

	values = normal((3, 5), seed=1)
	W.set(values)
	bias = normal((5, ), seed=2)
	b.set(bias)

	# one operation over the whole buffer reaches every view; the gaps stay zero
	Blas.toVectorAddVector(shared.ary, shared.ary, alpha=1.0)
	assert np.array_equal(W.get(), 2 * values) and np.array_equal(b.get(), 2 * bias)
	whole = shared.ary.get()
	assert np.count_nonzero(whole) == 20


@pytest.mark.parametrize("call, message", [
	(lambda s: s.register((2, ), np.float64, "x"), "'x' has dtype float64, this SharedArray holds float32"),
	(lambda s: s.register((2, ), np.float32, "a"), "'a' is registered already"),
	(lambda s: s.register((2, -1), np.float32, "y"), "shape must be a tuple of ints >= 0"),
	(lambda s: s["a"], "before build"),
])
def test_refused(backend, call, message):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Kernels.SharedArray import SharedArrayError

	shared = gpuarray.SharedArray()
	shared.register((2, ), np.float32, "a")
	with pytest.raises(SharedArrayError, match=message):
		call(shared)


def test_register_after_build_is_refused(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Kernels.SharedArray import SharedArrayError

	shared = gpuarray.SharedArray(np.float16)
	shared.register((4, ), np.float16, "a")
	shared.build()
	with pytest.raises(SharedArrayError, match="after build"):
		shared.register((4, ), np.float16, "b")
	with pytest.raises(SharedArrayError, match="build called twice"):
		shared.build()
