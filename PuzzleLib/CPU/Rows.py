"""The CPU backend's row kernels (softmax, its backward, argmax, addVecToMat): the library's compiled
loops over Kernels/Rows' routines, or numpy where no compiler is. Called with checked arguments
only (Backend/Kernels/MatVec.py and Backend/Dnn.py check them)."""

import ctypes, functools

import numpy as np

from PuzzleLib.CPU.ElementWise import library, requestedPath
from PuzzleLib.Kernels.Launch import SHORT_NAME


KERNELS = {
	"softmax": 2, "softmax_backward": 3, "argmax": 2, "add_vec": 3       # how many pointers each takes
}


@functools.lru_cache(maxsize=None)
def kernel(name, dtype):
	"""kernel(*arrays, N, C, S) of one row kernel and dtype, on the path PUZZLELIB_CPU_KERNELS selects."""
	path = requestedPath()
	lib = None if path == "numpy" else library(path)
	if lib is None:
		return functools.partial(NUMPY[name], np.dtype(dtype))

	function = getattr(lib, "%s_%s" % (name, SHORT_NAME[np.dtype(dtype)]))
	function.argtypes, function.restype = [ctypes.c_void_p] * KERNELS[name] + [ctypes.c_int64] * 3, None

	def call(*arrays, N, C, S):
		function(*(ary.ptr for ary in arrays), N, C, S)

	return call


# {{{ the numpy path: the same math, in float64, on the (N, C, S) view

def _view(ary, N, C, S):
	return ary.gpudata.reshape(N, C, S)


def _softmax(dtype, x, y, N, C, S):
	values = _view(x, N, C, S).astype(np.float64)
	top = values.max(axis=1, keepdims=True)
	with np.errstate(invalid="ignore", over="ignore"):
		empty = np.isneginf(top)
		e = np.exp(values - np.where(empty, 0, top))
		e = np.where(empty, 1.0, e)
		_view(y, N, C, S)[...] = (e / e.sum(axis=1, keepdims=True)).astype(dtype)


def _softmaxBackward(dtype, y, g, dx, N, C, S):
	yv, gv = _view(y, N, C, S).astype(np.float64), _view(g, N, C, S).astype(np.float64)
	with np.errstate(invalid="ignore", over="ignore"):
		_view(dx, N, C, S)[...] = (yv * (gv - (gv * yv).sum(axis=1, keepdims=True))).astype(dtype)


def _argmax(dtype, x, out, N, C, S):
	out.gpudata.reshape(N, S)[...] = _view(x, N, C, S).argmax(axis=1)


def _addVec(dtype, vec, mat, out, N, C, S):
	compute = np.float64 if dtype == np.float64 else np.float32
	total = _view(mat, N, C, S).astype(compute) + vec.gpudata.astype(compute).reshape(1, C, 1)
	with np.errstate(over="ignore"):
		_view(out, N, C, S)[...] = total.astype(dtype)


NUMPY = {"softmax": _softmax, "softmax_backward": _softmaxBackward, "argmax": _argmax, "add_vec": _addVec}

# }}}
