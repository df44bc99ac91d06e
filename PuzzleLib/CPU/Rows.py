"""The CPU backend's row kernels (softmax, its backward, argmax, addVecToMat): the library's compiled
loops over Kernels/Rows' routines, or numpy where no compiler is. Called with checked arguments
only (Backend/Kernels/MatVec.py and Backend/Dnn.py check them)."""

import functools, struct

import numpy as np

from PuzzleLib.CPU import Source
from PuzzleLib.CPU.ElementWise import library, requestedPath
from PuzzleLib.Kernels.Launch import SHORT_NAME


KERNELS = {
	"softmax": 2, "softmax_backward": 3, "argmax": 2, "add_vec": 3       # how many arrays each takes
}


class RowKernel:
	"""kernel(*arrays, N, C, S) of one row kernel and dtype; bind(N, C, S) is the call over arrays of
	one (N, C, S) view, fn(*arrays), for a caller that makes it once and calls it many times."""

	def __init__(self, name, dtype, lib):
		self.arity = KERNELS[name]
		self.function = self.pack = self.numpy = None
		if lib is None:
			self.numpy = functools.partial(NUMPY[name], np.dtype(dtype))
		else:
			# the call travels packed (Source.rowCallFormat), as the elementwise kernels' does
			self.function = getattr(lib, "%s_%s" % (name, SHORT_NAME[np.dtype(dtype)]))
			self.function.restype = None
			self.pack = struct.Struct(Source.rowCallFormat(self.arity)).pack

	def __call__(self, *arrays, N, C, S):
		if self.function is None:
			self.numpy(*arrays, N=N, C=C, S=S)
		else:
			self.function(self.pack(*[ary.ptr for ary in arrays], C, S, N))

	def bind(self, N, C, S):
		function, pack, numpy = self.function, self.pack, self.numpy
		if function is None:
			return lambda *arrays: numpy(*arrays, N=N, C=C, S=S)
		if self.arity == 2:
			return lambda a, b: function(pack(a.ptr, b.ptr, C, S, N))
		return lambda a, b, c: function(pack(a.ptr, b.ptr, c.ptr, C, S, N))


@functools.lru_cache(maxsize=None)
def kernel(name, dtype):
	"""The row kernel of name and dtype, on the path PUZZLELIB_CPU_KERNELS selects (a RowKernel)."""
	path = requestedPath()
	return RowKernel(name, dtype, None if path == "numpy" else library(path))


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
