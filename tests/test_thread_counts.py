"""The compiled CPU kernels and copy on the library's thread team (CPU/thread_pool.c): every team
size from 1 to 16 (users have more cores than a CI machine), and processes forked after the team
has started.

Each size runs in a child process of its own (tests/thread_child.py) with OMP_NUM_THREADS set, the
knob scripts already use to size thread teams, which the team reads for its default size.
"""

import os, signal, subprocess, sys

import pytest

import harness


THREAD_COUNTS = range(1, 17)
AT_ONCE = 4


@pytest.fixture(scope="module")
def compiledEnv(tmp_path_factory, activeBackend):
	if activeBackend != "cpu":
		pytest.skip("the thread team is the CPU backend's")

	from PuzzleLib.CPU import ElementWise
	if ElementWise.library("auto") is None:
		pytest.skip("no host compiler: the numpy path has no threads")

	from PuzzleLib.CPU import HostCompiler
	return harness.childEnv(HostCompiler.cacheDir())      # the library this process built or loaded


def test_every_thread_count_covers_every_element_and_computes_rows_alike(compiledEnv):
	results, digests = {}, {}
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
			report, _, digest = out.strip().rpartition("\n")
			results[threads], digests[threads] = report, digest

	failed = {threads: out for threads, out in results.items() if out != "ok %d" % threads}
	assert not failed, "\n".join("OMP_NUM_THREADS=%d:\n%s" % item for item in failed.items())

	# the row kernels' results, bit for bit, whatever the team's size
	assert digests[1].startswith("rows ")
	differ = {threads: digest for threads, digest in digests.items() if digest != digests[1]}
	assert not differ, "row kernels' results differ from one thread's: %s" % sorted(differ)


FORK_SCRIPT = """
import multiprocessing, sys
import numpy as np
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Modules import Activation

def run(name):
	x = gpuarray.to_gpu(np.linspace(-20, 20, 1 << 17).astype(np.float32))
	act = Activation(name)
	y = act(x)
	act.backward(gpuarray.to_gpu(np.ones(x.shape, np.float32)))
	copied = gpuarray.empty(x.shape, x.dtype)
	gpuarray.copy(copied, y)
	return copied.get(), act.grad.get()

names = ["sigmoid", "tanh", "softPlus", "clip"]
expected = [run(name) for name in names]              # the parent starts its thread team first

with multiprocessing.get_context("fork").Pool(2) as pool:
	got = pool.map(run, names, chunksize=1)

same = all(np.array_equal(a, b) for pair in zip(got, expected) for a, b in zip(*pair))
print("same" if same else "different")
"""


def test_a_forked_child_runs_kernels_and_copies(compiledEnv):
	"""multiprocessing forks by default on Linux; a fork copies none of the team's threads, so the child
	must start a team of its own."""
	child = subprocess.Popen(
		[sys.executable, "-c", FORK_SCRIPT], env=dict(compiledEnv, OMP_NUM_THREADS="4"), cwd=harness.TESTS,
		stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
	)
	try:
		out, err = child.communicate(timeout=90)
	except subprocess.TimeoutExpired:
		os.killpg(child.pid, signal.SIGKILL)            # the pool's workers too
		child.communicate()
		raise AssertionError("a child forked after a threaded kernel hung in its first kernel") from None

	assert child.returncode == 0, err[-4000:]
	assert out.strip() == "same"
