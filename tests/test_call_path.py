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


def test_a_modules_plan_follows_its_slice_args_size_and_dtype(facade):
	"""A module runs what it worked out at its first pass of a dtype and size; a changed slice, args,
	size or dtype makes a new plan, never a stale one."""
	gpuarray, _ = facade
	from PuzzleLib.Modules import Activation

	host = np.linspace(-2, 2, 12, dtype=np.float32)
	act = Activation("leakyRelu", args=(0.5, ))
	assert np.array_equal(act(gpuarray.to_gpu(host)).get(), np.where(host > 0, host, np.float32(0.5) * host))

	act.slc = slice(2, 6)
	expected = host.copy()
	expected[2:6] = np.where(host[2:6] > 0, host[2:6], np.float32(0.5) * host[2:6])
	assert np.array_equal(act(gpuarray.to_gpu(host)).get(), expected)

	act.slc, act.actArgs = None, (0.25, )
	assert np.array_equal(act(gpuarray.to_gpu(host)).get(), np.where(host > 0, host, np.float32(0.25) * host))

	short = host[:5]
	assert np.array_equal(act(gpuarray.to_gpu(short)).get(), np.where(short > 0, short, np.float32(0.25) * short))

	act.calcMode(np.float64)
	wide = host.astype(np.float64)
	assert np.array_equal(act(gpuarray.to_gpu(wide)).get(), np.where(wide > 0, wide, 0.25 * wide))


def test_softmax_lean_backward_refuses_an_output_of_another_dtype(facade):
	gpuarray, _ = facade
	from PuzzleLib.Modules import ModuleError, SoftMax

	softmax = SoftMax()
	softmax(gpuarray.to_gpu(np.zeros((2, 3), dtype=np.float32)))
	softmax.calcMode(np.float64)                   # the output is still float32
	with pytest.raises(ModuleError, match="float32"):
		softmax.backward(gpuarray.to_gpu(np.ones((2, 3), dtype=np.float64)))


class _Stream:
	def __init__(self, stream):
		self.stream = stream

	def reserve(self, size):
		return self.stream


@pytest.mark.parametrize("stream", [(1.5, 0), (True, 0), (1, 2, 3), (7, )], ids=["float", "bool", "three", "one"])
def test_dropout_lean_path_still_checks_the_generators_stream(facade, stream):
	"""The generator is the caller's: what its reserve returns is checked on every pass, and a refused
	pass writes nothing and keeps the module as it was."""
	gpuarray, _ = facade
	from PuzzleLib.Modules import Dropout, ModuleError

	drop = Dropout(0.5, rng=_Stream((3, 4)))
	x = gpuarray.to_gpu(np.ones(64, dtype=np.float32))
	drop(x)                                         # the plan is made
	data, key = drop.data, drop.stream

	drop.rng = _Stream(stream)
	with pytest.raises(ModuleError, match="random stream|arg"):
		drop(x)
	assert drop.data is data and drop.stream == key


def test_a_module_deep_copies_after_a_pass_and_reset(facade):
	"""What a module remembers of its passes (its plans, holding memoized kernels) does not stop a
	copy of it, and the copy computes as the original."""
	import copy
	gpuarray, _ = facade
	from PuzzleLib.Modules import Activation, Dropout, SoftMax

	x = gpuarray.to_gpu(np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4))
	for module in (Activation("clip", args=(-0.5, 0.5)), SoftMax(), Dropout(0.5, rng=_Stream((1, 2)))):
		expected = module(x).get()
		module.reset()
		twin = copy.deepcopy(module)
		assert np.array_equal(twin(x).get(), expected), module


def test_a_pooled_buffer_returns_when_its_last_view_dies(backend):
	if backend != "cpu":
		pytest.skip("the CPU pool's own bookkeeping")
	import gc, sys
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.CPU.MemoryPool import MemoryPool

	pool = MemoryPool()
	ary = gpuarray.empty((4, 8), dtype=np.float32, allocator=pool)
	assert ary.ptr % 64 == 0 and type(ary.gpudata) is np.ndarray and ary.gpudata.flags.writeable
	view, tail = ary.reshape(32), ary[2:]
	ptr = ary.ptr
	del ary
	assert pool.activeBlocks == 1 and pool.heldBlocks == 0

	block = view.gpudata.base
	while not hasattr(block, "pool"):
		block = block.base
	unraisable = []
	hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
	try:
		copied = block.copy()                       # a copy numpy makes of the block owns no buffer
		del copied, view, block
		gc.collect()
		assert pool.activeBlocks == 1
		del tail
		gc.collect()
	finally:
		sys.unraisablehook = hook

	assert not unraisable, [u.exc_value for u in unraisable]
	assert pool.activeBlocks == 0 and pool.heldBlocks == 1
	assert gpuarray.empty(32, dtype=np.float32, allocator=pool).ptr == ptr


@pytest.mark.parametrize("name", ["relu", "reluDer", "leakyRelu", "dropout", "adam"])
def test_a_bound_call_computes_what_the_checked_call_does(facade, backend, name):
	"""kernel.bind(span, args), the call a module's plan keeps, writes bit for bit what the checked
	call writes, for two, three and four arrays, with params and with a random stream, over the
	whole arrays and a stepped slice, on every kernel path of the backend."""
	gpuarray, ElementWise = facade
	from PuzzleLib.Kernels.Table import TABLE

	op = TABLE[name]
	kernels = [getattr(ElementWise, name + "Ker")(np.float32)]
	if backend == "cpu":
		from PuzzleLib.CPU import ElementWise as CpuElementWise
		kernels.append(CpuElementWise.kernel(op, np.dtype(np.float32), path="numpy"))

	args = {"leakyRelu": (0.2, ), "dropout": (0.25, 1 / 0.75), "adam": (0.01, 0.9, 0.99, 1e-8)}.get(name, ())
	stream = (5, -9) if op.isRandom else ()
	rng = np.random.default_rng(3)
	hosts = [rng.standard_normal(101).astype(dtype) for dtype in op.arrayDtypes(np.dtype(np.float32))]

	for kernel in kernels:
		for slc in (None, slice(3, 90, 7)):
			checked = [gpuarray.to_gpu(host) for host in hosts]
			bound = [gpuarray.to_gpu(host) for host in hosts]
			kernel(*checked, *args, *stream, slice=slc)
			kernel.bind(kernel.spans(slc, 101), kernel.checkArgs(args))(*bound, *stream)

			for k, (a, b) in enumerate(zip(checked, bound)):
				assert a.get().tobytes() == b.get().tobytes(), "%s %s, array %d, slice %s" % (kernel.name, type(kernel).__name__, k, slc)
