"""The elementwise table's general entries: several in-place outputs, operands of a fixed dtype beside
the kernel's, on every path (compiled C, numpy, emulated CUDA), as an optimizer's update needs."""

import numpy as np
import pytest

from harness import assertSameBits


def adamLike():
	from PuzzleLib.Kernels.ElementwiseOp import IN, INOUT, ElementwiseOp, Operand

	def formula(m, param, grad, mg, ms, lr, fix1, fix2, epsilon):
		mg = (1 - fix1) * mg + fix1 * grad
		ms = (1 - fix2) * ms + fix2 * grad * grad
		return param + lr * mg / (m.sqrt(ms) + epsilon), mg, ms

	return ElementwiseOp(
		"adamLike", (Operand("param", INOUT), Operand("grad", IN), Operand("mg", INOUT, np.float32),
			Operand("ms", INOUT, np.float32)),
		params=("lr", "fix1", "fix2", "epsilon"), formula=formula
	)


ARGS = (1e-3, 0.1, 0.001, 1e-8)


def inputs(dtype, n=1003):
	rng = np.random.default_rng(0)
	return (rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype),
		rng.standard_normal(n).astype(np.float32) * 0.1, rng.random(n).astype(np.float32))


def referenceUpdate(param, grad, mg, ms):
	"""The update in float64, written plainly."""
	lr, fix1, fix2, epsilon = ARGS
	param, grad, mg, ms = (np.asarray(a, dtype=np.float64) for a in (param, grad, mg, ms))
	mg = (1 - fix1) * mg + fix1 * grad
	ms = (1 - fix2) * ms + fix2 * grad ** 2
	return param + lr * mg / (np.sqrt(ms) + epsilon), mg, ms


def check(results, dtype, host):
	expected = referenceUpdate(*host)
	for got, want, what in zip(results, expected, ("param", "mg", "ms")):
		# float32 arithmetic (float64 for float64 kernels), rounded to the operand's dtype
		tol = 2e-3 if (what == "param" and dtype == np.float16) else 1e-6
		assert np.allclose(got.astype(np.float64), want, rtol=tol, atol=tol * np.abs(want).max()), what


def test_an_entry_declares_its_operands():
	from PuzzleLib.Kernels.ElementwiseOp import Operand
	op = adamLike()
	assert [operand.name for operand in op.arrays] == ["param", "grad", "mg", "ms"]
	assert [operand.name for operand in op.written] == ["param", "mg", "ms"]
	assert op.arrayDtypes(np.float16) == (np.dtype(np.float16), np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float32))
	with pytest.raises(ValueError):
		op.results((1.0, 2.0))
	with pytest.raises(ValueError):
		Operand("x", "output")


@pytest.mark.parametrize("dtype", [np.float32, np.float16, np.float64])
def test_cpu_paths_update_in_place(backend, dtype, tmp_path):
	if backend != "cpu":
		pytest.skip("the CPU kernel paths are CPU-backend internals")

	from PuzzleLib.CPU import ElementWise, HostCompiler, Source
	from PuzzleLib.CPU.GPUArray import to_gpu

	op, dtype = adamLike(), np.dtype(dtype)
	cc = HostCompiler.findCompiler()
	if cc is None:
		pytest.skip("no host C compiler")
	library = HostCompiler.load(
		"\n".join([Source.PRELUDE, Source.INLINE_MATH, Source.HALF_FLOAT, Source.THREAD_POOL, Source.RUN_SOURCE,
			Source.kernelSource(op, dtype)]), cc,
		warn=lambda message: None
	)

	outcomes = []
	for kernel in (ElementWise.CompiledKernel(op, dtype, library), ElementWise.NumpyKernel(op, dtype)):
		host = inputs(dtype)
		arrays = [to_gpu(a.copy()) for a in host]
		kernel(*arrays, *ARGS)
		results = [arrays[0].get(), arrays[2].get(), arrays[3].get()]
		assert arrays[1].get().tobytes() == host[1].tobytes()          # the input is left alone
		check(results, dtype, host)
		outcomes.append(results)

	# the two paths compute in the same float type; they differ at most in the last bit of a sqrt or a fused multiply-add
	for compiled, numpy in zip(*outcomes):
		assert np.allclose(compiled.astype(np.float64), numpy.astype(np.float64), rtol=1e-3 if dtype == np.float16 else 1e-6)


def test_refused_operands(backend):
	if backend != "cpu":
		pytest.skip("the CPU kernel paths are CPU-backend internals")

	from PuzzleLib.CPU import ElementWise
	from PuzzleLib.CPU.GPUArray import to_gpu
	from PuzzleLib.Kernels.Launch import KernelError

	kernel = ElementWise.NumpyKernel(adamLike(), np.dtype(np.float16))
	param, grad, mg, ms = (to_gpu(a) for a in inputs(np.float16))
	with pytest.raises(KernelError, match=r"operand 2 \(mg\) has dtype float16, the kernel takes float32"):
		kernel(param, grad, to_gpu(inputs(np.float16)[0]), ms, *ARGS)
	with pytest.raises(KernelError, match="overlaps operand"):
		kernel(param, grad, mg, mg, *ARGS)              # two written operands on one array
	with pytest.raises(KernelError, match="takes 4 arg"):
		kernel(param, grad, mg, ms, 1e-3)


def test_emulated_cuda_updates_in_place(monkeypatch):
	import fakepycuda
	if fakepycuda.hostCompiler() is None:
		pytest.skip("no host C++ compiler (g++) to emulate the kernels with")

	fake, GPUArray, ElementWise = fakepycuda.loadBackend(monkeypatch, emulate=True)
	op = adamLike()

	for dtype in (np.float32, np.float16, np.float64):
		dtype = np.dtype(dtype)
		kernel = ElementWise.kernel(op, dtype)
		for slc in (None, slice(1, None, 2)):
			host = inputs(dtype)
			arrays = [GPUArray.to_gpu(a.copy()) for a in host]
			kernel(*arrays, *ARGS, slice=slc)

			inside = np.zeros(1003, dtype=bool)
			inside[slc if slc is not None else slice(None)] = True
			results = [arrays[0].get(), arrays[2].get(), arrays[3].get()]
			check([r[inside] for r in results], dtype, [h[inside] for h in host])
			for got, before in zip(results, (host[0], host[2], host[3])):
				assertSameBits(got[~inside], before[~inside], "outside the slice")

		assert {variant for variant, function in kernel.functions.items() if function.calls} == {"vector", "strided"}


def test_nvcc_compiles_an_entry_with_mixed_dtypes(tmp_path):
	import shutil, subprocess
	from PuzzleLib.Cuda import Source

	nvcc = shutil.which("nvcc")
	if nvcc is None:
		pytest.skip("nvcc is not on PATH")

	op = adamLike()
	for dtype in (np.float16, np.float64):
		cu = tmp_path / ("adam_%s.cu" % np.dtype(dtype).name)
		cu.write_text(Source.prelude(dtype) + "\n".join(Source.moduleBody(op, dtype, variant) for variant in Source.VARIANTS))
		result = subprocess.run(
			[nvcc, "-ptx", "-arch=sm_80", *Source.NVCC_OPTIONS, "-o", str(cu.with_suffix(".ptx")), str(cu)],
			capture_output=True, text=True
		)
		assert result.returncode == 0 and "warning" not in result.stderr.lower(), result.stderr
		ptx = cu.with_suffix(".ptx").read_text()
		if dtype == np.float16:
			# the float32 moments move as 16-byte packs of 4, the float16 data as 8-byte packs of 4
			assert "ld.global.v4.f32" in ptx or "ld.global.nc.v4.f32" in ptx
