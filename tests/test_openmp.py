"""The compiled CPU kernels and copy under OpenMP: every thread count from 1 to 16 (users have more
cores than a CI machine), and processes forked after the threads have started.

OpenMP fixes a process's thread count at its first parallel region, so each count runs in a child
process of its own (tests/thread_child.py) with OMP_NUM_THREADS set.
"""

import os, subprocess, sys

import pytest

import harness


THREAD_COUNTS = range(1, 17)
AT_ONCE = 4


@pytest.fixture(scope="module")
def compiledEnv(tmp_path_factory, activeBackend):
	if activeBackend != "cpu":
		pytest.skip("OpenMP threads are the CPU backend's")

	from PuzzleLib.CPU import ElementWise
	if ElementWise.library("auto") is None:
		pytest.skip("no host compiler: the numpy path has no threads")

	from PuzzleLib.CPU import HostCompiler
	return harness.childEnv(HostCompiler.cacheDir())      # the library this process built or loaded


def test_every_thread_count_covers_every_element(compiledEnv):
	results = {}
	for first in range(THREAD_COUNTS.start, THREAD_COUNTS.stop, AT_ONCE):
		children = {
			threads: subprocess.Popen(
				[sys.executable, os.path.join(harness.TESTS, "thread_child.py"), str(threads)],
				env=dict(compiledEnv, OMP_NUM_THREADS=str(threads)), cwd=harness.TESTS,
				stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
			)
			for threads in range(first, min(first + AT_ONCE, THREAD_COUNTS.stop))
		}
		for threads, child in children.items():
			out, err = child.communicate(timeout=300)
			assert child.returncode == 0, "OMP_NUM_THREADS=%d: the child failed:\n%s" % (threads, err[-4000:])
			results[threads] = out.strip()

	failed = {threads: out for threads, out in results.items() if out != "ok %d" % threads}
	assert not failed, "\n".join("OMP_NUM_THREADS=%d:\n%s" % item for item in failed.items())
