"""C source of every CPU elementwise kernel, generated from the activation table: pure Python.

One translation unit holds every activation x direction x dtype. Each kernel walks a flat range
(start, step, count): a unit-stride loop that OpenMP splits over the cores and vectorizes (the
`declare simd` lines let glibc's libmvec vectorize the math functions), and a strided loop for
stepped slices.
"""

import os

import numpy as np

from PuzzleLib.Kernels.Activations import TABLE, DIRECTIONS
from PuzzleLib.Kernels.Codegen import INLINE_MATH, elementBody, kernelName, paramNames
from PuzzleLib.Kernels.Expression import MATH_FUNCTIONS
from PuzzleLib.Kernels.Launch import COMPUTE_CTYPE, SHORT_NAME


STORAGE_CTYPE = {np.dtype(np.float16): "uint16_t", np.dtype(np.float32): "float", np.dtype(np.float64): "double"}

# how an element is widened to the compute type and narrowed back (float16 through half_float.c)
LOAD = {np.dtype(np.float16): "pz_half_to_float(%s)", np.dtype(np.float32): "%s", np.dtype(np.float64): "%s"}
STORE = {np.dtype(np.float16): "pz_float_to_half(%s)", np.dtype(np.float32): "%s", np.dtype(np.float64): "%s"}
DTYPES = tuple(STORAGE_CTYPE)

# below this many elements a thread team costs more than it saves
PARALLEL_MIN = 1 << 15

with open(os.path.join(os.path.dirname(__file__), "half_float.c")) as _file:
	HALF_FLOAT = _file.read()

PRELUDE = """\
#include <stdint.h>
#include <math.h>
#include <pthread.h>

/* libgomp's thread pool does not survive fork(): a child that starts a team waits forever for
   threads that exist only in its parent. So a forked child (multiprocessing's default on Linux)
   runs every loop in its own thread. */
static int pz_threads_usable = 1;
static void pz_forked(void) { pz_threads_usable = 0; }
__attribute__((constructor)) static void pz_watch_fork(void) { pthread_atfork(NULL, NULL, pz_forked); }

/* glibc declares its vector math variants only under -ffast-math, which we never use (it breaks
   NaN handling): declare them here so the vectorizer calls libmvec. */
%s
""" % "\n".join(
	"#pragma omp declare simd notinbranch\n%s %s%s(%s);" % (ctype, name, suffix, ctype)
	for name in MATH_FUNCTIONS for ctype, suffix in (("float", "f"), ("double", ""))
)


def kernelSignature(spec, direction, dtype):
	storage, ctype = STORAGE_CTYPE[dtype], COMPUTE_CTYPE[dtype]
	operands = ["const %s *in%d" % (storage, k) for k in range(len(DIRECTIONS[direction]))]
	params = ["%s %s" % (ctype, name) for name in paramNames(spec)]

	return "void %s(%s)" % (kernelName(spec, direction, SHORT_NAME[dtype]), ", ".join(
		["%s *out" % storage] + operands + ["int64_t start", "int64_t step", "int64_t count"] + params
	))


def kernelSource(spec, direction, dtype):
	ctype = COMPUTE_CTYPE[dtype]

	def loop(pragma, index):
		body = elementBody(
			spec, direction, ctype,
			load=lambda k: LOAD[dtype] % ("in%d[%s]" % (k, index)),
			store=lambda expr: "out[%s] = %s;" % (index, STORE[dtype] % expr),
		)
		return [
			"\t\t#pragma omp %s schedule(static) if(parallel: count >= %d && pz_threads_usable)" % (pragma, PARALLEL_MIN),
			"\t\tfor (int64_t k = 0; k < count; k++) {"
		] + (["\t\t\tconst int64_t i = start + k * step;"] if index == "i" else []) + [
			"\t\t\t" + line for line in body
		] + ["\t\t}"]

	shift = "".join(" in%d += start;" % k for k in range(len(DIRECTIONS[direction])))
	return "\n".join(
		[kernelSignature(spec, direction, dtype), "{", "\tif (step == 1) {", "\t\tout += start;" + shift] +
		loop("parallel for simd", "k") + ["\t} else {"] + loop("parallel for", "i") + ["\t}", "}", ""]
	)


# gpuarray.copy and the slice pass-through: memcpy split over the cores, as the kernels are
COPY_SOURCE = """\
#include <string.h>
#include <omp.h>

void copy_bytes(char *dst, const char *src, int64_t nbytes)
{
	#pragma omp parallel if(nbytes >= %d && pz_threads_usable)
	{
		const int64_t threads = omp_get_num_threads(), thread = omp_get_thread_num();
		/* the share rounded up, so that the threads' chunks together cover every byte */
		const int64_t chunk = ((nbytes + threads - 1) / threads + 63) & ~(int64_t)63;
		const int64_t begin = thread * chunk < nbytes ? thread * chunk : nbytes;
		const int64_t end = begin + chunk < nbytes ? begin + chunk : nbytes;
		memcpy(dst + begin, src + begin, end - begin);
	}
}
""" % (PARALLEL_MIN * 4)


def librarySource():
	kernels = [
		kernelSource(spec, direction, dtype)
		for spec in TABLE.values() for direction in DIRECTIONS for dtype in DTYPES
	]
	return PRELUDE + "\n" + INLINE_MATH + "\n" + HALF_FLOAT + "\n" + COPY_SOURCE + "\n" + "\n".join(kernels)
