"""gpuarray of the chosen backend: GPUArray, to_gpu, empty, zeros, copy, memoryPool, globalRng, minimum, ..."""

from PuzzleLib import Backend

if Backend.isCuda:
	from PuzzleLib.Cuda.GPUArray import (
		GPUArray, to_gpu, empty, zeros, copy, memoryPool, dtypesSupported, getDeviceName, isContiguous, synchronize,
		SharedArray, pooledLike
	)
else:
	from PuzzleLib.CPU.GPUArray import (
		GPUArray, to_gpu, empty, zeros, copy, memoryPool, dtypesSupported, getDeviceName, isContiguous, synchronize,
		SharedArray, pooledLike
	)

from PuzzleLib.Backend.Random import PhiloxRng, globalRng                       # noqa: E402
from PuzzleLib.Backend.Compare import minimum, maximum                          # noqa: E402

__all__ = [
	"GPUArray", "to_gpu", "empty", "zeros", "copy", "memoryPool", "dtypesSupported", "getDeviceName", "isContiguous",
	"synchronize", "SharedArray", "pooledLike", "globalRng", "PhiloxRng", "minimum", "maximum"
]
