"""The CPU backend: numpy-backed arrays, a memory pool, and C kernels compiled by the host compiler."""
