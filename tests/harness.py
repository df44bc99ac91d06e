"""Helpers shared by the tests: bitwise comparison, central differences, process memory, and a
child process that runs every kernel (robustness tests: kernel cache, size limits, concurrency).

The child (tests/kernel_child.py) runs in a fresh interpreter with its own environment, so a test can
give it an empty, corrupt or unwritable kernel cache, or start several at once; it writes what every
kernel computed, and the warnings it saw, for the parent to check against the references.
"""

import json, os, subprocess, sys

import numpy as np


TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)
CHILD = os.path.join(TESTS, "kernel_child.py")

UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}


# --- central differences -----------------------------------------------------------------------

def centralDifferences(loss, ary, h=1e-6):
	"""d loss() / d ary, elementwise: (loss(a + h) - loss(a - h)) / 2h for each element a of the
	float64 host array ary, which loss reads. Each element is moved in place and put back."""
	grad = np.zeros_like(ary)
	flat, gradFlat = ary.reshape(-1), grad.reshape(-1)
	assert np.shares_memory(flat, ary), "ary must be contiguous: its elements are moved in place"

	for i in range(flat.size):
		saved = flat[i]
		flat[i] = saved + h
		up = loss()
		flat[i] = saved - h
		down = loss()
		flat[i] = saved
		gradFlat[i] = (up - down) / (2 * h)

	return grad


# --- bitwise comparison ------------------------------------------------------------------------

def bits(ary):
	"""The raw bit patterns of a float array (NaN payloads and the sign of zero included)."""
	ary = np.ascontiguousarray(ary)
	return ary.view(UINT[ary.dtype.itemsize])


def assertSameBits(got, expected, context=""):
	assert got.shape == expected.shape and got.dtype == expected.dtype, "%s: %s %s vs %s %s" % (
		context, got.shape, got.dtype, expected.shape, expected.dtype
	)
	differ = np.flatnonzero(bits(got).ravel() != bits(expected).ravel())
	if differ.size:
		i = int(differ[0])
		raise AssertionError("%s: %d element(s) differ bitwise, first at flat index %d: %r vs %r" % (
			context, differ.size, i, got.ravel()[i], expected.ravel()[i]
		))


# --- process memory ----------------------------------------------------------------------------

def rssBytes():
	"""Resident set size of this process now (/proc/self/statm)."""
	with open("/proc/self/statm") as f:
		return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def peakRssBytes():
	"""The peak resident set size of this process so far (VmHWM)."""
	with open("/proc/self/status") as f:
		for line in f:
			if line.startswith("VmHWM:"):
				return int(line.split()[1]) * 1024

	raise AssertionError("no VmHWM in /proc/self/status")


# --- the kernel child process ------------------------------------------------------------------

def childCases():
	"""(name, args) of every activation, with its documented defaults and with custom args."""
	from cases import CASES
	return [(case.name, tuple(case.args)) for case in CASES]


CHILD_DTYPES = ("float16", "float32", "float64")
CHILD_SIZE = 40000          # above the CPU kernels' threading threshold (1 << 15)


def childInputs(dtype):
	"""(x, dy) every child computes on: normals over several scales, then +-0, +-inf and NaN."""
	rng = np.random.default_rng(20240601)
	x = rng.standard_normal(CHILD_SIZE) * np.repeat([0.5, 4.0, 40.0, 400.0], CHILD_SIZE // 4)
	x[:5] = (0.0, -0.0, np.inf, -np.inf, np.nan)
	dy = rng.uniform(-3, 3, CHILD_SIZE)

	with np.errstate(over="ignore"):
		return x.astype(dtype), dy.astype(dtype)


def resultKey(thread, name, args, dtype, direction):
	return "%d|%s|%s|%s|%s" % (thread, name, ",".join(repr(float(a)) for a in args), dtype, direction)


def parseKey(key):
	thread, name, args, dtype, direction = key.split("|")
	return int(thread), name, tuple(float(a) for a in args.split(",") if a), dtype, direction


def childEnv(cacheDir, **extra):
	"""The child's environment: CPU backend, compiled kernels only (no silent numpy fallback)."""
	env = dict(os.environ)
	# the child runs from tests/: it finds this checkout's PuzzleLib whether or not it is installed
	env["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
	env.update(PUZZLELIB_BACKEND="cpu", PUZZLELIB_CPU_KERNELS="compiled", PUZZLELIB_CACHE_DIR=str(cacheDir))
	env.update({key: str(value) for key, value in extra.items()})
	return env


def startChild(outPrefix, env, threads=0):
	"""Starts the child (in its own session, so a test can kill it with everything it started)."""
	return subprocess.Popen(
		[sys.executable, CHILD, str(outPrefix), str(threads)], env=env, cwd=TESTS,
		stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
	)


def finishChild(proc, outPrefix, timeout=300):
	"""Waits for a child; returns its report {"warnings", "kernelTypes", "stderr"} and its results."""
	try:
		_, stderr = proc.communicate(timeout=timeout)
	except subprocess.TimeoutExpired:
		os.killpg(proc.pid, 9)
		proc.communicate()
		raise AssertionError("the kernel child did not finish in %d s" % timeout)

	assert proc.returncode == 0, "the kernel child failed (exit %d):\n%s" % (proc.returncode, stderr[-6000:])
	with open(str(outPrefix) + ".json") as f:
		report = json.load(f)
	report["stderr"] = stderr

	with np.load(str(outPrefix) + ".npz") as archive:
		results = {key: archive[key] for key in archive.files}

	return report, results


def runChild(outPrefix, env, threads=0, timeout=300):
	return finishChild(startChild(outPrefix, env, threads), outPrefix, timeout)


def checkChildResults(results, threads=1):
	"""Every case, dtype and direction is present for every thread, within the references' bounds,
	and (with several threads) bitwise the same in every thread."""
	import reference
	from cases import Case, refBackward

	expected = {
		resultKey(thread, name, args, dtype, direction)
		for thread in range(threads) for name, args in childCases() for dtype in CHILD_DTYPES
		for direction in ("forward", "backward")
	}
	assert set(results) == expected, "missing results: %s" % sorted(expected - set(results))[:5]

	for key, got in results.items():
		thread, name, args, dtype, direction = parseKey(key)
		x, dy = childInputs(dtype)

		if thread > 0:
			assertSameBits(got, results[resultKey(0, name, args, dtype, direction)], "thread %d vs 0: %s" % (thread, key))
			continue

		if direction == "forward":
			reference.assertClose(got, reference.forward(name, x, args), context=key)
		else:
			y = results[resultKey(0, name, args, dtype, "forward")]
			reference.assertClose(got, refBackward(Case(name, args, args), dy, y), context=key)
