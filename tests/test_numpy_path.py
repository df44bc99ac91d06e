"""The numpy path's own machinery: its select is np.where bit for bit, and its chunked evaluation
covers every element of a slice that spans many chunks, and no other."""

import numpy as np
import pytest

from harness import assertSameBits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_select_is_np_where_bit_for_bit(dtype):
	from PuzzleLib.Kernels.Expression import NumpyMath

	rng = np.random.default_rng(7)
	n = 5000
	a = rng.standard_normal(n).astype(dtype)
	b = rng.standard_normal(n).astype(dtype)
	a[:6] = (0.0, -0.0, np.inf, -np.inf, np.nan, -np.nan)
	b[6:12] = (-0.0, 0.0, -np.inf, np.inf, -np.nan, np.nan)
	bits = {np.float32: np.uint32(0x7FC00123), np.float64: np.uint64(0x7FF0000000000123)}[dtype]
	a[12:13] = np.array([bits]).view(dtype)         # a NaN with a payload
	cond = rng.random(n) < 0.5

	m = NumpyMath(dtype)
	for ifTrue, ifFalse in ((a, b), (a, 0), (0, b), (-0.0, b), (1, 0), (dtype(np.inf), b)):
		expected = np.where(cond, np.asarray(ifTrue, dtype), np.asarray(ifFalse, dtype))
		assertSameBits(m.select(cond, ifTrue, ifFalse), expected, "select(cond, %r, %r)" % (type(ifTrue), type(ifFalse)))

	assertSameBits(m.select(np.bool_(True), a, 0), a, "a scalar condition")


@pytest.mark.parametrize("slc", [None, slice(None, None, -3), slice(17, -5, 7)], ids=str)
def test_chunked_numpy_kernel_covers_exactly_the_slice(monkeypatch, slc):
	from PuzzleLib.CPU import ElementWise
	from PuzzleLib.CPU.GPUArray import to_gpu
	from PuzzleLib.Kernels.Table import TABLE

	monkeypatch.setattr(ElementWise.NumpyKernel, "CHUNK", 64)
	n = 64 * 9 + 13
	x = np.random.default_rng(3).standard_normal(n).astype(np.float32) * 4
	marker = np.full(n, 1234.5, np.float32)

	ker = ElementWise.kernel(TABLE["leakyRelu"], np.dtype(np.float32), "numpy")
	assert isinstance(ker, ElementWise.NumpyKernel)

	out = to_gpu(marker)
	ker(out, to_gpu(x), 0.25, slice=slc)

	expected = marker.copy()
	index = np.arange(n)[slc if slc is not None else slice(None)]
	chosen = x[index].astype(np.float64)
	expected[index] = np.where(chosen < 0, 0.25 * chosen, chosen).astype(np.float32)
	assertSameBits(out.get(), expected, "leakyRelu over %s" % slc)
