"""A drop-in, PuzzleLib-compatible module library: CUDA through pycuda, or a CPU backend."""

__version__ = "1.0.0"
