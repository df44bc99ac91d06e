"""The CPU backend's two kernel paths, compiled C and the numpy fallback, each within the accuracy
bounds; and a process without a C compiler still works, with one warning in all."""

import json, os, subprocess, sys, warnings

import numpy as np
import pytest

from cases import (
	ACTIVATIONS, CASES, DEFAULT_CASES, DTYPES, assertBackward, assertForward, backwardInputs, checkBackwardAccuracy,
	checkForwardAccuracy, forwardInputs, idOf, randomGrad, run, specials
)


PATHS = ("compiled", "numpy")
PATH_CLASS = {"compiled": "CompiledKernel", "numpy": "NumpyKernel"}
SLICES = (slice(5, -7, 3), slice(None, None, -2), slice(-40, 17))


@pytest.fixture
def cpu(backend):
	if backend != "cpu":
		pytest.skip("the CPU kernel paths are CPU-backend internals; this run's backend is %s" % backend)


def pathKernel(case, direction, dtype, path):
	from PuzzleLib.CPU import ElementWise
	from PuzzleLib.Kernels.Table import TABLE

	ker = ElementWise.kernel(TABLE[case.name + ("Der" if direction == "backward" else "")], np.dtype(dtype), path=path)
	assert type(ker).__name__ == PATH_CLASS[path]
	return ker


def cpuArray(host):
	from PuzzleLib.CPU.GPUArray import to_gpu
	return to_gpu(np.ascontiguousarray(host))


def checkSliced(ker, case, operands, assertInside):
	"""A sliced call writes exactly the slice's elements (each within bounds), and nothing else."""
	before = randomGrad(operands[0].size, operands[0].dtype, seed=20)
	for slc in SLICES:
		inside = np.zeros(before.size, dtype=bool)
		inside[np.arange(before.size)[slc]] = True

		got = run(ker, before, operands, case.args, slc, toDevice=cpuArray)
		assert got[~inside].tobytes() == before[~inside].tobytes(), "%s wrote outside %s" % (ker.name, slc)
		assertInside(got[inside], *(operand[inside] for operand in operands), "(slice %s)" % slc)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("case", CASES, ids=idOf)
@pytest.mark.parametrize("dtype", DTYPES, ids=idOf)
def test_path_accuracy(cpu, path, case, dtype):
	ker, der = (pathKernel(case, direction, dtype, path) for direction in ("forward", "backward"))
	checkForwardAccuracy(case, dtype, ker, cpuArray, "(%s)" % path)
	checkBackwardAccuracy(case, dtype, der, cpuArray, "(%s)" % path)

	x = forwardInputs(dtype)
	checkSliced(ker, case, (x, ), lambda got, x, what: assertForward(got, case, x, "(%s) %s" % (path, what)))

	y, grads = backwardInputs(case, dtype)
	checkSliced(
		der, case, (grads["random"], y),
		lambda got, dy, y, what: assertBackward(got, case, dy, y, "(%s) %s" % (path, what))
	)


@pytest.mark.parametrize("path", PATHS)
def test_paths_raise_no_floating_point_warnings(cpu, path):
	"""Overflow to inf and NaN are results here, not events: no RuntimeWarning reaches the user."""
	with warnings.catch_warnings():
		warnings.simplefilter("error")
		for case in CASES:
			for dtype in DTYPES:
				values = specials(dtype)
				run(pathKernel(case, "forward", dtype, path), values, (values, ), case.args, toDevice=cpuArray)
				operands = (values, values[::-1].copy())
				run(pathKernel(case, "backward", dtype, path), values, operands, case.args, toDevice=cpuArray)


# --- a process without a C compiler --------------------------------------------------------------

SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("always")

with warnings.catch_warnings(record=True) as caught:
	warnings.simplefilter("always")
	import numpy as np
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.CPU import ElementWise
	from PuzzleLib.Kernels.Table import TABLE
	from PuzzleLib.Modules import Activation

	inputs = np.load(sys.argv[1])
	results, kernelTypes, errors = {}, set(), []
	for key in inputs.files:
		if not key.startswith("x-"):
			continue
		_, name, dtype = key.split("-")
		x, dy = inputs[key], inputs["dy-%s-%s" % (name, dtype)]
		try:
			for repeat in range(3):
				act = Activation(name)
				act.calcMode(np.dtype(dtype))
				y = act(gpuarray.to_gpu(x))
				act.backward(gpuarray.to_gpu(dy))
			results["y-%s-%s" % (name, dtype)] = y.get()
			results["dx-%s-%s" % (name, dtype)] = act.grad.get()
			kernelTypes.add(type(ElementWise.kernel(TABLE[name], np.dtype(dtype))).__name__)
		except Exception as e:
			errors.append("%s: %s" % (type(e).__name__, e))

	np.savez(sys.argv[2], **results)

print(json.dumps({
	"kernelWarnings": [str(w.message) for w in caught if w.category.__name__ == "KernelWarning"],
	"otherWarnings": [str(w.message) for w in caught if w.category.__name__ != "KernelWarning"],
	"kernelTypes": sorted(kernelTypes),
	"errors": errors,
}))
"""

SCENARIOS = {
	# name: (environment changes, expected kernel type, expected KernelWarnings, errors expected)
	"no-compiler": ({"CC": ""}, "NumpyKernel", 1, False),
	"numpy-requested": ({"PUZZLELIB_CPU_KERNELS": "numpy"}, "NumpyKernel", 0, False),
	"compiled-without-compiler": ({"CC": "", "PUZZLELIB_CPU_KERNELS": "compiled"}, None, 0, True),
}


def runScript(tmp_path, changes):
	inputs = {}
	for case in DEFAULT_CASES:
		for dtype in DTYPES:
			x = forwardInputs(dtype, n=300, seed=21)
			inputs["x-%s-%s" % (case.name, dtype.name)] = x
			inputs["dy-%s-%s" % (case.name, dtype.name)] = randomGrad(x.size, dtype, seed=22)

	np.savez(tmp_path / "inputs.npz", **inputs)
	cache = tmp_path / "cache"
	cache.mkdir()

	env = {key: value for key, value in os.environ.items() if key not in ("PUZZLELIB_CPU_KERNELS", "CC")}
	env.update({"PUZZLELIB_CACHE_DIR": str(cache), "PUZZLELIB_BACKEND": "cpu"}, **changes)

	proc = subprocess.run(
		[sys.executable, "-c", SCRIPT, str(tmp_path / "inputs.npz"), str(tmp_path / "results.npz")],
		env=env, capture_output=True, text=True, timeout=300
	)
	assert proc.returncode == 0, proc.stderr[-4000:]
	return inputs, np.load(tmp_path / "results.npz"), json.loads(proc.stdout.strip().splitlines()[-1]), proc.stderr, cache


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_process_without_compiler(cpu, tmp_path, scenario):
	changes, kernelType, nWarnings, failing = SCENARIOS[scenario]
	inputs, results, report, stderr, cache = runScript(tmp_path, changes)

	assert not any(path.suffix == ".so" for path in cache.iterdir()), "a library was built: %s" % list(cache.iterdir())
	assert report["otherWarnings"] == []
	assert len(report["kernelWarnings"]) == nWarnings, report["kernelWarnings"]

	logged = [line for line in stderr.splitlines() if "WARNING" in line]
	assert logged == [], "a KernelWarning is not repeated as a log line:\n%s" % stderr
	if nWarnings:
		assert "numpy" in report["kernelWarnings"][0] and "compiler" in report["kernelWarnings"][0]

	if failing:
		assert len(report["errors"]) == len(ACTIVATIONS) * len(DTYPES)
		assert all("compiler" in error for error in report["errors"]), report["errors"]
		return

	assert report["errors"] == [] and report["kernelTypes"] == [kernelType]
	for case in DEFAULT_CASES:
		for dtype in DTYPES:
			key = "%s-%s" % (case.name, dtype.name)
			x, dy, y = inputs["x-" + key], inputs["dy-" + key], results["y-" + key]
			assertForward(y, case, x, "(%s)" % scenario)
			assertBackward(results["dx-" + key], case, dy, y, "(%s)" % scenario)
