"""gpuarray of the chosen backend: GPUArray, to_gpu, empty, zeros, copy, memoryPool, ..."""

from PuzzleLib import Backend

if Backend.isCuda:
	from PuzzleLib.Cuda.GPUArray import (
		GPUArray, to_gpu, empty, zeros, copy, memoryPool, dtypesSupported, getDeviceName, isContiguous, synchronize,
		SharedArray
	)
else:
	from PuzzleLib.CPU.GPUArray import (
		GPUArray, to_gpu, empty, zeros, copy, memoryPool, dtypesSupported, getDeviceName, isContiguous, synchronize,
		SharedArray
	)

__all__ = [
	"GPUArray", "to_gpu", "empty", "zeros", "copy", "memoryPool", "dtypesSupported", "getDeviceName", "isContiguous", "synchronize",
	"SharedArray"
]
