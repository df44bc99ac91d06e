"""The CUDA backend through pycuda: imported only when it is chosen."""
