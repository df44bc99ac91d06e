"""The benchmark's CPU tables run, and its libmvec reference loops compute the functions they name
(a ratio against a loop that computed something else would mean nothing)."""

import numpy as np
import pytest


@pytest.fixture
def cpuCompiled(backend):
	if backend != "cpu":
		pytest.skip("the libmvec loops and the thread team are CPU-backend tables")
	from PuzzleLib.CPU import HostCompiler
	if HostCompiler.findCompiler() is None:
		pytest.skip("no host C compiler")


REFERENCES = {
	"sigmoid_forward": lambda x: 1 / (1 + np.exp(-x)),
	"tanh_forward": np.tanh,
	"elu_forward": lambda x: np.where(x > 0, x, np.expm1(x)),
	"softPlus_forward": lambda x: np.log1p(np.exp(x)),
	"softPlus_backward": lambda dy, y: dy * -np.expm1(-y),
}


def test_libmvec_loops_compute_their_functions(cpuCompiled):
	from PuzzleLib.CPU import MvecReference

	loops = MvecReference.loops()
	assert set(loops) == set(REFERENCES)

	size = 70000                                    # above the parallel threshold, not a chunk multiple
	x = np.linspace(-20, 20, size, dtype=np.float32)
	dy = np.cos(np.arange(size, dtype=np.float32))
	for name, reference in REFERENCES.items():
		operands = (x, ) if name.endswith("forward") else (dy, np.abs(x))
		out = np.full(size, np.nan, dtype=np.float32)
		loops[name](out.ctypes.data, *(operand.ctypes.data for operand in operands), size)

		expected = reference(*(operand.astype(np.float64) for operand in operands))
		np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-30, err_msg=name)


def test_cpu_tables_print_a_row_each(cpuCompiled):
	from PuzzleLib import Benchmark

	lines = []
	rows = Benchmark.mvecComparison(size=1 << 15, repeat=1, out=lines.append)
	assert [name for name, _ in rows] == list(REFERENCES) and all(ratio > 0 for _, ratio in rows)

	rows = Benchmark.perCall(sizes=(1 << 10, ), repeat=1, out=lines.append)
	assert len(rows) == 1 and all(seconds > 0 for seconds in rows[0][1:])

	rows = Benchmark.crossover(sizes=(1 << 11, 1 << 12), repeat=1, out=lines.append)
	assert [row[0] for row in rows] == [1 << 11, 1 << 12] and all(value > 0 for row in rows for value in row[1:])
	assert len(lines) == 2 + 5 + 2 + 1 + 2 + 2
