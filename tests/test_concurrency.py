"""Concurrency: threads running their own Activation instances at once (sharing the kernels, the
library and the memory pool) compute bitwise what one thread computes alone, and threads that race
to a process's very first kernels (building and loading the library) all get correct results.
"""

import threading

import numpy as np
import pytest

import harness
import reference
from cases import Case, refBackward, refForward
from harness import assertSameBits


THREADS = 4
ROUNDS = 20

# (case, dtype, shape, slc, inplace): sizes below and above the CPU kernels' threading threshold
JOBS = (
	(Case("sigmoid", (), ()), np.float32, (256, 300), None, False),
	(Case("tanh", (), ()), np.float16, (3, 50000), slice(7, None, 3), False),
	(Case("relu", (), ()), np.float32, (1000, ), slice(None, None, -1), True),
	(Case("leakyRelu", (0.2, ), (0.2, )), np.float64, (70000, ), slice(100, -100), False),
	(Case("elu", (1.0, ), ()), np.float32, (40000, ), None, True),
	(Case("softPlus", (), ()), np.float32, (5, 7, 11), slice(3, 300, 2), False),
	(Case("clip", (-1.5, 2.25), (-1.5, 2.25)), np.float16, (90000, ), None, False),
	(Case("sigmoid", (), ()), np.float64, (33000, ), slice(-1, 0, -7), True),
)


def inputs(job, seed):
	case, dtype, shape, _, _ = job
	rng = np.random.default_rng(seed)
	x = (rng.standard_normal(shape) * 5).astype(dtype)
	dy = rng.standard_normal(shape).astype(dtype)
	return x, dy


def runJob(job, x, dy):
	"""(y, dx) of one forward and backward pass of a new module over copies of x and dy."""
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Modules import Activation

	case, dtype, _, slc, inplace = job
	act = Activation(case.name, slc=slc, inplace=inplace, args=case.moduleArgs)
	act.calcMode(dtype)
	y = act(gpuarray.to_gpu(x)).get()
	act.backward(gpuarray.to_gpu(dy))
	return y, act.grad.get()


def test_threads_match_one_thread(backend, monkeypatch):
	if backend != "cpu":
		pytest.skip("threads are the CPU backend's contract: a pycuda context is current in one thread only")

	from PuzzleLib import Config
	monkeypatch.setattr(Config, "showWarnings", False)

	data = [inputs(job, seed) for seed, job in enumerate(JOBS)]
	alone = [runJob(job, x, dy) for job, (x, dy) in zip(JOBS, data)]

	for job, (x, dy), (y, dx) in zip(JOBS, data, alone):     # the baseline itself is right
		case, _, _, slc, _ = job
		picked = np.arange(x.size)[slice(None) if slc is None else slc]
		reference.assertClose(y.reshape(-1)[picked], refForward(case, x.reshape(-1)[picked]), context="%s forward" % (case, ))
		reference.assertClose(
			dx.reshape(-1)[picked], refBackward(case, dy.reshape(-1)[picked], y.reshape(-1)[picked]), context="%s backward" % (case, )
		)

	barrier = threading.Barrier(THREADS)
	results, failures = {}, []

	def work(thread):
		try:
			barrier.wait()
			for round in range(ROUNDS):
				for k in range(len(JOBS)):
					index = (k + thread + round) % len(JOBS)    # the threads run different jobs at any moment
					results[thread, round, index] = runJob(JOBS[index], *data[index])
		except BaseException as e:
			failures.append((thread, repr(e)))

	workers = [threading.Thread(target=work, args=(thread, )) for thread in range(THREADS)]
	for worker in workers:
		worker.start()
	for worker in workers:
		worker.join(timeout=300)

	assert not any(worker.is_alive() for worker in workers), "a thread hung"
	assert failures == []
	assert len(results) == THREADS * ROUNDS * len(JOBS)

	for (thread, round, index), (y, dx) in sorted(results.items()):
		what = "thread %d round %d job %d (%s)" % (thread, round, index, JOBS[index][0])
		assertSameBits(y, alone[index][0], what + " forward")
		assertSameBits(dx, alone[index][1], what + " backward")


def test_threads_racing_to_the_first_kernels(tmp_path):
	"""A fresh CPU-backend process (its own empty kernel cache) whose threads all ask for their first
	kernels at the same moment: no crash, no warning, and every thread's results right and bitwise
	the same. Runs in a child process, whatever this run's backend."""
	from PuzzleLib.CPU import HostCompiler
	if HostCompiler.findCompiler() is None:
		pytest.skip("no host C compiler: there is no compiled library to race to (the numpy path is tested below)")

	report, results = harness.runChild(str(tmp_path / "child"), harness.childEnv(tmp_path / "cache"), threads=THREADS)
	assert report["warnings"] == [], report
	assert report["kernelTypes"] == ["CompiledKernel"], report
	harness.checkChildResults(results, threads=THREADS)


def test_threads_on_the_numpy_path(tmp_path):
	"""The same race on the numpy fallback (no compiler needed)."""
	env = harness.childEnv(tmp_path / "cache", PUZZLELIB_CPU_KERNELS="numpy")
	report, results = harness.runChild(str(tmp_path / "child"), env, threads=THREADS)
	assert report["kernelTypes"] == ["NumpyKernel"], report
	harness.checkChildResults(results, threads=THREADS)
