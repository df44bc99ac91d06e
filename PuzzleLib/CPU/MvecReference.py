"""Plain C loops of the compute-heavy activations, vectorised with glibc's libmvec: what the
benchmark holds the table's kernels against.

Each is the textbook formula (no stable form, no inline exp), compiled with the library's own
flags and run on the same thread team in the same chunks, so that a ratio between a kernel and
its loop measures the arithmetic alone.
"""

import ctypes, functools

from PuzzleLib.CPU import HostCompiler, Source
from PuzzleLib.CPU.ElementWise import warn


# name -> (operands after the output, the C expression of one float32 element)
LOOPS = {
	"sigmoid_forward": (("x", ), "1.0f / (1.0f + expf(-x[i]))"),
	"tanh_forward": (("x", ), "tanhf(x[i])"),
	"elu_forward": (("x", ), "x[i] > 0.0f ? x[i] : expm1f(x[i])"),
	"softPlus_forward": (("x", ), "log1pf(expf(x[i]))"),
	"softPlus_backward": (("dy", "y"), "dy[i] * -expm1f(-y[i])"),
}


def loopSource(name, operands, expression):
	fields = "float *out; %s" % " ".join("const float *%s;" % operand for operand in operands)
	unpack = " ".join("const float *%s = a->%s;" % (operand, operand) for operand in operands)
	return "\n".join([
		"struct ref_%s_args { %s };" % (name, fields),
		"static void ref_%s_range(const void *argp, int64_t begin, int64_t end)" % name,
		"{",
		"\tconst struct ref_%s_args *a = argp;" % name,
		"\tfloat *out = a->out; %s" % unpack,
		"\t#pragma omp simd",
		"\tfor (int64_t i = begin; i < end; i++)",
		"\t\tout[i] = %s;" % expression,
		"}",
		"void ref_%s(float *out, %s, int64_t count)" % (name, ", ".join("const float *%s" % operand for operand in operands)),
		"{",
		"\tconst struct ref_%s_args a = { out, %s };" % (name, ", ".join(operands)),
		"\tpz_run(ref_%s_range, &a, count, %d);" % (name, Source.CHUNK),
		"}",
		""
	])


def source():
	return "\n".join(
		[Source.PRELUDE, Source.THREAD_POOL, Source.RUN_SOURCE] +
		[loopSource(name, operands, expression) for name, (operands, expression) in LOOPS.items()]
	)


@functools.lru_cache(maxsize=None)
def loops():
	"""{name: ref(out_ptr, *operand_ptrs, count)}, or None where no host compiler is found."""
	cc = HostCompiler.findCompiler()
	if cc is None:
		return None

	lib = HostCompiler.load(source(), cc, warn=warn)
	functions = {}
	for name, (operands, _) in LOOPS.items():
		function = getattr(lib, "ref_" + name)
		function.argtypes, function.restype = [ctypes.c_void_p] * (1 + len(operands)) + [ctypes.c_int64], None
		functions[name] = function

	return functions
