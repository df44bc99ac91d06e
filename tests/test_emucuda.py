"""The CUDA backend through the real pycuda, on the host-emulated driver (tests/emucuda/run).

These run only inside `tests/emucuda/run python -m pytest ...` (PUZZLELIB_EMUCUDA=1); elsewhere
they skip. What they show: the backend choice and its errors with the real pycuda, pycuda's
memory pool reusing blocks (counted by the driver), the argument packing of prepared calls,
every launch variant in bounds (each allocation ends at a guard page), float16 and float64, and
the driver's launch limits reaching the user as clear errors.
"""

import gc, ctypes, os, subprocess, sys, textwrap

import numpy as np
import pytest

import reference
from cases import cast, normal


EMULATED = bool(os.environ.get("PUZZLELIB_EMUCUDA"))

pytestmark = [
	pytest.mark.emucuda,
	pytest.mark.skipif(not EMULATED, reason="runs under tests/emucuda/run (the host-emulated CUDA driver)")
]

DEVICE_NAME = "NVIDIA H100 (emulated on the host)"


class Stats(ctypes.Structure):
	_fields_ = [(name, ctypes.c_ulonglong) for name in (
		"allocCalls", "freeCalls", "liveAllocations", "bytesInUse", "launches", "faults"
	)]


def driverStats():
	"""The emulated driver's counters: the very libcuda.so.1 pycuda's extension is linked to."""
	stats = Stats()
	ctypes.CDLL("libcuda.so.1").emucuda_get_stats(ctypes.byref(stats))
	return stats


def python(code, **env):
	"""Runs code in a fresh interpreter with env over this one's (None removes a variable)."""
	environ = dict(os.environ)
	for name, value in env.items():
		if value is None:
			environ.pop(name, None)
		else:
			environ[name] = value
	return subprocess.run(
		[sys.executable, "-c", textwrap.dedent(code)], env=environ, capture_output=True, text=True, timeout=300
	)


@pytest.fixture(scope="module")
def cuda():
	from PuzzleLib import Backend
	assert Backend.isCuda, "tests/emucuda/run sets PUZZLELIB_BACKEND=cuda"
	from PuzzleLib.Backend import gpuarray
	return gpuarray


# {{{ the real pycuda, and the backend's choice

def test_the_backend_runs_on_the_real_pycuda(cuda):
	import pycuda
	import pycuda._driver
	import pycuda.driver as drv
	from pycuda.gpuarray import GPUArray

	assert pycuda.VERSION >= (2026, 1)
	assert pycuda._driver.__file__.endswith(".so")           # the compiled extension, not a stand-in
	assert cuda.GPUArray is GPUArray
	assert cuda.getDeviceName() == DEVICE_NAME
	assert drv.Context.get_device().compute_capability() == (9, 0)


def test_the_automatic_choice_picks_cuda_and_logs_the_device():
	result = python("""
		from PuzzleLib import Backend
		print(Backend.current.name)
	""", PUZZLELIB_BACKEND=None)
	assert result.returncode == 0, result.stderr
	assert result.stdout.strip() == "cuda"
	assert "using the cuda backend on device 0: %s, compute capability 9.0, 132 SMs, driver CUDA" % (
		DEVICE_NAME
	) in result.stderr and "chosen automatically" in result.stderr, result.stderr


SELECT = """
	from PuzzleLib import Config
	try:
		from PuzzleLib import Backend
	except Config.ConfigError as e:
		print("ConfigError:", e)
	else:
		print("backend", Backend.current.name)
"""


def test_no_device_is_a_config_error_and_the_automatic_choice_falls_back_to_cpu():
	result = python(SELECT, PUZZLELIB_EMUCUDA_NO_DEVICE="1")
	assert result.stdout.startswith("ConfigError: the CUDA driver did not initialise"), result.stdout + result.stderr
	assert "no CUDA-capable device" in result.stdout

	result = python(SELECT, PUZZLELIB_EMUCUDA_NO_DEVICE="1", PUZZLELIB_BACKEND=None)
	assert result.stdout.strip() == "backend cpu", result.stdout + result.stderr
	assert "chosen automatically since cuda is not usable: the CUDA driver did not initialise" in result.stderr


def test_a_driver_too_old_for_pycudas_toolkit_is_a_config_error():
	import pycuda.driver as drv
	built = drv.get_version()[0]

	result = python(SELECT, PUZZLELIB_EMUCUDA_DRIVER_VERSION=str((built - 1) * 1000 + 80))
	assert result.stdout.startswith(
		"ConfigError: the NVIDIA driver supports CUDA %d.8, older than the CUDA %d toolkit pycuda was built with" % (
			built - 1, built
		)
	), result.stdout + result.stderr

# }}}


# {{{ memory

def test_the_pool_reuses_blocks_and_free_held_returns_them(cuda):
	pool = cuda.memoryPool
	gc.collect()
	pool.freeHeld()
	before = driverStats()

	for _ in range(1000):
		a = cuda.empty((1000, ), dtype=np.float32, allocator=pool)
		b = cuda.zeros((3, 7), dtype=np.float64, allocator=pool)
		del a, b

	during = driverStats()
	assert during.allocCalls - before.allocCalls <= 2      # one per bin; pycuda asked the driver no more
	assert pool.heldBlocks >= 2 and pool.activeBlocks == 0

	pool.freeHeld()
	after = driverStats()
	assert pool.heldBlocks == 0 and pool.heldBytes == 0
	# earlier tests' arrays may be collected meanwhile and go back with these: never more live than before
	assert after.liveAllocations <= before.liveAllocations
	assert after.freeCalls - during.freeCalls == during.liveAllocations - after.liveAllocations >= 2


def test_pooled_arrays_alive_at_exit_go_back_without_aborting_the_process():
	"""A script's module-level arrays are freed after atexit: the pool must not need a current
	context then (pycuda aborts from a destructor when it does)."""
	result = python("""
		import numpy as np
		from PuzzleLib.Backend import gpuarray
		kept = gpuarray.empty((100, ), dtype=np.float32, allocator=gpuarray.memoryPool)
		freed = gpuarray.empty((100, ), dtype=np.float32, allocator=gpuarray.memoryPool)
		del freed
		print("done")
	""")
	assert result.returncode == 0 and result.stdout == "done\n", result.stderr
	assert "terminate" not in result.stderr and "WARNING" not in result.stderr, result.stderr


def test_out_of_device_memory_is_pycudas_memory_error():
	result = python("""
		import numpy as np
		import pycuda.driver as drv
		from PuzzleLib.Backend import gpuarray
		try:
			gpuarray.empty((1 << 20, ), dtype=np.float32)
		except drv.MemoryError as e:
			print("MemoryError", e)
		a = gpuarray.empty((1 << 10, ), dtype=np.float32)
		print("then", a.nbytes)
	""", PUZZLELIB_EMUCUDA_MEMORY=str(1 << 20))
	assert result.returncode == 0, result.stderr
	assert "MemoryError cuMemAlloc failed: out of memory" in result.stdout and "then 4096" in result.stdout, result.stdout

# }}}


# {{{ launches

ECHO = r"""
extern "C" __global__ void echo(unsigned long long *out, const float *p0, const float *p1,
	long long start, long long step, long long count, %(param)s a, %(param)s b)
{
	if (blockIdx.x == 0 && threadIdx.x == 0) {
		out[0] = (unsigned long long)p0;
		out[1] = (unsigned long long)p1;
		out[2] = (unsigned long long)start;
		out[3] = (unsigned long long)step;
		out[4] = (unsigned long long)count;
		%(param)s both[2] = {a, b};
		memcpy(out + 5, both, sizeof both);
	}
}
"""


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_prepared_calls_pack_pointers_int64_counts_and_params(cuda, dtype):
	"""A kernel with a strided kernel's parameters (and an output first) echoes what it got."""
	from pycuda.compiler import SourceModule
	from PuzzleLib.Cuda import Source
	from PuzzleLib.Kernels.Table import TABLE

	param = "float" if dtype == np.float32 else "double"
	function = SourceModule(ECHO % {"param": param}, no_extern_c=True).get_function("echo")
	function.prepare(Source.argFormat(TABLE["clipDer"], np.dtype(dtype), "strided"))

	out = cuda.zeros((8, ), dtype=np.uint64)
	x, y = cuda.zeros((4, ), dtype=dtype), cuda.zeros((4, ), dtype=dtype)
	a, b = -1.5, 1.0 / 3.0
	function.prepared_call((1, 1), (32, 1, 1), out.ptr, x.ptr, y.ptr, -(1 << 40), -3, (1 << 33) + 5, a, b)
	got = out.get()

	assert got[0] == x.ptr and got[1] == y.ptr
	assert got[2:5].astype(np.int64).tolist() == [-(1 << 40), -3, (1 << 33) + 5]
	assert got[5:].view(dtype)[:2].tolist() == [a, float(np.array(b, dtype))]


SIZES = sorted({1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 127, 128, 129, 255, 256, 257, 512, 1023, 1024, 1025, 4099})


def layouts(size):
	"""(name, array length, slice): each array ends where its slice's last element does, so
	that (for sizes whose bytes fill their 256-byte rounding) the next byte is a guard page's."""
	return [
		("whole", size, slice(None)),
		("misaligned", size + 1, slice(1, None)),
		("aligned-start", size + 8, slice(8, None)),
		("stepped", 2 * size - 1, slice(None, None, 2)),
		("reversed", size, slice(None, None, -1)),
	]


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64], ids=["float16", "float32", "float64"])
def test_every_variant_across_sizes_around_the_vector_width_stays_in_bounds(cuda, dtype):
	"""The vector and strided kernels over whole arrays, misaligned and aligned offsets, steps and
	reversals, with and without tails: right values, nothing written outside the slice, and no
	access past any allocation (which would fault and lose the context)."""
	from PuzzleLib.Backend.Kernels.ElementWise import eluKer

	ker = eluKer(dtype)
	before = driverStats()
	for size in SIZES:
		for name, length, slc in layouts(size):
			host = normal(length, dtype, seed=size)
			x = cuda.to_gpu(host)
			out = cuda.to_gpu(np.full_like(host, np.nan))
			ker(out, x, 0.5, slice=slc)
			got = out.get()

			context = "%s %s size %d" % (np.dtype(dtype).name, name, size)
			reference.assertClose(got[slc], reference.forward("elu", host[slc], (0.5, )), context)
			untouched = np.ones(length, dtype=bool)
			untouched[slc] = False
			assert np.isnan(got[untouched].astype(np.float64)).all(), context + ": wrote outside its slice"

	cuda.synchronize()
	assert driverStats().faults == before.faults


def test_arrays_end_at_a_guard_page_so_an_overrun_is_an_illegal_address():
	"""The check above proves something only if an overrun faults: one that does, in its own process
	(a fault loses the context for good, as on a GPU)."""
	result = python("""
		import numpy as np
		import pycuda.driver as drv
		from pycuda.compiler import SourceModule
		from PuzzleLib.Backend import gpuarray
		over = SourceModule('__global__ void over(float *a, int n) { a[n + threadIdx.x] = 1.0f; }').get_function("over")
		a = gpuarray.zeros((1024, ), dtype=np.float32)
		over(a.gpudata, np.int32(1024), block=(256, 1, 1), grid=(1, 1))
		try:
			gpuarray.synchronize()
		except drv.Error as e:
			print(type(e).__name__, e)
	""")
	assert "an illegal memory access was encountered" in result.stdout, result.stdout + result.stderr


def test_a_launch_over_the_devices_limits_is_a_launch_error(cuda, monkeypatch):
	from PuzzleLib.Cuda import ElementWise, LaunchPlan
	from PuzzleLib.Backend.Kernels.ElementWise import reluKer

	ker = reluKer(np.float32)
	x = cuda.zeros((64, ), dtype=np.float32)
	monkeypatch.setattr(LaunchPlan, "BLOCK_SHAPE", (2048, 1, 1))
	with pytest.raises(ElementWise.LaunchError, match=r"relu\w* kernel \(vector\): the driver refused its launch "
		r"of grid \(1, 1\) x block \(2048, 1, 1\): .*invalid argument"):
		ker(x, x)
	monkeypatch.undo()

	ker(x, x)                      # the context lives on: a refused launch ran nothing
	cuda.synchronize()


def test_pycudas_own_kernels_run(cuda):
	"""GPUArray's fill, astype, arithmetic and strided get/set: pycuda's kernels and copies."""
	host = np.arange(24, dtype=np.float32).reshape(4, 6)
	a = cuda.to_gpu(host)
	b = a.astype(np.float64)
	assert b.dtype == np.float64 and (b.get() == host).all()
	assert ((a * 2 + 1).get() == host * 2 + 1).all()
	assert ((a - a).get() == 0).all()

	c = cuda.empty((4, 6), dtype=np.float32).fill(2.5)
	assert (c.get() == 2.5).all()

	view = a[:, 1::2]
	assert (view.get() == host[:, 1::2]).all()
	d = cuda.zeros((4, 3), dtype=np.float32)
	cuda.copy(d, view)
	assert (d.get() == host[:, 1::2]).all()

# }}}


# {{{ the cuBLAS stand-in

def test_the_cublas_stand_in_multiplies_column_major_with_transposes():
	cublas = ctypes.CDLL("libcublas.so.13")
	handle = ctypes.c_void_p()
	assert cublas.cublasCreate_v2(ctypes.byref(handle)) == 0

	rng = np.random.default_rng(5)
	m, n, k = 5, 3, 4
	for dtype, gemm, ctype in ((np.float32, cublas.cublasSgemm_v2, ctypes.c_float), (np.float64, cublas.cublasDgemm_v2, ctypes.c_double)):
		for transA in (0, 1):
			for transB in (0, 1):
				A = rng.standard_normal((m, k) if not transA else (k, m)).astype(dtype)
				B = rng.standard_normal((k, n) if not transB else (n, k)).astype(dtype)
				C = rng.standard_normal((m, n)).astype(dtype)
				# column-major: hand cuBLAS the transposed C-order buffers
				a, b, c = (np.asfortranarray(X) for X in (A, B, C))
				alpha, beta = ctype(0.75), ctype(-0.5)
				status = gemm(handle, transA, transB, m, n, k, ctypes.byref(alpha), a.ctypes.data_as(ctypes.c_void_p), a.shape[0],
					b.ctypes.data_as(ctypes.c_void_p), b.shape[0], ctypes.byref(beta), c.ctypes.data_as(ctypes.c_void_p), m)
				assert status == 0
				opA = A.T if transA else A
				opB = B.T if transB else B
				expected = 0.75 * (opA.astype(np.float64) @ opB.astype(np.float64)) - 0.5 * C.astype(np.float64)
				np.testing.assert_allclose(c, expected, rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-5 if dtype == np.float32 else 1e-13)

	assert cublas.cublasDestroy_v2(handle) == 0

# }}}


# {{{ beyond 2^31 elements

@pytest.mark.slow
def test_a_float16_strided_launch_over_2_to_the_31_elements(cuda):
	from PuzzleLib.Backend.Kernels.ElementWise import reluKer

	n = (1 << 31) + 40
	a = cuda.empty((n, ), dtype=np.float16)
	edge = np.array([-1, 2, -3, 4, -5, 6, -7, 8], dtype=np.float16)
	a[:8].set(edge)
	a[n - 8:].set(edge)

	reluKer(np.float16)(a, a, slice=slice(n - 1, None, -1))     # reversed: the strided kernel, count > 2^31
	cuda.synchronize()
	assert (a[:8].get() == np.maximum(edge, 0)).all() and (a[n - 8:].get() == np.maximum(edge, 0)).all()

# }}}

# vim: set foldmethod=marker:
