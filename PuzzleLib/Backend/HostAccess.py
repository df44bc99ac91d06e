"""The elements of an array as numpy: the memory itself on the CPU backend, a copy through
get/set on CUDA (INTERIM: the CUDA backend's training kernels are not generated yet)."""

import numpy as np


def hostView(ary):
	"""A writable numpy view of the array's memory, or None where the memory is a device's."""
	gpudata = getattr(ary, "gpudata", None)
	return gpudata if isinstance(gpudata, np.ndarray) else None


def readHost(ary):
	view = hostView(ary)
	return view if view is not None else ary.get()


def writeHost(ary, value):
	view = hostView(ary)
	if view is not None:
		if view is not value:
			np.copyto(view, np.reshape(value, view.shape), casting="same_kind")
	else:
		ary.set(np.ascontiguousarray(value, dtype=ary.dtype).reshape(ary.shape))
