"""The CUDA backend's Python side on a fake pycuda (tests/fakepycuda.py), without a GPU.

What reaches pycuda is checked: the module text SourceModule compiles (exactly Source's, which
test_cuda_source compiled with nvcc), its options, the prepared argument formats against the C
signatures, and each launch's variant, pointers, counts and grid. With the host emulation the
generated kernels run (serially, compiled as C++) and are compared with the references, so
slices, tails, alignment and float16 rounding are checked end to end. Not checked here: the GPU
itself, nvcc's math library, and real pycuda (see the cuda-backend cases of the other tests).
"""

import math

import numpy as np
import pytest

import fakepycuda
import reference
from PuzzleLib import Config
from PuzzleLib.Cuda import Source
from PuzzleLib.Kernels.Activations import ACTIVATIONS
from PuzzleLib.Kernels.Table import TABLE
from PuzzleLib.Kernels.Launch import KernelError


ARGS = {"leakyRelu": (0.2, ), "elu": (0.5, ), "clip": (-1.5, 2.25)}


@pytest.fixture
def cuda(monkeypatch):
	fake, GPUArray, ElementWise = fakepycuda.loadBackend(monkeypatch)
	return fake, GPUArray, ElementWise


@pytest.fixture(scope="module")
def prebuilt():
	"""Host builds of every module, one compile per dtype (the modules are the same texts)."""
	if fakepycuda.hostCompiler() is None:
		pytest.skip("no host C++ compiler (g++) to emulate the kernels with")

	for dtype in Source.DTYPES:
		fakepycuda.builder().prebuild(Source.checkSource(dtype), [
			Source.moduleSource(op, dtype, variant) for op in TABLE.values() for variant in Source.VARIANTS
		])


@pytest.fixture
def emulated(monkeypatch, prebuilt):
	fake, GPUArray, ElementWise = fakepycuda.loadBackend(monkeypatch, emulate=True)
	return fake, GPUArray, ElementWise


# {{{ what reaches pycuda

def test_source_module_gets_exactly_the_checked_text(cuda):
	fake, _, ElementWise = cuda

	for op in TABLE.values():
		for dtype in Source.DTYPES:
			ElementWise.kernel(op, dtype)

	created = fake.compiler.SourceModule.created
	assert len(created) == len(TABLE) * len(Source.DTYPES) * len(Source.VARIANTS)

	texts = {module.source for module in created}
	assert texts == {
		Source.moduleSource(op, dtype, variant)
		for op in TABLE.values() for dtype in Source.DTYPES for variant in Source.VARIANTS
	}
	for module in created:
		assert module.no_extern_c is True and module.options == list(Source.NVCC_OPTIONS)


def test_functions_are_prepared_once_with_formats_that_match_their_signatures(cuda):
	fake, _, ElementWise = cuda
	for op in (TABLE["clip"], TABLE["clipDer"], TABLE["dropout"]):
		for dtype in Source.DTYPES:
			ker = ElementWise.kernel(op, dtype)
			assert ker is ElementWise.kernel(op, dtype)
			for variant, function in ker.functions.items():
				# the fake's prepare refuses a format that does not match the C parameters
				assert function.arg_format == Source.argFormat(op, dtype, variant)
				assert function.name == Source.kernelName(op, dtype, variant)


def _launches(ker):
	return [(variant, call) for variant, function in ker.functions.items() for call in function.calls]


def test_launch_variant_pointers_and_counts(cuda):
	fake, GPUArray, ElementWise = cuda
	ker = ElementWise.kernel(TABLE["leakyRelu"], np.dtype(np.float32))

	x = GPUArray.to_gpu(np.arange(1003, dtype=np.float32))
	out = GPUArray.empty((1003, ), dtype=np.float32)

	ker(out, x, 0.5)
	(variant, (grid, block, args)), = _launches(ker)
	assert variant == "vector" and block == (256, 1, 1) and grid == (1, 1)
	assert args[:2] == (out.ptr, x.ptr) and args[2:] == (1003, 0.5)
	assert type(args[3]) is float

	ker.functions["vector"].calls.clear()
	ker(out, x, 0.5, slice=slice(1, None, 3))
	(variant, (grid, block, args)), = _launches(ker)
	assert variant == "strided" and args == (out.ptr, x.ptr, 1, 3, 334, 0.5)

	ker.functions["strided"].calls.clear()
	misaligned = x.at(4, (1000, ))
	ker(out.at(0, (1000, )), misaligned, 0.5)
	(variant, (_, _, args)), = _launches(ker)
	assert variant == "strided" and args[1] == x.ptr + 4 and args[2:] == (0, 1, 1000, 0.5)


def test_a_launch_the_driver_refuses_is_a_launch_error_naming_the_kernel_and_grid(cuda, monkeypatch):
	fake, GPUArray, ElementWise = cuda
	ker = ElementWise.kernel(TABLE["relu"], np.dtype(np.float32))
	x = GPUArray.zeros((64, ), dtype=np.float32)

	monkeypatch.setattr(ElementWise.LaunchPlan, "BLOCK_SHAPE", (2048, 1, 1))
	with pytest.raises(ElementWise.LaunchError, match=r"relu.*\(vector\).*block \(2048, 1, 1\)") as info:
		ker(x, x)
	assert isinstance(info.value.__cause__, fake.driver.Error)


def test_nothing_is_launched_for_an_empty_slice_or_a_refused_call(cuda):
	fake, GPUArray, ElementWise = cuda
	ker = ElementWise.kernel(TABLE["sigmoidDer"], np.dtype(np.float16))
	a = GPUArray.zeros((64, ), dtype=np.float16)

	ker(a, a, a, slice=slice(10, 10))
	with pytest.raises(KernelError):
		ker(a, a, GPUArray.zeros((64, ), dtype=np.float32))
	with pytest.raises(KernelError):
		ker(a, a, a, 1.0)
	with pytest.raises(KernelError):
		ker(a, a, np.zeros(64, dtype=np.float16))

	assert _launches(ker) == []

# }}}


# {{{ the kernels, emulated

def _inputs(dtype, n, seed=0):
	rng = np.random.default_rng(seed)
	values = rng.standard_normal(n) * 6
	specials = [0.0, -0.0, math.inf, -math.inf, math.nan, 1e-30, 30.0, -30.0, 100.0, -100.0]
	values[:len(specials)] = specials[:n]
	with np.errstate(over="ignore"):
		return rng.permutation(values).astype(dtype)


def _check(got, before, expected, slc, context):
	inside = np.zeros(got.size, dtype=bool)
	inside[slc if slc is not None else slice(None)] = True

	reference.assertClose(got[inside], expected[inside], context)
	assert got[~inside].tobytes() == before[~inside].tobytes(), "%s: wrote outside the slice" % context


def _backwardReference(name, dy, y, args):
	if name != "tanh":
		return reference.backward(name, dy, y, args)

	# reference.backward's 1 - y*y cancels even in long double for y within 1e-9 of 1, which
	# these inputs reach; (1 - y)(1 + y) is exact there in wide floats
	wide = reference.wideType(y.dtype)
	y, dy = y.astype(wide), dy.astype(wide)
	with np.errstate(invalid="ignore"):
		return dy * (1 - y) * (1 + y)


# sizes around the vector width and the block, offsets that misalign, and slices of every kind
LAYOUTS = [
	(1, 0, None), (7, 0, None), (1003, 0, None), (1003, 2, None), (1003, 8, None),
	(1003, 0, slice(16, 997)), (1003, 0, slice(5, None, 3)), (1003, 0, slice(None, None, -2)), (1003, 0, slice(-7, 3, -5))
]


@pytest.mark.parametrize("dtype", [dtype.name for dtype in Source.DTYPES])
@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_emulated_kernels_match_the_references(emulated, name, dtype):
	fake, GPUArray, ElementWise = emulated
	dtype = np.dtype(dtype)
	args = ARGS.get(name, ())
	forward, backward = ElementWise.kernel(TABLE[name], dtype), ElementWise.kernel(TABLE[name + "Der"], dtype)
	variants = set()

	for n, offset, slc in LAYOUTS:
		if offset % dtype.itemsize:
			continue

		context = "%s %s n=%d offset=%d slice=%s" % (name, dtype, n, offset, slc)
		x = _inputs(dtype, n)
		before = _inputs(dtype, n, seed=1)

		def device(host):
			buffer = GPUArray.to_gpu(np.concatenate([np.zeros(offset // dtype.itemsize, dtype), host]))
			return buffer.at(offset, (n, )), buffer

		(xd, _), (outd, _) = device(x), device(before)
		forward(outd, xd, *args, slice=slc)
		y = outd.get()
		_check(y, before, reference.forward(name, x, args), slc, "forward " + context)

		dy = _inputs(dtype, n, seed=2)
		(dyd, _), (yd, _), (gradd, _) = device(dy), device(y), device(before)
		backward(gradd, dyd, yd, *args, slice=slc)
		_check(gradd.get(), before, _backwardReference(name, dy, y, args), slc, "backward " + context)

		variants |= {variant for variant, _ in _launches(forward)}

	assert variants == {"vector", "strided"}


def test_the_emulators_half_conversions_are_numpys(prebuilt):
	import ctypes
	lib = fakepycuda.builder().build("#include <cuda_fp16.h>\n")
	toFloat, toHalf = lib.fake_half_to_float, lib.fake_float_to_half_rn
	toFloat.argtypes, toFloat.restype = [ctypes.c_ushort], ctypes.c_float
	toHalf.argtypes, toHalf.restype = [ctypes.c_float], ctypes.c_ushort

	halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
	widened = np.array([toFloat(int(bits)) for bits in halves.view(np.uint16)], dtype=np.float32)
	assert np.array_equal(widened, halves.astype(np.float32), equal_nan=True)

	# every half, the midpoints between neighbours (ties go to even) and a step either side of them
	finite = np.sort(halves[np.isfinite(halves)].astype(np.float32))
	midpoints = (finite[:-1].astype(np.float64) + finite[1:]) / 2
	floats = np.concatenate([finite, midpoints.astype(np.float32), np.nextafter(midpoints.astype(np.float32), 0),
		np.nextafter(midpoints.astype(np.float32), np.inf), np.float32([65520, 65519.99, 1e30, -1e30, np.inf, -np.inf])])
	with np.errstate(over="ignore"):
		expected = floats.astype(np.float16)
	got = np.array([toHalf(float(value)) for value in floats], dtype=np.uint16).view(np.float16)
	assert np.array_equal(got.view(np.uint16), expected.view(np.uint16))
	assert np.isnan(np.array([toHalf(math.nan)], dtype=np.uint16).view(np.float16)[0])


def test_emulated_inplace_calls(emulated):
	fake, GPUArray, ElementWise = emulated
	dtype = np.dtype(np.float16)
	x = _inputs(dtype, 1000)
	data = GPUArray.to_gpu(x)

	ElementWise.kernel(TABLE["tanh"], dtype)(data, data)
	reference.assertClose(data.get(), reference.forward("tanh", x), "inplace tanh")


def test_emulated_kernel_on_an_element_writes_into_its_array(emulated):
	"""pycuda's x[i] is a 0-d view (4 bytes in: not 16-byte aligned), as the CPU backend's is."""
	fake, GPUArray, ElementWise = emulated
	data = GPUArray.to_gpu(np.array([-1.0, -2.0, 3.0], dtype=np.float32))

	element = data[1]
	assert element.shape == () and element.ptr == data.ptr + 4
	ElementWise.kernel(TABLE["relu"], np.dtype(np.float32))(element, element)
	assert data.get().tolist() == [-1.0, 0.0, 3.0]

# }}}


# {{{ arrays and the pool

def test_pool_is_an_allocator_with_both_spellings(cuda):
	fake, GPUArray, _ = cuda
	pool = GPUArray.memoryPool

	assert isinstance(pool, fake.tools.DeviceMemoryPool)
	a = GPUArray.empty((100, ), dtype=np.float32, allocator=pool)
	b = GPUArray.to_gpu(np.ones(10, np.float16), allocator=pool)
	assert pool.active_blocks == pool.activeBlocks == 2 and pool.heldBytes == 0

	del a, b
	assert pool.heldBlocks == 2 and pool.heldBytes > 0
	GPUArray.empty((100, ), dtype=np.float32, allocator=pool)        # reuses a held block (then frees it)

	pool.freeHeld()
	assert pool.held_blocks == 0 and pool.heldBytes == 0


def test_empty_arrays_are_what_pycudas_constructor_makes(cuda):
	"""empty takes an array's attributes from the first of its shape and dtype: every later one is
	still what pycuda's constructor makes, with its own memory and the allocator it was given."""
	fake, GPUArray, _ = cuda
	pool = GPUArray.memoryPool

	def attributes(ary):
		return {name: value for name, value in vars(ary).items() if name != "gpudata"}

	for shape, dtype in (((3, 4), np.float32), ((0, ), np.float16), ((), np.float64), ((2, 0, 5), np.float32)):
		first = GPUArray.empty(shape, dtype, allocator=pool)
		later = [GPUArray.empty(shape, dtype, allocator=pool), GPUArray.empty(shape, dtype)]
		for ary, allocator in zip([first] + later, (pool, pool, fake.driver.mem_alloc)):
			assert type(ary) is fake.gpuarray.GPUArray
			assert attributes(ary) == attributes(fake.gpuarray.GPUArray(shape, dtype, allocator=allocator))

		if first.size:
			assert len({ary.ptr for ary in [first] + later}) == 3
		else:
			assert all(ary.gpudata is None for ary in [first] + later)


def test_arrays_and_helpers(cuda):
	fake, GPUArray, _ = cuda
	host = np.asfortranarray(np.arange(12, dtype=np.float32).reshape(3, 4))

	a = GPUArray.to_gpu(host)
	assert isinstance(a, fake.gpuarray.GPUArray) and GPUArray.isContiguous(a)     # C order, as on the CPU backend
	assert np.array_equal(a.get(), host)

	assert np.array_equal(GPUArray.zeros((5, ), dtype=np.float64).get(), np.zeros(5))
	b = GPUArray.copy(None, a)
	assert b.ptr != a.ptr and np.array_equal(b.get(), host)

	c = GPUArray.empty((12, ), dtype=np.float32)
	assert GPUArray.copy(c, a) is c and np.array_equal(c.get(), host.ravel())
	with pytest.raises(ValueError):
		GPUArray.copy(GPUArray.empty((5, ), dtype=np.float32), a)
	with pytest.raises(TypeError):
		GPUArray.to_gpu([1.0, 2.0])

	assert GPUArray.getDeviceName() == "Fake host GPU 0"
	assert GPUArray.dtypesSupported() == [(np.float32, 1e-5), (np.float16, 1e-2), (np.float64, 1e-8)]
	GPUArray.synchronize()
	assert fake.driver.Context.synchronized == 1

# }}}


# {{{ driver errors become ConfigError

@pytest.fixture
def driver(monkeypatch):
	from PuzzleLib.Cuda import Driver
	fake = fakepycuda.install(monkeypatch)
	monkeypatch.setattr(Driver, "context", None)
	monkeypatch.setattr(Driver, "device", None)
	monkeypatch.setattr(Driver.atexit, "register", lambda function: function)
	return fake, Driver


def test_driver_initialises_the_chosen_device(driver):
	fake, Driver = driver
	context = Driver.initialise(0)
	assert context is fake.driver.Context.current and Driver.device.name() == "Fake host GPU 0"
	assert Driver.initialise(0) is context


def test_driver_errors_are_config_errors(driver, monkeypatch):
	fake, Driver = driver

	def fail(*args):
		raise fake.driver.Error("cuInit failed: no CUDA-capable device is detected")

	monkeypatch.setattr(fake.driver, "init", fail)
	with pytest.raises(Config.ConfigError, match="did not initialise"):
		Driver.initialise(0)


def test_a_driver_of_an_older_cuda_major_version_is_a_config_error(driver, monkeypatch):
	fake, Driver = driver
	monkeypatch.setattr(fake.driver, "get_driver_version", lambda: 12080)
	with pytest.raises(Config.ConfigError, match=r"driver supports CUDA 12\.8, older than the CUDA 13 toolkit"):
		Driver.initialise(0)


def test_a_newer_minor_version_of_the_driver_is_accepted(driver, monkeypatch):
	fake, Driver = driver
	monkeypatch.setattr(fake.driver, "get_driver_version", lambda: 13020)
	Driver.initialise(0)
	assert "compute capability 8.0" in Driver.describe() and "driver CUDA 13.2" in Driver.describe()


def test_device_index_and_count_are_checked(driver, monkeypatch):
	fake, Driver = driver
	with pytest.raises(Config.ConfigError, match="deviceIdx=3"):
		Driver.initialise(3)

	monkeypatch.setattr(fake.driver.Device, "devices", 0)
	with pytest.raises(Config.ConfigError, match="no CUDA device"):
		Driver.initialise(0)


def test_context_errors_are_config_errors(driver, monkeypatch):
	fake, Driver = driver

	def fail(self):
		raise fake.driver.Error("cuDevicePrimaryCtxRetain failed: out of memory")

	monkeypatch.setattr(fake.driver.Device, "retain_primary_context", fail)
	with pytest.raises(Config.ConfigError, match="device 0 did not initialise"):
		Driver.initialise(0)


def test_missing_driver_library_is_a_config_error(driver, monkeypatch):
	"""pycuda's extension links libcuda.so.1; without an NVIDIA driver its import fails so."""
	import importlib.abc, importlib.machinery, sys
	fake, Driver = driver

	class NoDriver(importlib.abc.MetaPathFinder, importlib.abc.Loader):
		def find_spec(self, name, path, target=None):
			return importlib.machinery.ModuleSpec(name, self) if name == "pycuda.driver" else None

		def create_module(self, spec):
			raise ImportError("libcuda.so.1: cannot open shared object file: No such file or directory")

		def exec_module(self, module):
			pass

	monkeypatch.delitem(sys.modules, "pycuda.driver")
	monkeypatch.delattr(fake.pycuda, "driver")
	monkeypatch.setattr(sys, "meta_path", [NoDriver()] + sys.meta_path)

	with pytest.raises(Config.ConfigError, match="no NVIDIA driver on this machine, libcuda.so.1: .*; without a GPU, leave out the cuda extra and use the CPU backend"):
		Driver.initialise(0)

# }}}


def test_missing_pycuda_is_a_config_error(monkeypatch):
	import sys
	from PuzzleLib.Cuda import Driver

	class NotInstalled:
		def find_spec(self, name, path, target=None):
			if name.split(".")[0] == "pycuda":
				raise ModuleNotFoundError("No module named 'pycuda'", name="pycuda")

	for name in [name for name in sys.modules if name.split(".")[0] == "pycuda"]:
		monkeypatch.delitem(sys.modules, name)
	monkeypatch.setattr(sys, "meta_path", [NotInstalled()] + sys.meta_path)
	monkeypatch.setattr(Driver, "context", None)

	with pytest.raises(Config.ConfigError, match=r"pycuda is not installed; .*pip install"):
		Driver.initialise(0)


def test_a_pycuda_that_fails_to_import_is_a_config_error(driver, monkeypatch):
	import sys
	fake, Driver = driver
	monkeypatch.setitem(sys.modules, "pycuda.driver", None)   # ImportError, not about libcuda or a missing pycuda
	monkeypatch.delattr(fake.pycuda, "driver")
	monkeypatch.setattr(Driver, "driverMissing", lambda: None)
	with pytest.raises(Config.ConfigError, match="does not import"):
		Driver.initialise(0)


def test_a_pycuda_linked_against_a_stub_on_a_machine_without_driver_says_so(driver, monkeypatch):
	import sys
	fake, Driver = driver

	class StubLinked:
		def find_spec(self, name, path, target=None):
			if name == "pycuda.driver":
				raise ImportError("_driver.cpython-311-x86_64-linux-gnu.so: undefined symbol: cuArrayCreate_v2")

	monkeypatch.delitem(sys.modules, "pycuda.driver")
	monkeypatch.delattr(fake.pycuda, "driver")
	monkeypatch.setattr(sys, "meta_path", [StubLinked()] + sys.meta_path)
	monkeypatch.setattr(Driver, "driverMissing", lambda: "libcuda.so.1: cannot open shared object file")

	with pytest.raises(Config.ConfigError, match="no NVIDIA driver on this machine, libcuda.so.1: .*leave out the cuda extra"):
		Driver.initialise(0)


def test_driver_missing_reports_the_loaders_reason(monkeypatch):
	import ctypes
	from PuzzleLib.Cuda import Driver

	def refuse(name):
		raise OSError("%s: cannot open shared object file: No such file or directory" % name)

	monkeypatch.setattr(ctypes, "CDLL", refuse)
	assert "cannot open shared object file" in Driver.driverMissing()

	monkeypatch.setattr(ctypes, "CDLL", lambda name: object())
	assert Driver.driverMissing() is None


# {{{ random entries, the generator and the row kernels, emulated

def test_emulated_dropout_is_the_cpu_stream_bit_for_bit(emulated):
	"""One key and counter give the same dropout output on the emulated CUDA kernels (both variants,
	every dtype) as on the CPU backend's stream (Kernels/Philox.py, checked against the plain
	Philox in test_philox)."""
	from PuzzleLib.Kernels import Philox
	fake, GPUArray, ElementWise = emulated

	for dtype in Source.DTYPES:
		ker = ElementWise.kernel(TABLE["dropout"], dtype)
		x = _inputs(dtype, 1003)
		key, counter, p = (1 << 64) - 3, 12345, 0.3
		compute = np.float64 if dtype == np.float64 else np.float32
		with np.errstate(all="ignore"):
			expected = np.where(
				Philox.uniform(key, counter, np.arange(1003)) < p, 0, x.astype(compute) * compute(1 / (1 - p))
			).astype(dtype)

		# aligned from a block (a draw per four elements), aligned inside a block (a draw per element:
		# both arrays start 2 elements short of 16 bytes), misaligned, stepped
		shortOf16 = (16 - 2 * dtype.itemsize) % 16
		layouts = ((0, 0, None), (0, 0, slice(4, 1000)), (shortOf16, shortOf16, slice(2, None)),
			(dtype.itemsize, 0, None), (0, 0, slice(3, None, 7)))

		for offset, outOffset, slc in layouts:
			def device(host, offset):
				buffer = GPUArray.to_gpu(np.concatenate([np.zeros(offset // dtype.itemsize, dtype), host]))
				return buffer.at(offset, (1003, )), buffer

			(xd, _), (out, _) = device(x, offset), device(np.zeros(1003, dtype), outOffset)
			ker(out, xd, p, 1 / (1 - p), key, counter, slice=slc)

			inside = np.zeros(1003, dtype=bool)
			inside[slc if slc is not None else slice(None)] = True
			got = out.get()
			assert got[inside].tobytes() == expected[inside].tobytes(), (dtype, offset, slc)
			assert not got[~inside].any()

		assert {variant for variant, _ in _launches(ker)} == {"vector", "strided"}


def test_emulated_generator_kernels(emulated):
	"""globalRng's kernels on CUDA: the raw words and the uniform and normal fills (PhiloxRng itself,
	which only reserves counters, is the same class on every backend)."""
	from PuzzleLib.Kernels import Philox
	fake, GPUArray, ElementWise = emulated

	words = GPUArray.empty((1001, ), dtype=np.uint32)
	ElementWise.philoxWords()(words, 5, 7)
	assert np.array_equal(words.get(), Philox.words(5, 7, np.arange(1001)))

	uniforms = GPUArray.empty((77, ), dtype=np.float32)
	ElementWise.kernel(TABLE["fillUniform"], np.dtype(np.float32))(uniforms, 0.0, 1.0, 5, 251)
	assert np.array_equal(uniforms.get(), Philox.uniform(5, 251, np.arange(77)))

	normals = GPUArray.empty((64, ), dtype=np.float32)
	ElementWise.kernel(TABLE["fillNormal"], np.dtype(np.float32))(normals, 0.0, 1.0, 5, 271)
	# float sines and cosines of a float angle: close in absolute terms, not in ulp near a zero
	assert np.allclose(normals.get(), Philox.normal(5, 271, np.arange(64)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("shape", [(3, 7, 5), (5, 300, 1), (4, 7, 1), (3, 1, 1)])
def test_emulated_row_kernels(emulated, monkeypatch, shape):
	"""Rows of a matrix (S == 1) run a block per row, the grid capped at 2 blocks here so that rows
	lie beyond it (the grid-stride loop takes them); S > 1 runs a thread per row (n, s)."""
	import importlib, sys
	fake, GPUArray, ElementWise = emulated
	monkeypatch.delitem(sys.modules, "PuzzleLib.Cuda.Rows", raising=False)
	Rows = importlib.import_module("PuzzleLib.Cuda.Rows")       # on the fake pycuda
	monkeypatch.delitem(sys.modules, "PuzzleLib.Cuda.Rows")
	monkeypatch.setattr(Rows, "blocksCap", lambda: 2)

	rng = np.random.default_rng(4)
	N, C, S = shape
	for dtype in Source.DTYPES:
		x = (rng.standard_normal(shape) * 20).astype(dtype)
		x[0, :, -1] = -np.inf
		x[-1, C // 2, 0] = -np.inf
		x[1, ::3, 0] = np.round(x[1, ::3, 0])
		x[1, 1:, 0] = x[1, 0, 0]           # ties: the first index wins
		x[2, -1, -1] = np.nan

		y = GPUArray.empty(x.shape, dtype=dtype)
		Rows.kernel("softmax", dtype)(GPUArray.to_gpu(x), y, N=N, C=C, S=S)
		wide = x.astype(np.float64)
		top = wide.max(axis=1, keepdims=True)
		with np.errstate(invalid="ignore"):
			e = np.exp(wide - np.where(np.isneginf(top), 0, top))
			e = np.where(np.isneginf(top), 1.0, e)
			reference.assertClose(y.get(), e / e.sum(axis=1, keepdims=True), "softmax %s" % dtype, bound=8)

		g = rng.standard_normal(x.shape).astype(dtype)
		dx = GPUArray.empty(x.shape, dtype=dtype)
		Rows.kernel("softmax_backward", dtype)(y, GPUArray.to_gpu(g), dx, N=N, C=C, S=S)
		yv, gv = y.get().astype(np.float64), g.astype(np.float64)
		with np.errstate(invalid="ignore"):
			expected = yv * (gv - (gv * yv).sum(axis=1, keepdims=True))
		assert np.allclose(dx.get().astype(np.float64), expected, rtol=1e-2 if dtype == np.float16 else 1e-5, atol=1e-3, equal_nan=True)

		out = GPUArray.empty((N, S), dtype=np.int32)
		Rows.kernel("argmax", dtype)(GPUArray.to_gpu(x), out, N=N, C=C, S=S)
		assert np.array_equal(out.get(), x.argmax(axis=1))

		vec = rng.standard_normal(C).astype(dtype)
		added = GPUArray.empty(x.shape, dtype=dtype)
		Rows.kernel("add_vec", dtype)(GPUArray.to_gpu(vec), GPUArray.to_gpu(x), added, N=N, C=C, S=S)
		compute = np.float64 if dtype == np.float64 else np.float32
		with np.errstate(invalid="ignore"):
			expected = (x.astype(compute) + vec.astype(compute)[None, :, None]).astype(dtype)
		assert added.get().tobytes() == expected.tobytes()

		for name in ("softmax", "softmax_backward", "argmax"):
			launched = Rows.function(name + "_rows" if S == 1 else name, dtype).calls[-1]
			if S == 1:
				assert launched[0] == (min(N, 2), 1) and launched[1] == ({300: 256, 7: 32, 1: 32}[C], 1, 1)

# }}}
