"""The gpuarray facade: the pycuda-like surface user scripts use, on whatever backend this run has."""

import gc, operator

import numpy as np
import pytest

import reference
from cases import DTYPES, idOf, normal, pycudaLimit, specials


dtypeParam = pytest.mark.parametrize("dtype", DTYPES, ids=idOf)


def sample(dtype, shape=(3, 4), seed=0):
	return normal(shape, dtype, seed, scale=4)


@dtypeParam
def test_roundtrip_is_bitwise(backend, dtype):
	from PuzzleLib.Backend import gpuarray

	host = np.concatenate([sample(dtype).ravel(), specials(dtype)])
	ary = gpuarray.to_gpu(host)
	assert isinstance(ary, gpuarray.GPUArray)
	assert ary.get().tobytes() == host.tobytes() and ary.get().dtype == dtype

	host[0] = 123
	assert ary.get()[0] != 123, "to_gpu copies: the host array is not shared"

	into = np.empty_like(host)
	assert ary.get(into) is into and into.tobytes() == ary.get().tobytes()


@dtypeParam
@pytest.mark.parametrize("shape", ((3, 4), (7, ), (2, 3, 5), (0, 4)), ids=str)
def test_attributes(backend, dtype, shape):
	from PuzzleLib.Backend import gpuarray

	host = np.zeros(shape, dtype=dtype)
	for ary in (gpuarray.to_gpu(host), gpuarray.empty(shape, dtype=dtype), gpuarray.zeros(shape, dtype=dtype)):
		assert ary.shape == host.shape and ary.dtype == host.dtype
		assert ary.size == host.size and ary.nbytes == host.nbytes and ary.ndim == host.ndim


@dtypeParam
def test_zeros_and_empty(backend, dtype):
	from PuzzleLib.Backend import gpuarray

	assert gpuarray.zeros((5, 6), dtype=dtype).get().tobytes() == np.zeros((5, 6), dtype=dtype).tobytes()
	assert gpuarray.empty(8, dtype=dtype).shape == (8, )
	assert gpuarray.empty((2, 2)).dtype == np.float32 and gpuarray.zeros((2, 2)).dtype == np.float32


def test_set(backend):
	from PuzzleLib.Backend import gpuarray

	ary = gpuarray.zeros((3, 4), dtype=np.float32)
	host = sample(np.float32)
	ary.set(host)
	assert ary.get().tobytes() == host.tobytes()


def test_ravel_and_reshape_are_views(backend):
	from PuzzleLib.Backend import gpuarray

	host = sample(np.float32, (4, 6))
	ary = gpuarray.to_gpu(host)

	flat, reshaped = ary.ravel(), ary.reshape(3, 8)
	assert flat.shape == (24, ) and reshaped.shape == (3, 8) and ary.reshape((2, 12)).shape == (2, 12)
	assert flat.get().tobytes() == host.ravel().tobytes()
	assert reshaped.get().tobytes() == host.reshape(3, 8).tobytes()

	flat.fill(2.5)
	assert (ary.get() == 2.5).all(), "ravel() shares memory with the array"
	reshaped.fill(-1)
	assert (ary.get() == -1).all(), "reshape() shares memory with the array"


def test_fill_returns_self(request, backend):
	from PuzzleLib.Backend import gpuarray
	pycudaLimit(request, backend, "fill has no float16 kernel (unable to map dtype 'float16')")

	ary = gpuarray.empty((3, 3), dtype=np.float16)
	assert ary.fill(1.5) is ary
	assert ary.get().tolist() == [[1.5] * 3] * 3


@dtypeParam
def test_copy_is_independent(request, backend, dtype):
	from PuzzleLib.Backend import gpuarray
	if dtype == np.float16:
		pycudaLimit(request, backend, "fill has no float16 kernel (unable to map dtype 'float16')")

	host = sample(dtype)
	ary = gpuarray.to_gpu(host)
	clone = ary.copy()
	assert clone is not ary and clone.get().tobytes() == host.tobytes()

	clone.fill(0)
	assert ary.get().tobytes() == host.tobytes()

	dest = gpuarray.zeros(host.shape, dtype=dtype)
	assert gpuarray.copy(dest, ary) is dest and dest.get().tobytes() == host.tobytes()


@pytest.mark.parametrize("source, target", ((np.float32, np.float16), (np.float16, np.float64), (np.float64, np.float32)),
	ids=lambda d: np.dtype(d).name)
def test_astype(request, backend, source, target):
	from PuzzleLib.Backend import gpuarray
	if np.float16 in (np.dtype(source), np.dtype(target)):
		pycudaLimit(request, backend, "astype has no float16 kernel (unable to map dtype 'float16')")

	host = sample(source)
	converted = gpuarray.to_gpu(host).astype(target)
	assert converted.dtype == target
	assert converted.get().tobytes() == host.astype(target).tobytes()


BINARY = (operator.add, operator.sub, operator.mul, operator.truediv)
INPLACE = (operator.iadd, operator.isub, operator.imul, operator.itruediv)


def assertArithmetic(got, expected, exact, context):
	"""Bitwise numpy's result; where pycuda itself multiplies by the reciprocal (division by a
	scalar), within 2 ulp of the exact quotient instead."""
	from PuzzleLib.Backend import gpuarray

	assert isinstance(got, gpuarray.GPUArray), context
	assert got.dtype == expected.dtype and got.shape == expected.shape, context
	if exact is None:
		assert got.get().tobytes() == expected.tobytes(), "%s: %s != %s" % (context, got, expected)
	else:
		reference.assertClose(got.get(), exact, context=context, bound=2)


def exactQuotient(a, b):
	wide = reference.wideType(np.result_type(a, b))
	return np.asarray(np.asarray(a, dtype=wide) / np.asarray(b, dtype=wide))


@pytest.mark.parametrize("op", BINARY, ids=lambda op: op.__name__)
@pytest.mark.parametrize("dtype", (np.float32, np.float64), ids=idOf)
def test_arithmetic(backend, op, dtype):
	"""IEEE +, -, *, / are correctly rounded, so they match numpy bit for bit."""
	from PuzzleLib.Backend import gpuarray

	a, b = sample(dtype, seed=1), sample(dtype, seed=2) + dtype(10)
	ga, gb = gpuarray.to_gpu(a), gpuarray.to_gpu(b)
	scalar = exactQuotient(a, 2.5) if op is operator.truediv else None

	assertArithmetic(op(ga, gb), op(a, b), None, "%s array" % op.__name__)
	assertArithmetic(op(ga, 2.5), op(a, dtype(2.5)), scalar, "%s scalar" % op.__name__)
	assertArithmetic(op(2.5, gb), op(dtype(2.5), b), None, "%s reflected" % op.__name__)
	assert ga.get().tobytes() == a.tobytes() and gb.get().tobytes() == b.tobytes(), "operands unchanged"


@pytest.mark.parametrize("op", INPLACE, ids=lambda op: op.__name__)
def test_inplace_arithmetic(backend, op):
	from PuzzleLib.Backend import gpuarray

	a, b = sample(np.float32, seed=3), sample(np.float32, seed=4) + np.float32(10)
	for other, hostOther in ((gpuarray.to_gpu(b), b), (3.0, np.float32(3.0))):
		ga = gpuarray.to_gpu(a)
		result = op(ga, other)
		assert result is ga, "an in-place operator returns the same array"

		scalarDivision = op is operator.itruediv and not isinstance(other, gpuarray.GPUArray)
		exact = exactQuotient(a, 3.0) if scalarDivision else None
		assertArithmetic(ga, op(a.copy(), hostOther), exact, "%s %s" % (op.__name__, type(other).__name__))


def test_negation(backend):
	from PuzzleLib.Backend import gpuarray
	host = sample(np.float32)
	assert (-gpuarray.to_gpu(host)).get().tobytes() == (-host).tobytes()


@pytest.mark.parametrize("host", (
	np.arange(12, dtype=np.float32).reshape(3, 4) - 5.5,
	np.array([1e-30, 3e38, np.inf, -np.inf, np.nan, 0.0], dtype=np.float32),
	np.linspace(0, 1, 7).astype(np.float16),
	np.random.default_rng(5).standard_normal((2, 3, 4)),
	np.zeros((0, 3), dtype=np.float32),
), ids=("grid", "specials", "half", "3d", "empty"))
def test_prints_like_numpy(backend, host, capsys):
	from PuzzleLib.Backend import gpuarray

	ary = gpuarray.to_gpu(host)
	assert str(ary) == str(host)
	print(ary)
	assert capsys.readouterr().out == str(host) + "\n"


def test_dtypes_supported(backend):
	from PuzzleLib.Backend import gpuarray

	supported = gpuarray.dtypesSupported()
	pairs = {np.dtype(dtype): atol for dtype, atol in supported}
	assert len(pairs) == len(supported)
	for dtype in (np.float32, np.float16, np.float64):
		assert np.dtype(dtype) in pairs, "%s missing from dtypesSupported()" % np.dtype(dtype)
	assert all(isinstance(atol, float) and 0 < atol < 1 for atol in pairs.values())
	assert pairs[np.dtype(np.float16)] > pairs[np.dtype(np.float32)] > pairs[np.dtype(np.float64)]


def test_device_name(backend):
	from PuzzleLib.Backend import gpuarray
	name = gpuarray.getDeviceName()
	assert isinstance(name, str) and name.strip()


def test_backend_utils_are_the_same_objects(backend):
	from PuzzleLib.Backend import Utils, gpuarray
	assert Utils.memoryPool is gpuarray.memoryPool and Utils.dtypesSupported is gpuarray.dtypesSupported


def test_memory_pool_reuses_a_freed_buffer(backend):
	from PuzzleLib.Backend import gpuarray

	pool = gpuarray.memoryPool
	shape, dtype = (1234, 57), np.float32

	gc.collect()        # garbage from earlier tests must not return a buffer of this size class later
	pool.freeHeld()
	assert pool.held_blocks == 0

	first = gpuarray.empty(shape, dtype=dtype, allocator=pool)
	address = first.ptr
	first.fill(1)
	del first           # the last reference: the buffer goes back to the pool now
	assert pool.held_blocks >= 1, "a dropped pooled array's buffer is held for reuse"

	second = gpuarray.empty(shape, dtype=dtype, allocator=pool)
	assert second.ptr == address, "the pool gave out a new buffer instead of the freed one"
	assert second.shape == shape and second.dtype == dtype

	other = gpuarray.empty(shape, dtype=dtype, allocator=pool)
	assert other.ptr != second.ptr, "two live arrays must not share a buffer"

	del second, other
	gc.collect()
	pool.freeHeld()
	assert pool.held_blocks == 0


def test_zero_dimensional_arrays_keep_their_shape(backend):
	"""np.ascontiguousarray would make a 0-d array 1-d on its way to the device."""
	from PuzzleLib.Backend import gpuarray

	host = np.array(-2.5, dtype=np.float32)
	ary = gpuarray.to_gpu(host)
	assert ary.shape == () and ary.get().shape == () and ary.get().tobytes() == host.tobytes()


# {{{ 0-d arrays: views of their parent, results of their own (as pycuda's)

def test_an_element_is_a_0d_view_of_its_array(backend):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Backend.Kernels.ElementWise import reluKer

	host = np.array([[1.0, -2.0, 3.0], [-4.0, 5.0, -6.0]], dtype=np.float32)
	ary = gpuarray.to_gpu(host)

	for index, flat in ((1, None), ((1, 2), 5), ((0, -2), 1)):
		element = ary[index]
		if flat is None:
			assert element.shape == (3, )
			continue

		assert element.shape == () and element.ptr == ary.ptr + flat * 4
		assert element.get() == host.flat[flat]

		reluKer(np.float32)(element, element)                # writes through to the array
		expected = host.copy()
		expected.flat[flat] = max(expected.flat[flat], 0)
		assert np.array_equal(ary.get(), expected)
		host = expected


def test_an_element_of_a_0d_array_is_that_array(backend):
	from PuzzleLib.Backend import gpuarray

	ary = gpuarray.to_gpu(np.array(2.5, dtype=np.float32))
	assert ary[()].shape == () and ary[()].ptr == ary.ptr


@pytest.mark.parametrize("op", (
	operator.neg, abs, lambda a: a + 1, lambda a: 2.0 * a, lambda a: a * a, lambda a: a / 4, lambda a: a - a
), ids=("neg", "abs", "add", "rmul", "mul", "div", "sub"))
def test_arithmetic_on_0d_arrays_keeps_the_shape_and_owns_its_memory(backend, op):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Backend.Kernels.ElementWise import clipKer

	host = np.array(-3.0, dtype=np.float32)
	result = op(gpuarray.to_gpu(host))
	expected = float(op(host))
	assert result.shape == () and result.dtype == np.float32
	assert result.get() == expected

	# a kernel writes where result.get() reads: its own memory, not a freed temporary
	clipKer(np.float32)(result, result, expected + 1, expected + 2)
	assert result.get() == expected + 1

# }}}


# {{{ device memory is not copied behind the script's back

def test_deepcopy_and_pickle_are_refused_shallow_copy_shares(request, backend):
	"""As pycuda refuses them for device memory: a deep copy that kept the original's address would
	write into memory the original owns, or the pool hands out again."""
	import copy, pickle
	from PuzzleLib.Backend import gpuarray

	pycudaLimit(request, backend, "deepcopy gives a copy in new device memory and pickle works: neither refuses")
	ary = gpuarray.to_gpu(np.arange(6, dtype=np.float32))
	for attempt in (copy.deepcopy, pickle.dumps):
		with pytest.raises((TypeError, RuntimeError)) as error:
			attempt(ary)
		if backend == "cpu":
			assert isinstance(error.value, TypeError) and isinstance(error.value, RuntimeError)
			assert "ary.get()" in str(error.value)

	shallow = copy.copy(ary)
	assert shallow is not ary and shallow.ptr == ary.ptr and shallow.shape == ary.shape

# }}}


# {{{ an array over given memory

def test_an_array_over_given_memory_has_the_shape_and_dtype_asked(backend):
	"""GPUArray(shape, dtype, gpudata=other.gpudata) views other's memory, as pycuda's does."""
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Backend.Kernels.ElementWise import reluKer

	host = np.arange(8, dtype=np.float32) - 4
	base = gpuarray.to_gpu(host)

	view = gpuarray.GPUArray((2, 2), np.float32, gpudata=base.gpudata)
	assert view.shape == (2, 2) and view.dtype == np.float32 and view.ptr == base.ptr
	assert np.array_equal(view.get(), host[:4].reshape(2, 2))

	reluKer(np.float32)(view, view)            # writes into base's first four elements
	assert np.array_equal(base.get(), np.concatenate([np.zeros(4, np.float32), host[4:]]))

	doubles = gpuarray.GPUArray((4, ), np.float64, gpudata=base.gpudata)
	assert doubles.dtype == np.float64 and doubles.get().tobytes() == base.get().tobytes()


def test_an_array_over_given_memory_is_checked(backend):
	if backend != "cpu":
		pytest.skip("pycuda takes any device pointer, unchecked")

	from PuzzleLib.Backend import gpuarray

	base = gpuarray.to_gpu(np.zeros(8, dtype=np.float32))
	with pytest.raises(ValueError, match="holds 32 bytes"):
		gpuarray.GPUArray((9, ), np.float32, gpudata=base.gpudata)
	with pytest.raises(ValueError, match="contiguous"):
		gpuarray.GPUArray((4, ), np.float32, gpudata=base.gpudata[::2])
	with pytest.raises(TypeError, match="gpudata"):
		gpuarray.GPUArray((4, ), np.float32, gpudata=base.ptr)

	pooled = gpuarray.GPUArray((3, 5), np.float16, gpudata=gpuarray.memoryPool.allocate(30))
	assert pooled.shape == (3, 5) and pooled.dtype == np.float16

# }}}


def test_a_shape_equal_to_the_last_checked_one_is_still_checked(backend):
	"""(True, 2) == (1, 2), and hashes alike: the shape check's memory of the last shape it passed
	goes by identity, so an equal shape of bools is refused after (1, 2) as before it."""
	from PuzzleLib.Backend import gpuarray

	shape = (1, 2)
	for _ in range(2):
		assert gpuarray.empty(shape, dtype=np.float32, allocator=gpuarray.memoryPool).shape == (1, 2)
		with pytest.raises(TypeError, match="shape must be an int or a tuple of ints"):
			gpuarray.empty((True, 2), dtype=np.float32, allocator=gpuarray.memoryPool)
		with pytest.raises(ValueError, match="negative"):
			gpuarray.empty((1, -2), dtype=np.float32)


def test_pooled_arrays_of_every_dtype_have_their_shape_and_memory(backend):
	"""A pooled array is made in one step in its final shape and dtype (CPU): each is C-contiguous,
	holds what is written to it, and shares no byte with another live one."""
	from PuzzleLib.Backend import gpuarray

	arrays = []
	for dtype in (np.float16, np.float32, np.float64, np.int32, np.uint8, np.bool_):
		for shape in ((), (0, ), (7, ), (3, 5), (2, 3, 4)):
			ary = gpuarray.empty(shape, dtype=dtype, allocator=gpuarray.memoryPool)
			assert ary.shape == shape and ary.dtype == dtype and ary.size == int(np.prod(shape))
			assert ary.nbytes == ary.size * np.dtype(dtype).itemsize and gpuarray.isContiguous(ary)
			host = (np.arange(ary.size) % 2).astype(dtype).reshape(shape)
			ary.set(host)
			arrays.append((ary, host))

	for ary, host in arrays:
		assert np.array_equal(ary.get(), host)

	spans = sorted((ary.ptr, ary.ptr + ary.nbytes) for ary, _ in arrays if ary.nbytes)
	assert all(end <= start for (_, end), (start, _) in zip(spans, spans[1:]))
