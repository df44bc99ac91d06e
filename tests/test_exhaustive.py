"""Every one of the 2^32 float32 inputs, forward, for the activations computed with exp, expm1
and tanh, on the CPU backend's compiled kernels (whose inline exp the CUDA kernels share): the
4-ulp bound holds everywhere, not only on the sampled inputs of test_accuracy.

Slow (minutes): run with `python -m pytest -q -m slow tests/test_exhaustive.py`.
"""

import numpy as np
import pytest

from cases import DEFAULT_ARGS, Case
from reference import assertClose, forward


CHUNK = 1 << 24

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "elu", "softPlus"])
def test_every_float32_input(name, backend):
	if backend != "cpu":
		pytest.skip("the exhaustive sweep runs the CPU backend's compiled kernels")

	from PuzzleLib.CPU.ElementWise import kernel
	from PuzzleLib.CPU.GPUArray import GPUArray
	from PuzzleLib.Kernels.Table import TABLE

	case = Case(name, DEFAULT_ARGS.get(name, ()), ())
	ker = kernel(TABLE[name], np.dtype(np.float32), path="compiled")
	out = GPUArray((CHUNK, ), np.float32)

	for start in range(0, 1 << 32, CHUNK):
		x = np.arange(start, start + CHUNK, dtype=np.uint64).astype(np.uint32).view(np.float32)
		ker(out, GPUArray.wrap(x), *case.args)
		assertClose(out.get(), forward(name, x, case.args), "%s, inputs from bits 0x%08x" % (case, start))
