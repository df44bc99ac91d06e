"""softmaxNd and softmaxNdBackward, as the original's Backend.Dnn, on the chosen backend.

    softmaxNd(data, out=None)                     softmax over axis 1 (per position for >= 3-D data)
    softmaxNdBackward(outdata, grad, out=None)    outdata * (grad - sum_c grad * outdata)

Max-subtracted with double accumulation (Kernels/Rows.py): no inf or NaN for finite rows of any
magnitude or for -inf entries; a row of only -inf gives 1/C. out may be the input itself.
"""

from PuzzleLib.Backend.Kernels.Rows import bound, checkOut, checkTensor, newArray
from PuzzleLib.Kernels.Launch import KernelError


def softmaxNd(data, out=None, stream=None):
	dtype = checkTensor(data, "softmaxNd", "data", minDims=2)

	if out is None:
		out = newArray(data.shape, dtype)
	else:
		checkOut(out, data.shape, dtype, "softmaxNd", sources=(data, ))

	if out.size:
		bound("softmax", dtype, data.shape)(data, out)
	return out


def softmaxNdBackward(outdata, grad, out=None, stream=None):
	dtype = checkTensor(outdata, "softmaxNdBackward", "outdata", minDims=2)
	checkTensor(grad, "softmaxNdBackward", "grad", minDims=2)

	if grad.shape != outdata.shape or grad.dtype != dtype:
		raise KernelError("softmaxNdBackward: grad is %s %s, outdata %s %s" % (grad.shape, grad.dtype, outdata.shape, dtype))

	if out is None:
		out = newArray(outdata.shape, dtype)
	else:
		checkOut(out, outdata.shape, dtype, "softmaxNdBackward", sources=(outdata, grad))
		if out.size and out.ptr == outdata.ptr:
			raise KernelError("softmaxNdBackward: out must not be outdata (every element of a row reads it)")

	if out.size:
		bound("softmax_backward", dtype, outdata.shape)(outdata, grad, out)
	return out
