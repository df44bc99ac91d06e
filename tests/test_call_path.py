"""What the per-call path remembers (kernels by dtype, resolved slices, an array's checked
properties) never lets through what it would refuse, and a module's lean path keeps every check."""

import numpy as np
import pytest


@pytest.fixture
def facade(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Backend.Kernels import ElementWise
	return gpuarray, ElementWise


def test_a_remembered_slice_does_not_admit_a_bool_bound(facade):
	gpuarray, ElementWise = facade
	from PuzzleLib.Kernels.Launch import KernelError

	x = gpuarray.to_gpu(np.linspace(-1, 1, 16, dtype=np.float32))
	out = gpuarray.zeros(16, dtype=np.float32)
	relu = ElementWise.reluKer(np.float32)

	relu(out, x, slice=slice(1, 5))              # resolved and remembered
	for refused in (slice(True, 5), slice(1.0, 5), slice(1, 5, 0)):
		with pytest.raises(KernelError):
			relu(out, x, slice=refused)

	relu(out, x, slice=slice(1, 5))
	assert np.array_equal(out.get()[1:5], np.maximum(x.get()[1:5], 0))


def test_remembered_slices_resolve_per_size(facade):
	gpuarray, ElementWise = facade
	relu = ElementWise.reluKer(np.float32)

	for size in (10, 3, 10, 40):
		host = np.linspace(-1, 1, size, dtype=np.float32)
		out = gpuarray.to_gpu(np.full(size, 9, dtype=np.float32))
		relu(out, gpuarray.to_gpu(host), slice=slice(-4, None))

		expected = np.full(size, 9, dtype=np.float32)
		expected[-4:] = np.maximum(host[-4:], 0)
		assert np.array_equal(out.get(), expected), size


def test_a_remembered_kernel_does_not_admit_none(facade):
	"""numpy has None == np.dtype("float64"): the float64 kernel, once looked up, must not answer None."""
	_, ElementWise = facade
	from PuzzleLib.Kernels.Launch import KernelError

	ElementWise.sigmoidKer(np.float64)
	ElementWise.sigmoidKer("float64")
	with pytest.raises(KernelError, match="got None"):
		ElementWise.sigmoidKer(None)
	assert ElementWise.sigmoidKer(np.dtype(np.float64)) is ElementWise.sigmoidKer(np.float64)


def test_cpu_arrays_keep_what_numpy_says(backend):
	if backend != "cpu":
		pytest.skip("the CPU array's own bookkeeping")
	from PuzzleLib.Backend import gpuarray

	base = gpuarray.to_gpu(np.arange(24, dtype=np.float32).reshape(4, 6))
	pooled = gpuarray.empty((5, 3), dtype=np.float16, allocator=gpuarray.memoryPool)
	arrays = [base, pooled, base.reshape(6, 4), base.ravel(), base[1:3], base[:, 1:], base[::2], base.astype(np.float64), base + 1]

	for ary in arrays:
		host = ary.gpudata
		assert (ary.shape, ary.dtype, ary.size, ary.nbytes) == (host.shape, host.dtype, host.size, host.nbytes)
		assert ary.ptr == host.__array_interface__["data"][0]
		assert gpuarray.isContiguous(ary) == host.flags.c_contiguous


def test_the_lean_module_path_still_refuses_a_stale_dtype_and_an_overlap(facade):
	gpuarray, _ = facade
	from PuzzleLib.Modules import Activation, ModuleError

	act = Activation("sigmoid")
	act(gpuarray.to_gpu(np.zeros(8, dtype=np.float32)))
	act.calcMode(np.float64)                      # the output is still float32
	with pytest.raises(ModuleError, match="dtype"):
		act.backward(gpuarray.to_gpu(np.ones(8, dtype=np.float64)))

	big = gpuarray.to_gpu(np.linspace(-1, 1, 9, dtype=np.float32))
	inplace = Activation("relu", inplace=True)
	inplace(big[0:8])
	before = big.get()
	with pytest.raises(ModuleError, match="overlaps"):
		inplace.backward(big[1:9])
	assert np.array_equal(big.get(), before)
