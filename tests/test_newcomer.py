"""What a script meets on its first run: the log (one readable backend line, the application's own
logging configuration respected, the first build announced, each warning once), numpy refusing
a GPUArray, and the main job's labelled output. Each runs in a fresh interpreter, as a script would."""

import io, os, re, subprocess, sys

import numpy as np
import pytest

from cases import gpu


TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)


def runPython(code, cacheDir=None, args=(), **env):
	"""Runs code (or, with code None, `python -m PuzzleLib args`) on the CPU backend; returns (stdout, stderr)."""
	environ = {key: value for key, value in os.environ.items() if key not in ("CC", "PUZZLELIB_CPU_KERNELS")}
	environ["PYTHONPATH"] = os.pathsep.join(filter(None, [ROOT, environ.get("PYTHONPATH")]))
	environ["PUZZLELIB_BACKEND"] = "cpu"
	if cacheDir is not None:
		environ["PUZZLELIB_CACHE_DIR"] = str(cacheDir)
	environ.update(env)

	command = [sys.executable, "-c", code] if code is not None else [sys.executable, "-m", "PuzzleLib", *args]
	proc = subprocess.run(command, cwd=TESTS, env=environ, capture_output=True, text=True, timeout=300)
	assert proc.returncode == 0, proc.stderr[-4000:]
	return proc.stdout, proc.stderr


def libraryLines(text):
	return [line for line in text.splitlines() if line.startswith("[PuzzleLib]")]


def bracketDepth(text):
	depth = deepest = 0
	for char in text:
		depth += {"(": 1, ")": -1}.get(char, 0)
		deepest = max(deepest, depth)
	return deepest


IMPORT = "from PuzzleLib.Backend import gpuarray\n"

RUN_ACTIVATION = IMPORT + """
import numpy as np
from PuzzleLib.Modules import Activation
Activation("sigmoid")(gpuarray.to_gpu(np.linspace(-3, 3, 64, dtype=np.float32)))
"""


# --- the backend line ------------------------------------------------------------------------

@pytest.mark.parametrize("choice", ["automatic", "PUZZLELIB_BACKEND"])
def test_backend_line_is_one_sentence(choice):
	env = {"PUZZLELIB_BACKEND": ""} if choice == "automatic" else {}
	stdout, stderr = runPython(IMPORT, **env)

	lines = libraryLines(stderr)
	assert len(lines) == 1, stderr
	assert re.match(r"\[PuzzleLib\] INFO: using the (cpu|cuda) backend(, as | on |, chosen automatically)", lines[0]), lines[0]
	assert bracketDepth(lines[0]) <= 1, "the line nests brackets: %s" % lines[0]
	assert stdout == ""


# --- the application's logging configuration ------------------------------------------------

def test_records_reach_the_applications_handler_once():
	code = (
		"import logging, sys\n"
		"logging.basicConfig(level=logging.INFO, stream=sys.stdout, format='APP %(name)s: %(message)s')\n"
		+ IMPORT
	)
	stdout, stderr = runPython(code)

	assert libraryLines(stderr) == [], "the library's own handler stays quiet when the application has one"
	appLines = [line for line in stdout.splitlines() if line.startswith("APP PuzzleLib: using the cpu backend")]
	assert len(appLines) == 1, stdout


def test_the_applications_level_is_kept():
	code = (
		"import logging\n"
		"logging.getLogger('PuzzleLib').setLevel(logging.WARNING)\n"
		+ IMPORT +
		"print(logging.getLevelName(logging.getLogger('PuzzleLib').level))\n"
	)
	stdout, stderr = runPython(code)

	assert stdout.split() == ["WARNING"]
	assert libraryLines(stderr) == [], "an INFO record passed a WARNING level:\n%s" % stderr


def test_first_build_is_announced_and_system_log_shows_debug(tmp_path):
	_, first = runPython(RUN_ACTIVATION, cacheDir=tmp_path)
	announced = [line for line in libraryLines(first) if "compiling CPU kernels, once" in line]
	assert len(announced) == 1 and str(tmp_path) in announced[0], first
	assert not any("DEBUG" in line for line in libraryLines(first))

	_, second = runPython("from PuzzleLib import Config\nConfig.systemLog = True\n" + RUN_ACTIVATION, cacheDir=tmp_path)
	assert not any("compiling" in line for line in libraryLines(second)), "a cached library is not rebuilt"
	assert any(line.startswith("[PuzzleLib] DEBUG: loaded CPU kernels from %s" % tmp_path) for line in libraryLines(second)), second


def test_a_kernel_warning_is_printed_once(tmp_path):
	_, stderr = runPython(RUN_ACTIVATION, cacheDir=tmp_path, CC="")
	assert stderr.count("CPU kernels fall back to numpy") == 1, stderr
	assert "KernelWarning" in stderr


# --- numpy refuses a GPUArray ----------------------------------------------------------------

NUMPY_USES = {
	"np.asarray": lambda ary, host: np.asarray(ary),
	"np.array": lambda ary, host: np.array(ary),
	"np.array_equal": lambda ary, host: np.array_equal(ary, host),
	"np.allclose": lambda ary, host: np.allclose(ary, host),
	"np.save": lambda ary, host: np.save(io.BytesIO(), ary),
	"ary == host": lambda ary, host: ary == host,
	"host == ary": lambda ary, host: host == ary,
	"ary != ary": lambda ary, host: ary != ary,
}


@pytest.mark.parametrize("use", sorted(NUMPY_USES))
def test_numpy_refuses_a_gpuarray(backend, use):
	if backend == "cuda":
		pytest.skip("on cuda the array is pycuda's own GPUArray, which this library does not change")

	host = np.arange(6, dtype=np.float32)
	ary = gpu(host)
	with pytest.raises(TypeError, match=r"not a numpy array.*\.get\(\)"):
		NUMPY_USES[use](ary, host)

	assert np.array_equal(ary.get(), host), "the way that works"
	assert {ary: 1}[ary] == 1, "still usable as a dict key (by identity)"


# --- the main job ----------------------------------------------------------------------------

def test_main_job_labels_its_matrices():
	stdout, _ = runPython(None, args=("--size", "4096", "--repeat", "1"))
	lines = stdout.splitlines()

	labels = [index for index, line in enumerate(lines) if line in ("input:", "sigmoid:", "relu:")]
	assert [lines[index] for index in labels] == ["input:", "sigmoid:", "relu:"], stdout
	assert labels[1] - labels[0] == 4 and labels[2] - labels[1] == 4, "each label heads its 3x3 matrix:\n%s" % stdout
	firstRow = lambda label: [float(v) for v in re.findall(r"-?\d+\.?\d*(?:e[-+]\d+)?", lines[label + 1])]
	assert firstRow(labels[0]) == [3, -8, -8] and firstRow(labels[2]) == [3, 0, 0], stdout


# --- the package's metadata --------------------------------------------------------------------

def test_setup_names_this_project_not_the_original():
	import ast

	with open(os.path.join(ROOT, "setup.py"), encoding="utf-8") as f:
		tree = ast.parse(f.read())

	call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setup")
	keywords = {keyword.arg: keyword.value for keyword in call.keywords}
	for field in ("name", "author"):
		assert field in keywords, "setup() has no %s" % field
	name, author = ast.literal_eval(keywords["name"]), ast.literal_eval(keywords["author"])

	# the package is PuzzleLib (scripts import it unchanged); the distribution and its author are
	# this project, and no address of the original's repository is given as this project's
	assert name != "PuzzleLib" and "compatible" in name.lower(), name
	assert "PuzzleLib-compatible" in author, author
	for field in ("url", "project_urls", "download_url"):
		if field in keywords:
			assert "puzzlelib/PuzzleLib" not in ast.unparse(keywords[field]), "%s points at the original's repository" % field
