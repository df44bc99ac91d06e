"""Where the original kept the pool and the dtype list; the same objects as in gpuarray."""

from PuzzleLib.Backend.gpuarray import memoryPool, dtypesSupported, getDeviceName, copy

__all__ = ["memoryPool", "dtypesSupported", "getDeviceName", "copy"]
