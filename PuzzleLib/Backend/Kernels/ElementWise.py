"""xxxKer(dtype) and xxxDerKer(dtype) for every activation in the table, on the chosen backend.

    ker = sigmoidKer(np.float32);    ker(outdata, indata, *args, slice=None)
    der = sigmoidDerKer(np.float32); der(ingrad, outgrad, outdata, *args, slice=None)

A kernel writes only the elements in the flat slice; the rest of the output is not touched.
"""

from PuzzleLib import Backend
from PuzzleLib.Kernels.Activations import TABLE
from PuzzleLib.Kernels.Launch import kernelDtype

if Backend.isCuda:
	from PuzzleLib.Cuda.ElementWise import kernel
else:
	from PuzzleLib.CPU.ElementWise import kernel


def _factory(spec, direction):
	def factory(dtype):
		return kernel(spec, direction, kernelDtype(dtype))

	factory.__name__ = "%s%sKer" % (spec.name, "Der" if direction == "backward" else "")
	factory.__doc__ = "The %s %s kernel for dtype." % (spec.name, direction)
	return factory


__all__ = []
for _spec in TABLE.values():
	for _direction in ("forward", "backward"):
		_factory_ = _factory(_spec, _direction)
		globals()[_factory_.__name__] = _factory_
		__all__.append(_factory_.__name__)

from PuzzleLib.Backend.Kernels.Updates import *         # noqa: E402,F401,F403 (INTERIM: the update kernels)
