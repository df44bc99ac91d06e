"""CUDA C source of every elementwise kernel, generated from the activation table: pure Python.

Nothing here imports pycuda or needs a GPU, so the test suite compiles every kernel with nvcc
wherever nvcc exists. The per-element math comes from Codegen.elementBody, the same statements
the CPU backend compiles.

A module is one (activation, dtype, variant) with its forward and backward kernels:

    moduleSource(spec, dtype, variant) == prelude(dtype) + moduleBody(spec, dtype, variant)

and every text below is a function of its arguments only, so what pycuda compiles at run time is
exactly what the nvcc test compiled. Two variants:

- "vector": 16-byte loads and stores (4 floats, 8 halves or 2 doubles per thread-iteration) over
  a contiguous range whose pointers are all 16-byte aligned, then the last n % width elements one
  per thread. Streaming kernels need the wide accesses to reach memory bandwidth.
- "strided": element start + k * step for k in [0, count), any step sign: slices, misaligned
  pointers, everything else.

Both loop grid-stride over 64-bit indices, so a grid of bounded size covers any count (arrays
over 2^31 elements included).
"""

import numpy as np

from PuzzleLib.Kernels.Activations import DIRECTIONS, TABLE
from PuzzleLib.Kernels.Codegen import INLINE_MATH, elementBody, kernelName as baseKernelName, paramNames
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, SHORT_NAME


STORAGE_CTYPE = {np.dtype(np.float32): "float", np.dtype(np.float16): "__half", np.dtype(np.float64): "double"}
DTYPES = tuple(STORAGE_CTYPE)

VARIANTS = ("vector", "strided")
VECTOR_BYTES = 16

# Deliberate, and the same in the nvcc test: IEEE division and square root, denormals kept (no
# -use_fast_math: it flushes denormals and approximates exp/log/tanh, which breaks the accuracy
# and NaN guarantees). Passing options also keeps PYCUDA_DEFAULT_NVCC_FLAGS out of the numerics;
# nvcc's own NVCC_APPEND_FLAGS still serves for host-side settings such as -ccbin.
NVCC_OPTIONS = ("--ftz=false", "--prec-div=true", "--prec-sqrt=true", "--fmad=true")


def vectorWidth(dtype):
	return VECTOR_BYTES // np.dtype(dtype).itemsize


def kernelName(spec, direction, dtype, variant):
	return "%s_%s" % (baseKernelName(spec, direction, SHORT_NAME[np.dtype(dtype)]), variant)


def argFormat(spec, direction, dtype, variant):
	"""The kernel's parameters for pycuda's Function.prepare: pointers, 64-bit ints, the params."""
	pointers = "P" * (1 + len(DIRECTIONS[direction]))
	counts = "q" if variant == "vector" else "qqq"
	param = "f" if COMPUTE_CTYPE[np.dtype(dtype)] == "float" else "d"
	return pointers + counts + param * len(spec.params)


def _packName(dtype):
	return "pack_%s" % SHORT_NAME[dtype]


def prelude(dtype):
	"""What every module of a dtype starts with: headers, the shared inline math, the 16-byte pack type.

	Outside extern "C": cuda_fp16.h is C++ and must not get C linkage.
	"""
	dtype = np.dtype(dtype)
	lines = ["/* PuzzleLib elementwise kernels, %s */" % dtype.name]
	if dtype == np.float16:
		lines.append("#include <cuda_fp16.h>")

	lines += [
		"",
		INLINE_MATH,
		"/* Aligned to its size, so a copy of it is one 16-byte load or store (ld/st.global.v4). */",
		"struct __align__(%d) %s { %s v[%d]; };" % (
			VECTOR_BYTES, _packName(dtype), STORAGE_CTYPE[dtype], vectorWidth(dtype)
		),
		""
	]
	return "\n".join(lines) + "\n"


def _converters(dtype):
	"""(load(expr), store(expr)): storage -> compute type and back; float16 rounds once, to nearest."""
	if dtype == np.float16:
		return (lambda expr: "__half2float(%s)" % expr), (lambda expr: "__float2half_rn(%s)" % expr)

	return (lambda expr: expr), (lambda expr: expr)


def _signature(spec, direction, dtype, variant):
	storage, ctype = STORAGE_CTYPE[dtype], COMPUTE_CTYPE[dtype]
	# no __restrict__: inplace calls pass the output as an input too
	params = ["%s *out" % storage] + [
		"const %s *in%d" % (storage, k) for k in range(len(DIRECTIONS[direction]))
	]
	params += ["const long long n"] if variant == "vector" else [
		"const long long start", "const long long step", "const long long count"
	]
	params += ["const %s %s" % (ctype, name) for name in paramNames(spec)]

	return "__global__ void %s(%s)" % (kernelName(spec, direction, dtype, variant), ", ".join(params))


def _element(spec, direction, dtype, read, write, indent):
	"""One element's statements; read(k) is operand k in storage type, write(expr) the store."""
	load, store = _converters(dtype)
	body = elementBody(
		spec, direction, COMPUTE_CTYPE[dtype],
		load=lambda k: load(read(k)), store=lambda expr: "%s;" % write(store(expr))
	)
	return [indent + line for line in body]


# The first global thread and the grid's width, in 64 bits before any multiplication.
_THREAD = [
	"\tconst long long first = (long long)blockIdx.x * blockDim.x + threadIdx.x;",
	"\tconst long long stride = (long long)gridDim.x * blockDim.x;"
]


def _vectorBody(spec, direction, dtype):
	width, pack = vectorWidth(dtype), _packName(dtype)
	operands = range(len(DIRECTIONS[direction]))

	lines = _THREAD + [
		"\tconst long long packs = n / %d;" % width,
		"",
		"\tfor (long long v = first; v < packs; v += stride) {"
	] + [
		"\t\tconst %s a%d = reinterpret_cast<const %s *>(in%d)[v];" % (pack, k, pack, k) for k in operands
	] + [
		"\t\t%s r;" % pack,
		"#pragma unroll",
		"\t\tfor (int j = 0; j < %d; j++) {" % width
	] + _element(
		spec, direction, dtype, read=lambda k: "a%d.v[j]" % k, write=lambda expr: "r.v[j] = %s" % expr, indent="\t\t\t"
	) + [
		"\t\t}",
		"\t\treinterpret_cast<%s *>(out)[v] = r;" % pack,
		"\t}",
		"",
		"\t/* the last n %% %d elements, one per thread */" % width,
		"\tconst long long i = packs * %d + first;" % width,
		"\tif (i < n) {"
	] + _element(
		spec, direction, dtype, read=lambda k: "in%d[i]" % k, write=lambda expr: "out[i] = %s" % expr, indent="\t\t"
	) + ["\t}"]

	return lines


def _stridedBody(spec, direction, dtype):
	return _THREAD + [
		"",
		"\tfor (long long k = first; k < count; k += stride) {",
		"\t\tconst long long i = start + k * step;"
	] + _element(
		spec, direction, dtype, read=lambda k: "in%d[i]" % k, write=lambda expr: "out[i] = %s" % expr, indent="\t\t"
	) + ["\t}"]


def kernelSource(spec, direction, dtype, variant):
	"""The full text of one __global__ kernel (without the prelude it needs)."""
	dtype = np.dtype(dtype)
	if variant not in VARIANTS:
		raise ValueError("variant must be one of %s, got %r" % (VARIANTS, variant))

	body = _vectorBody(spec, direction, dtype) if variant == "vector" else _stridedBody(spec, direction, dtype)
	return "\n".join([_signature(spec, direction, dtype, variant), "{"] + body + ["}", ""])


def moduleBody(spec, dtype, variant):
	"""The module's kernels, with C linkage so that pycuda finds them by their plain names."""
	kernels = [kernelSource(spec, direction, dtype, variant) for direction in DIRECTIONS]
	return 'extern "C" {\n\n%s\n} /* extern "C" */\n' % "\n".join(kernels)


def moduleSource(spec, dtype, variant):
	"""The exact text the CUDA backend hands to pycuda's SourceModule (with no_extern_c=True)."""
	return prelude(dtype) + moduleBody(spec, dtype, variant)


def checkSource(dtype):
	"""Every module of a dtype in one translation unit: the prelude once, then each module's body.

	What the nvcc test compiles: one nvcc run per dtype and arch instead of one per module.
	"""
	return prelude(dtype) + "\n".join(
		moduleBody(spec, dtype, variant) for spec in TABLE.values() for variant in VARIANTS
	)
