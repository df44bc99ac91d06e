"""The CUDA backend's Blas on the fake pycuda and the host cuBLAS stand-in (tests/fakecublas.py):
the library search, the entry point each dtype takes, the row-major mapping of every transpose,
alpha and beta, sums, vector updates and dot against float64 references. Not checked here: the
GPU and the real libcublas (the cuda-backend cases of test_blas run there)."""

import ctypes, importlib, os, sys

import numpy as np
import pytest

import fakecublas
import fakepycuda
from reference import assertProductClose


@pytest.fixture(scope="module")
def standIn():
	path = fakecublas.build()
	if path is None:
		pytest.skip("no host C++ compiler (g++) to build the cuBLAS stand-in with")
	return path


def boundBlas(monkeypatch, standIn, emulate):
	from PuzzleLib.Kernels.Blas import Blas

	monkeypatch.setenv("PUZZLELIB_CUBLAS", standIn)
	_, GPUArray, _ = fakepycuda.loadBackend(monkeypatch, emulate=emulate)

	modules = []
	for name in ("PuzzleLib.Cuda.Cublas", "PuzzleLib.Cuda.Blas"):
		monkeypatch.setitem(sys.modules, name, None)
		del sys.modules[name]
		modules.append(importlib.import_module(name))

	Cublas, ops = modules
	monkeypatch.setattr(Cublas.atexit, "register", lambda function: function)     # nothing outlives the test
	return Blas(ops, GPUArray), GPUArray, Cublas


@pytest.fixture
def cuda(monkeypatch, standIn):
	"""(Blas API, GPUArray module, Cublas module) bound to the fake pycuda and the stand-in."""
	yield boundBlas(monkeypatch, standIn, emulate=False)
	sys.modules["PuzzleLib.Cuda.Cublas"].release()


@pytest.fixture
def emulated(monkeypatch, standIn):
	"""As cuda, with the fake pycuda running the elementwise kernels it is handed (on the host)."""
	yield boundBlas(monkeypatch, standIn, emulate=True)
	sys.modules["PuzzleLib.Cuda.Cublas"].release()


def ranEntry(name):
	"""Whether the table entry's kernel was handed to the (fake) compiler."""
	sources = [module.source for module in fakepycuda.SourceModule.created]
	return any(('__global__ void %s_' % name) in source for source in sources)


def refuseGemms(monkeypatch):
	def refused(*args, **kwargs):
		raise AssertionError("an elementwise operation ran a GEMM")
	monkeypatch.setattr(sys.modules["PuzzleLib.Cuda.Blas"], "gemmRaw", refused)


def lastCall(Cublas):
	lib = Cublas.handle().lib
	function = lib.fake_cublas_last_call
	function.restype = ctypes.c_char_p
	return function().decode()


def normal(shape, dtype, seed):
	return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def wide(ary):
	return np.asarray(ary, dtype=np.float64)


ENTRY = {np.float32: "cublasSgemm_v2", np.float64: "cublasDgemm_v2", np.float16: "cublasGemmEx"}


@pytest.mark.parametrize("dtype", (np.float32, np.float16, np.float64), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("transpA", (False, True))
@pytest.mark.parametrize("transpB", (False, True))
def test_gemm_maps_row_major_onto_cublas(cuda, dtype, transpA, transpB):
	blas, GPUArray, Cublas = cuda
	m, k, n = 7, 33, 5
	A = normal((k, m) if transpA else (m, k), dtype, 1)
	B = normal((n, k) if transpB else (k, n), dtype, 2)
	C = normal((m, n), dtype, 3)

	out = GPUArray.to_gpu(C)
	blas.mulMatrixOnMatrix(GPUArray.to_gpu(A), GPUArray.to_gpu(B), out=out, transpA=transpA, transpB=transpB,
		alpha=1.5, beta=-0.5)
	assert lastCall(Cublas) == ENTRY[dtype]

	opA, opB = (A.T if transpA else A), (B.T if transpB else B)
	ref = 1.5 * wide(opA) @ wide(opB) - 0.5 * wide(C)
	assertProductClose(out.get(), ref, 1.5 * np.abs(wide(opA)) @ np.abs(wide(opB)) + 0.5 * np.abs(wide(C)), k + 2, dtype)


def test_gemm_beta_zero_does_not_read_out(cuda):
	blas, GPUArray, _ = cuda
	out = GPUArray.to_gpu(np.full((3, 2), np.nan, np.float32))
	blas.mulMatrixOnMatrix(GPUArray.to_gpu(normal((3, 4), np.float32, 4)), GPUArray.to_gpu(normal((4, 2), np.float32, 5)), out=out)
	assert np.isfinite(out.get()).all()


def test_gemm_with_empty_inner_dimension_scales_out(cuda):
	blas, GPUArray, _ = cuda
	out = GPUArray.to_gpu(np.full((3, 2), 4.0, np.float32))
	blas.mulMatrixOnMatrix(GPUArray.to_gpu(np.zeros((3, 0), np.float32)), GPUArray.to_gpu(np.zeros((0, 2), np.float32)),
		out=out, beta=0.5)
	assert np.array_equal(out.get(), np.full((3, 2), 2.0, np.float32))


@pytest.mark.parametrize("dtype", (np.float32, np.float16, np.float64), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("cols", (True, False))
def test_sum_on_matrix(cuda, dtype, cols):
	blas, GPUArray, _ = cuda
	A, C = normal((40, 9), dtype, 6), normal((9 if cols else 40, ), dtype, 7)
	out = GPUArray.to_gpu(C)
	blas.sumOnMatrix(GPUArray.to_gpu(A), out=out, cols=cols, alpha=2.0, beta=1.0)

	axis, terms = (0, 40) if cols else (1, 9)
	ref = 2 * wide(A).sum(axis=axis) + wide(C)
	assertProductClose(out.get(), ref, 2 * np.abs(wide(A)).sum(axis=axis) + np.abs(wide(C)), terms + 2, dtype)


@pytest.mark.parametrize("dtype", (np.float32, np.float16, np.float64), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("into", ("new", "x", "y", "x is y"))
def test_vector_updates_are_the_elementwise_entry(emulated, monkeypatch, dtype, into):
	blas, GPUArray, _ = emulated
	refuseGemms(monkeypatch)
	x, y = normal((6, 5), dtype, 8), normal((30, ), dtype, 9)
	X, Y = GPUArray.to_gpu(x), GPUArray.to_gpu(y)

	if into == "x is y":
		Y, y = X, x
	out = {"new": None, "x": X, "y": Y, "x is y": X}[into]

	result = blas.addVectorToVector(X, Y, out=out, alpha=0.5, beta=-2.0)
	assert ranEntry("addVectorToVector")
	ref = 0.5 * wide(x).ravel() - 2 * wide(y).ravel()
	assertProductClose(result.get().ravel(), ref, 0.5 * np.abs(wide(x)).ravel() + 2 * np.abs(wide(y)).ravel(), 2, dtype)


def test_to_vector_add_vector_is_the_elementwise_entry(emulated, monkeypatch):
	blas, GPUArray, _ = emulated
	refuseGemms(monkeypatch)
	x, y = normal((100, ), np.float32, 10), normal((100, ), np.float32, 11)
	Y = GPUArray.to_gpu(y)
	assert blas.toVectorAddVector(Y, GPUArray.to_gpu(x), alpha=3.0) is Y
	assert ranEntry("toVectorAddVector")
	assertProductClose(Y.get(), wide(y) + 3 * wide(x), np.abs(wide(y)) + 3 * np.abs(wide(x)), 2, np.float32)


@pytest.mark.parametrize("dtype", (np.float32, np.float16, np.float64), ids=lambda d: np.dtype(d).name)
def test_dot(cuda, dtype):
	blas, GPUArray, Cublas = cuda
	x, y = normal((300, ), dtype, 12), normal((300, ), dtype, 13)
	got = blas.dot(GPUArray.to_gpu(x), GPUArray.to_gpu(y))
	assert lastCall(Cublas) == ENTRY[dtype]
	compute = np.float64 if dtype == np.float64 else np.float32
	assertProductClose(got, wide(x) @ wide(y), np.abs(wide(x)) @ np.abs(wide(y)), 300, compute)


def test_handle_setup(cuda):
	_, _, Cublas = cuda
	handle = Cublas.handle()
	assert handle.version == 130000 and Cublas.handle() is handle


def test_cublas_status_becomes_an_error(cuda):
	_, _, Cublas = cuda
	handle = Cublas.handle()
	with pytest.raises(Cublas.CublasError, match="cublasSgemm_v2 failed: CUBLAS_STATUS_INVALID_VALUE"):
		handle.check(7, "cublasSgemm_v2")


# --- finding the library -------------------------------------------------------------------------

def test_search_order(monkeypatch, tmp_path):
	from PuzzleLib.Cuda import Cublas

	toolkit = tmp_path / "cuda"
	(toolkit / "lib64").mkdir(parents=True)
	(toolkit / "lib64" / "libcublas.so.13").write_bytes(b"")
	wheel = tmp_path / "site" / "nvidia" / "cublas" / "lib"
	wheel.mkdir(parents=True)
	(wheel / "libcublas.so.12").write_bytes(b"")

	monkeypatch.setenv("PUZZLELIB_CUBLAS", "/explicit/libcublas.so")
	monkeypatch.setenv("CUDA_PATH", str(toolkit))
	monkeypatch.delenv("CUDA_HOME", raising=False)
	monkeypatch.setattr(sys, "path", [str(tmp_path / "site")])
	monkeypatch.setattr(Cublas.site, "getsitepackages", lambda: [])
	monkeypatch.setattr(Cublas.site, "getusersitepackages", lambda: "")

	found = Cublas.candidates()
	assert found[:4] == ["/explicit/libcublas.so", "libcublas.so.13", "libcublas.so.12", "libcublas.so"]
	assert found.index(str(toolkit / "lib64" / "libcublas.so.13")) < found.index(str(wheel / "libcublas.so.12"))


def test_no_library_is_a_config_error(monkeypatch):
	from PuzzleLib import Config
	from PuzzleLib.Cuda import Cublas

	monkeypatch.delenv("PUZZLELIB_CUBLAS", raising=False)
	monkeypatch.setattr(Cublas, "candidates", lambda: ["libcublas-that-is-not-there.so", "libm.so.6"])
	with pytest.raises(Config.ConfigError, match="cuBLAS not found .*pip install nvidia-cublas.*libm.so.6 .*cublasCreate_v2"):
		Cublas.load()


def test_a_bad_explicit_library_is_named(monkeypatch):
	from PuzzleLib import Config
	from PuzzleLib.Cuda import Cublas

	monkeypatch.setenv("PUZZLELIB_CUBLAS", "libm.so.6")
	with pytest.raises(Config.ConfigError, match="PUZZLELIB_CUBLAS=libm.so.6 does not load as cuBLAS"):
		Cublas.load()


@pytest.mark.parametrize("dtype", (np.float32, np.float16, np.float64), ids=lambda d: np.dtype(d).name)
def test_broadcast_rows(cuda, dtype):
	blas, GPUArray, Cublas = cuda
	vec = normal((6, ), dtype, 14)
	out = GPUArray.to_gpu(np.full((1500, 6), np.nan, dtype))      # more rows than the first ones buffer
	blas.broadcastRows(GPUArray.to_gpu(vec), out)
	assert lastCall(Cublas) == ENTRY[dtype]
	assert np.array_equal(out.get(), np.tile(vec, (1500, 1)))
