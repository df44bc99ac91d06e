"""gpuarray.minimum and gpuarray.maximum: elementwise, as pycuda's, through the table's entries."""

from PuzzleLib.Backend.Kernels import ElementWise
from PuzzleLib.Kernels.Launch import KernelError


def _compare(factory, a, b, out, what):
	if not hasattr(a, "dtype") or not hasattr(b, "dtype"):
		raise KernelError("%s takes two gpuarray.GPUArrays, got %s and %s" % (what, type(a).__name__, type(b).__name__))
	if a.shape != b.shape:
		raise KernelError("%s: the arrays have shapes %s and %s" % (what, a.shape, b.shape))

	kernel = factory(a.dtype)
	if out is None:
		from PuzzleLib.Backend.gpuarray import empty
		out = empty(a.shape, dtype=a.dtype)
	elif out.shape != a.shape:
		raise KernelError("%s: out has shape %s, the arrays %s" % (what, out.shape, a.shape))

	kernel(out, a, b)
	return out


def minimum(a, b, out=None, stream=None):
	"""The elementwise minimum of two float arrays of one shape and dtype; NaN wins, as in numpy."""
	return _compare(ElementWise.minimumKer, a, b, out, "minimum")


def maximum(a, b, out=None, stream=None):
	"""The elementwise maximum of two float arrays of one shape and dtype; NaN wins, as in numpy."""
	return _compare(ElementWise.maximumKer, a, b, out, "maximum")
