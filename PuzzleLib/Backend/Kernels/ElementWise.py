"""xxxKer(dtype) for every entry of the elementwise table, on the chosen backend.

    ker = sigmoidKer(np.float32);    ker(outdata, indata, *args, slice=None)
    der = sigmoidDerKer(np.float32); der(ingrad, outgrad, outdata, *args, slice=None)
    drop = dropoutKer(np.float32);   drop(outdata, indata, p, scale, key, counter, slice=None)
    minimumKer(np.float32)(out, x, y); maximumKer(np.float32)(out, x, y)

A kernel takes its entry's arrays in order, then its params (Kernels/Table.py lists them), and
writes only the elements in the flat slice; the rest of every written array is not touched.
"""

from PuzzleLib import Backend
from PuzzleLib.Kernels.Launch import kernelDtype
from PuzzleLib.Kernels.Table import TABLE

if Backend.isCuda:
	from PuzzleLib.Cuda.ElementWise import kernel
else:
	from PuzzleLib.CPU.ElementWise import kernel


def _factory(op):
	kernels = {}         # by the dtype as asked for (np.float32, "float32", np.dtype(...)): a lookup per call

	def factory(dtype):
		try:
			if dtype is not None:        # None == np.dtype("float64") in numpy, and is refused
				return kernels[dtype]
		except (KeyError, TypeError):    # TypeError: an unhashable request, refused by kernelDtype
			pass

		ker = kernel(op, kernelDtype(dtype))
		try:
			kernels[dtype] = ker
		except TypeError:
			pass
		return ker

	factory.__name__ = "%sKer" % op.name
	factory.__doc__ = "The %s kernel for dtype: %s(%s)." % (op.name, factory.__name__, ", ".join(
		[operand.name for operand in op.arrays] + list(op.params) + (["key", "counter"] if op.isRandom else [])
	))
	return factory


__all__ = []
for _op in TABLE.values():
	_factory_ = _factory(_op)
	globals()[_factory_.__name__] = _factory_
	__all__.append(_factory_.__name__)
