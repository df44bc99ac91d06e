"""addVecToMat and argmax, as the original's Backend.Kernels.MatVec, on the chosen backend.

    addVecToMat(vec, mat, axis=0, out=None)   out = mat + vec along axis: len(vec) == mat.shape[axis]
                                              (axis=1 adds vec to every row, as a bias)
    argmax(tensor, axis=0, out=None)          int32 indices of the first maximum along axis (a NaN
                                              counts as the maximum, as in numpy)

Float16 adds in float32 and rounds once. Bad arguments raise KernelError (a ValueError).
"""

import numpy as np

from PuzzleLib.Backend.Kernels.Rows import checkAxis, checkOut, checkTensor, kernel, newArray, view
from PuzzleLib.Kernels.Launch import KernelError


def addVecToMat(vec, mat, axis=0, out=None, stream=None):
	dtype = checkTensor(mat, "addVecToMat", "mat")
	checkTensor(vec, "addVecToMat", "vec")
	axis = checkAxis(axis, len(mat.shape), "addVecToMat")

	if len(vec.shape) != 1 or vec.size != mat.shape[axis]:
		raise KernelError("addVecToMat: vec must be 1-D of mat.shape[%d] = %d elements, got shape %s" % (
			axis, mat.shape[axis], vec.shape
		))
	if vec.dtype != dtype:
		raise KernelError("addVecToMat: vec has dtype %s, mat %s" % (vec.dtype, dtype))

	if out is None:
		out = newArray(mat.shape, dtype)
	else:
		checkOut(out, mat.shape, dtype, "addVecToMat", sources=(mat, vec))
		if out.ptr == vec.ptr and out.size:
			raise KernelError("addVecToMat: out must not be vec")

	if out.size:
		N, C, S = view(mat.shape, axis)
		kernel("add_vec", dtype)(vec, mat, out, N=N, C=C, S=S)
	return out


def argmax(tensor, axis=0, out=None, stream=None):
	dtype = checkTensor(tensor, "argmax", "tensor")
	axis = checkAxis(axis, len(tensor.shape), "argmax")
	shape = tensor.shape[:axis] + tensor.shape[axis + 1:]

	if tensor.shape[axis] == 0:
		raise KernelError("argmax: an empty axis has no maximum (shape %s, axis %d)" % (tensor.shape, axis))

	if out is None:
		out = newArray(shape, np.int32)
	else:
		checkOut(out, shape, np.int32, "argmax")

	if out.size:
		N, C, S = view(tensor.shape, axis)
		kernel("argmax", dtype)(tensor, out, N=N, C=C, S=S)
	return out
