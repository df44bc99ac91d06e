"""The compiled CPU kernels' thread team: any team size computes exactly what one thread does, over
every element (no chunk or tail lost), a forked child computes too, and the team size is set and
read through CPU.ElementWise.threads."""

import os

import numpy as np
import pytest


TEAM_SIZES = (1, 2, 3, 4, 7)


@pytest.fixture
def compiled(backend):
	if backend != "cpu":
		pytest.skip("the thread team is a CPU-backend internal; this run's backend is %s" % backend)

	from PuzzleLib.CPU import ElementWise, HostCompiler
	if ElementWise.requestedPath() == "numpy" or HostCompiler.findCompiler() is None:
		pytest.skip("no compiled kernels in this run (no host C compiler, or PUZZLELIB_CPU_KERNELS=numpy)")

	before = ElementWise.threads()
	yield ElementWise
	ElementWise.threads(before)


def sizes():
	"""Around the parallel threshold and the chunk edges, where a split could lose elements."""
	from PuzzleLib.CPU.Source import CHUNK, PARALLEL_MIN
	return sorted({
		PARALLEL_MIN - 1, PARALLEL_MIN, PARALLEL_MIN + 1, PARALLEL_MIN + 63,
		4 * CHUNK - 1, 4 * CHUNK + 1, 7 * CHUNK + 65, 16 * CHUNK + 3
	})


def kernelRuns(ElementWise, name, dtype, size, slc):
	"""Bytes of (forward output, backward output) of one activation over size elements."""
	from PuzzleLib.CPU.GPUArray import to_gpu
	from PuzzleLib.Kernels.Activations import ACTIVATIONS
	from PuzzleLib.Kernels.Table import TABLE

	rng = np.random.default_rng(size)
	x = to_gpu((rng.standard_normal(size) * 8).astype(dtype))
	dy = to_gpu(rng.standard_normal(size).astype(dtype))
	results = []

	if name == "dropout":          # a random entry: a Philox block per four elements, chunks cut blocks
		out = to_gpu(np.full(size, 7, dtype=dtype))
		ElementWise.kernel(TABLE["dropout"], np.dtype(dtype))(out, x, 0.3, 1 / 0.7, 12345, 678, slice=slc)
		return [out.get().tobytes()]

	for entry, operands in ((name, (x, )), (name + "Der", (dy, x))):
		out = to_gpu(np.full(size, 7, dtype=dtype))          # 7 stays wherever nothing was written
		ElementWise.kernel(TABLE[entry], np.dtype(dtype))(out, *operands, *ACTIVATIONS[name].defaults, slice=slc)
		results.append(out.get().tobytes())

	return results


@pytest.mark.parametrize("dtype", (np.float32, np.float16, np.float64), ids=lambda d: np.dtype(d).name)
def test_every_team_size_matches_one_thread(compiled, dtype):
	from PuzzleLib.Kernels.Activations import ACTIVATIONS

	for size in sizes():
		for slc in (None, slice(3, None), slice(None, None, 2), slice(None, None, -3)):
			for name in list(ACTIVATIONS) + ["dropout"]:
				compiled.threads(1)
				expected = kernelRuns(compiled, name, dtype, size, slc)

				for team in TEAM_SIZES[1:]:
					compiled.threads(team)
					assert kernelRuns(compiled, name, dtype, size, slc) == expected, \
						"%s %s, %d elements, slice %s: %d threads differ from one" % (name, np.dtype(dtype), size, slc, team)


def test_copy_is_whole_at_every_team_size(compiled):
	from PuzzleLib.CPU.GPUArray import copy, to_gpu

	for team in TEAM_SIZES:
		compiled.threads(team)
		for nbytes in [4 * size for size in sizes()] + [4 * sizes()[-1] + 2]:
			source = np.random.default_rng(nbytes).integers(0, 256, nbytes, dtype=np.uint8)
			dest = to_gpu(np.zeros(nbytes, dtype=np.uint8))
			copy(dest, to_gpu(source))
			assert np.array_equal(dest.get(), source), "copy of %d bytes on %d threads" % (nbytes, team)


def test_threads_sets_and_reads_the_team_size(compiled):
	assert compiled.threads(3) == 3
	assert compiled.threads() == 3

	default = compiled.threads(0)
	expected = int(os.environ["OMP_NUM_THREADS"]) if os.environ.get("OMP_NUM_THREADS", "").isdigit() \
		else len(os.sched_getaffinity(0))
	assert default == max(1, expected)

	for bad in (-1, 2.0, "2", True):
		with pytest.raises(ValueError, match="thread count"):
			compiled.threads(bad)
	assert compiled.threads() == default


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork() on this platform")
def test_a_forked_child_runs_parallel_kernels(compiled):
	"""The child of a process whose team has run has no workers; it must build its own, not wait
	for the parent's."""
	from PuzzleLib.CPU.GPUArray import copy, to_gpu
	from PuzzleLib.Kernels.Table import TABLE

	compiled.threads(2)
	size = 16 * sizes()[-1]
	x = to_gpu(np.linspace(-5, 5, size, dtype=np.float32))
	out = to_gpu(np.zeros(size, dtype=np.float32))
	relu = compiled.kernel(TABLE["relu"], np.dtype(np.float32))
	relu(out, x)                                     # the team is up in the parent

	pid = os.fork()
	if pid == 0:                                     # the child: exit status says what it saw
		try:
			out.fill(-1)
			relu(out, x)
			dest = to_gpu(np.zeros(size, dtype=np.float32))
			copy(dest, out)
			os._exit(0 if np.array_equal(dest.get(), np.maximum(x.get(), 0)) else 1)
		except BaseException:
			os._exit(2)

	for _ in range(600):                             # a hung child fails the test, not the run
		done, status = os.waitpid(pid, os.WNOHANG)
		if done:
			break
		import time
		time.sleep(0.1)
	else:
		os.kill(pid, 9)
		os.waitpid(pid, 0)
		pytest.fail("the forked child hung in its first parallel kernel")

	assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "the forked child computed wrong results (%d)" % status
