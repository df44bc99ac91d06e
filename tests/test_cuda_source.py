"""The CUDA kernels' source, without a GPU: every kernel is generated and compiled by nvcc.

nvcc compiles, for each dtype and target, one translation unit of Source.checkSource: the dtype's
prelude once and then every module's body. Each module that pycuda compiles at run time is that
prelude plus one of those bodies (asserted below, and test_cuda_fake asserts that this text is
what reaches SourceModule), so every text the backend can compile has been compiled here.
"""

import os, re, shutil, subprocess, sys, tempfile
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from PuzzleLib.Cuda import Source
from PuzzleLib.Kernels.Table import TABLE


NVCC = shutil.which("nvcc")

# the oldest target this nvcc (13) still supports as PTX, and two real ones (A100, H100)
ARCHS = ("compute_75", "sm_80", "sm_90")

ALL_KERNELS = [(op, dtype, variant) for op in TABLE.values() for dtype in Source.DTYPES for variant in Source.VARIANTS]


def test_every_kernel_is_generated_with_a_unique_name():
	names = set()
	for op, dtype, variant in ALL_KERNELS:
		name = Source.kernelName(op, dtype, variant)
		text = Source.kernelSource(op, dtype, variant)

		assert text.startswith("__global__ void %s(" % name)
		assert text == Source.kernelSource(op, dtype, variant)     # a function of its arguments
		names.add(name)

	assert len(names) == len(ALL_KERNELS) == len(TABLE) * 3 * 2


def test_a_module_is_its_prelude_and_body_and_the_check_source_holds_every_body():
	for dtype in Source.DTYPES:
		prelude, bodies = Source.prelude(dtype), []

		for op in TABLE.values():
			for variant in Source.VARIANTS:
				body = Source.moduleBody(op, dtype, variant)
				assert Source.moduleSource(op, dtype, variant) == prelude + body
				assert Source.kernelSource(op, dtype, variant) in body
				bodies.append(body)

		assert Source.checkSource(dtype) == prelude + "\n".join(bodies)


def test_kernels_have_c_linkage_and_headers_do_not():
	source = Source.moduleSource(TABLE["elu"], np.float16, "vector")
	header, kernels = source.split('extern "C" {', 1)

	assert "#include <cuda_fp16.h>" in header           # C++ header: must stay outside extern "C"
	assert "__global__" not in header and kernels.count("__global__") == 1
	assert kernels.rstrip().endswith('} /* extern "C" */')


def test_float16_computes_in_float_and_rounds_once():
	text = Source.kernelSource(TABLE["sigmoid"], np.float16, "strided")
	assert "const float v_x = __half2float(a1[i]);" in text
	assert text.count("__float2half_rn(") == 1 and "double" not in text


def test_vector_kernels_move_16_bytes_per_access():
	for dtype, width in ((np.float32, 4), (np.float16, 8), (np.float64, 2)):
		assert Source.vectorWidth(dtype) * np.dtype(dtype).itemsize == 16
		assert "__align__(16) pack_%s_%d { %s v[%d]; };" % (
			Source.SHORT_NAME[np.dtype(dtype)], width, Source.STORAGE_CTYPE[np.dtype(dtype)], width
		) in Source.prelude(dtype)


def test_indices_are_64_bit():
	for variant in Source.VARIANTS:
		text = Source.kernelSource(TABLE["reluDer"], np.float32, variant)
		assert "(long long)blockIdx.x * blockDim.x" in text and "(long long)gridDim.x * blockDim.x" in text
		assert not re.search(r"\bint (i|k|v)\b", text)


def test_arg_formats_follow_the_signatures():
	assert Source.argFormat(TABLE["sigmoid"], np.float32, "vector") == "PPq"
	assert Source.argFormat(TABLE["sigmoidDer"], np.float16, "strided") == "PPPqqq"
	assert Source.argFormat(TABLE["clip"], np.float16, "strided") == "PPqqqff"
	assert Source.argFormat(TABLE["eluDer"], np.float64, "vector") == "PPPqd"
	# a random entry: the range's origin after n, the stream's key and counter after the params
	assert Source.argFormat(TABLE["dropout"], np.float32, "vector") == "PPqqffqq"
	assert Source.argFormat(TABLE["dropout"], np.float64, "strided") == "PPqqqddqq"


def test_no_fast_math():
	options = " ".join(Source.NVCC_OPTIONS)
	assert "fast_math" not in options and "fast-math" not in options
	assert "--ftz=false" in Source.NVCC_OPTIONS and "--prec-div=true" in Source.NVCC_OPTIONS


def test_generating_source_imports_no_gpu_code():
	code = (
		"import sys; import PuzzleLib.Cuda.Source, PuzzleLib.Cuda.LaunchPlan, PuzzleLib.Kernels.Launch; "
		"bad = [m for m in sys.modules if m.split('.')[0] == 'pycuda']; assert not bad, bad"
	)
	subprocess.run([sys.executable, "-c", code], check=True)


# {{{ nvcc

def _compile(dtype, arch, directory):
	dtype = np.dtype(dtype)
	cu = os.path.join(directory, "%s_%s.cu" % (dtype.name, arch))
	ptx = cu[:-3] + ".ptx"
	with open(cu, "w") as f:
		f.write(Source.checkSource(dtype))

	command = [NVCC, "-ptx", "-arch=%s" % arch, *Source.NVCC_OPTIONS, "-o", ptx, cu]
	result = subprocess.run(command, capture_output=True, text=True)
	if result.returncode != 0:
		return dtype, arch, None, "%s\n%s" % (" ".join(command), result.stderr)

	with open(ptx) as f:
		return dtype, arch, f.read(), result.stderr


@pytest.fixture(scope="module")
def compiled():
	"""{(dtype, arch): (ptx or None, nvcc's messages)}: 9 nvcc runs, as many at once as there are cores."""
	if NVCC is None:
		pytest.skip("nvcc is not on PATH: the CUDA kernels' compile check needs the CUDA toolkit's nvcc")

	directory = tempfile.mkdtemp(prefix="puzzlelib-nvcc-")
	try:
		with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
			jobs = [pool.submit(_compile, dtype, arch, directory) for dtype in Source.DTYPES for arch in ARCHS]
			return {(dtype, arch): (ptx, messages) for dtype, arch, ptx, messages in (job.result() for job in jobs)}
	finally:
		shutil.rmtree(directory, ignore_errors=True)


def _entries(ptx):
	"""{kernel name: its PTX} of every .entry in a PTX file."""
	parts = re.split(r"^\.visible \.entry (\w+)\(", ptx, flags=re.M)
	return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dtype", [dtype.name for dtype in Source.DTYPES])
def test_nvcc_compiles_every_kernel(compiled, dtype, arch):
	dtype = np.dtype(dtype)
	ptx, messages = compiled[dtype, arch]
	assert ptx is not None, "nvcc failed:\n" + messages
	assert "warning" not in messages.lower(), messages

	entries = _entries(ptx)
	expected = {Source.kernelName(op, dtype, variant) for op in TABLE.values() for variant in Source.VARIANTS}
	# unmangled names: extern "C" took, so pycuda's get_function finds them
	assert set(entries) == expected


@pytest.mark.parametrize("dtype", [dtype.name for dtype in Source.DTYPES])
def test_vector_kernels_compile_to_16_byte_loads_and_stores(compiled, dtype):
	dtype = np.dtype(dtype)
	ptx, messages = compiled[dtype, "sm_80"]
	assert ptx is not None, messages
	# a float16 kernel loads its halves 8 to a v4.u32; one with float32 state beside them (Adam's
	# and RMSProp's moments) steps 4 elements, so the state comes 4 to a v4.f32, the halves 4 to a v4.u16
	wide = {np.float32: r"v4\.f32", np.float16: r"v4\.(?:u32|b32|f32|u16)", np.float64: r"v2\.f64"}[dtype.type]

	for name, code in _entries(ptx).items():
		loads = re.findall(r"ld\.global(?:\.nc)?\.%s" % wide, code)
		stores = re.findall(r"st\.global\.%s" % wide, code)
		if name.endswith("_vector"):
			operands = len(TABLE[name.rsplit("_", 2)[0]].readable) - TABLE[name.rsplit("_", 2)[0]].isRandom
			assert len(loads) >= operands and len(stores) >= 1, name
		else:
			assert not loads and not stores, name


def test_float32_division_is_ieee(compiled):
	ptx, messages = compiled[np.dtype(np.float32), "sm_80"]
	assert ptx is not None, messages
	sigmoid = _entries(ptx)["sigmoid_f32_strided"]
	assert "div.rn.f32" in sigmoid
	assert "div.approx" not in ptx and "div.full" not in ptx

# }}}


def test_row_kernels_and_generator_compile_with_nvcc(tmp_path):
	"""The row kernels' module of every dtype and the generator's words module, through nvcc."""
	if NVCC is None:
		pytest.skip("nvcc is not on PATH: the CUDA kernels' compile check needs the CUDA toolkit's nvcc")

	sources = {"rows_%s" % np.dtype(dtype).name: Source.rowsSource(dtype) for dtype in Source.DTYPES}
	sources["words"] = Source.wordsSource()

	def build(item):
		name, text = item
		cu = tmp_path / ("%s.cu" % name)
		cu.write_text(text)
		command = [NVCC, "-ptx", "-arch=sm_80", *Source.NVCC_OPTIONS, "-o", str(cu.with_suffix(".ptx")), str(cu)]
		result = subprocess.run(command, capture_output=True, text=True)
		return name, result.returncode, result.stderr, cu.with_suffix(".ptx")

	with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
		for name, code, messages, ptx in pool.map(build, sources.items()):
			assert code == 0, "%s: %s" % (name, messages)
			assert "warning" not in messages.lower(), messages
			entries = set(_entries(ptx.read_text()))
			if name == "words":
				assert entries == {"philox_words"}
			else:
				dtype = np.dtype(name.split("_", 1)[1])
				assert entries == {Source.rowKernelName(kernel, dtype) for kernel in Source.ROW_KERNELS}
