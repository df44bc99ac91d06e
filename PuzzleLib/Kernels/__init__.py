"""The activation table and what every backend generates kernels from: pure Python, no GPU code."""
