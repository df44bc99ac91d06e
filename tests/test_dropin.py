"""Names and settings that scripts written for the original use: the Modules exports, Config's
settings and backend, the kernels' stream= keyword, and genericCheckDataType's signature."""

import multiprocessing, os, subprocess, sys

import numpy as np
import pytest

from cases import gpu, normal


TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)

CONSTANTS = ("sigmoid", "tanh", "relu", "leakyRelu", "elu", "softPlus", "clip")


# --- PuzzleLib.Modules exports what the original's does ---------------------------------------

def test_modules_export_the_activation_constants_and_memory_unit():
	import PuzzleLib.Modules as Modules
	from PuzzleLib.Modules import Activation, ActivationType, MemoryUnit, relu    # noqa: F401

	for name in CONSTANTS:
		constant = getattr(Modules, name)
		assert constant is ActivationType[name] and constant == name
		assert name in Modules.__all__

	assert MemoryUnit.mb == "mb" and MemoryUnit.kb == "kb"


def test_activation_built_from_an_exported_constant(backend):
	from PuzzleLib.Modules import Activation, relu

	host = normal((4, 5))
	assert np.array_equal(Activation(relu)(gpu(host)).get(), np.where(host > 0, host, 0))


# --- Config -----------------------------------------------------------------------------------

def test_config_backend_holds_the_chosen_backend(backend):
	from PuzzleLib import Config
	from PuzzleLib.Backend import gpuarray    # noqa: F401 (the import chooses the backend)

	assert Config.backend == Config.Backend[backend]
	assert Config.isCPUBased(Config.backend) == (backend == "cpu")


def test_config_has_the_original_settings_with_their_defaults():
	from PuzzleLib import Config

	# read in a fresh interpreter: another test may have changed this process's settings
	code = (
		"from PuzzleLib import Config; "
		"print(Config.verifyData, Config.disableModuleCompatChecks, Config.allowMultiContext, "
		"Config.systemLog, Config.shouldInit())"
	)
	out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
	assert out.returncode == 0, out.stderr
	assert out.stdout.split() == ["False", "False", "False", "False", "True"]
	assert callable(Config.shouldInit)


class _Worker:
	name = "SpawnProcess-1"


def test_should_init_only_in_the_main_process(monkeypatch):
	from PuzzleLib import Config

	monkeypatch.setattr(Config, "allowMultiContext", False)
	assert Config.shouldInit()

	monkeypatch.setattr(multiprocessing, "current_process", lambda: _Worker())
	assert not Config.shouldInit()

	monkeypatch.setattr(Config, "allowMultiContext", True)
	assert Config.shouldInit()


def test_a_worker_process_creates_no_cuda_context(monkeypatch):
	from PuzzleLib import Config
	from PuzzleLib.Cuda import Driver

	monkeypatch.setattr(Driver, "context", None)
	monkeypatch.setattr(Config, "allowMultiContext", False)
	monkeypatch.setattr(multiprocessing, "current_process", lambda: _Worker())

	with pytest.raises(Config.ConfigError, match="SpawnProcess-1 is not the main process.*Config.allowMultiContext"):
		Driver.initialise(0)


def _reportInWorker(queue):
	os.environ.pop("PUZZLELIB_BACKEND", None)       # the automatic choice, whichever backend the suite runs
	try:
		from PuzzleLib import Config
		from PuzzleLib.Backend import gpuarray    # noqa: F401 (the import chooses the backend)
		queue.put((Config.shouldInit(), Config.backend.name))
	except BaseException as e:
		queue.put(("failed", repr(e)))


def test_should_init_is_false_in_a_spawned_worker():
	context = multiprocessing.get_context("spawn")
	queue = context.Queue()
	worker = context.Process(target=_reportInWorker, args=(queue, ))
	worker.start()
	try:
		shouldInit, backend = queue.get(timeout=120)
	finally:
		worker.join(timeout=60)

	assert shouldInit is False
	assert backend == "cpu", "a worker that may not initialise a device computes on the CPU"


# --- kernels take the original's stream= -------------------------------------------------------

def test_kernels_accept_and_ignore_stream(backend):
	from PuzzleLib.Backend.Kernels.ElementWise import leakyReluKer, leakyReluDerKer

	x, dy = normal(1000, seed=1), normal(1000, seed=2)
	plain, streamed = gpu(np.zeros_like(x)), gpu(np.zeros_like(x))
	ker = leakyReluKer(np.float32)
	ker(plain, gpu(x), 0.2)
	ker(streamed, gpu(x), 0.2, slice=None, stream=None)
	assert np.array_equal(plain.get(), streamed.get())

	y = streamed
	gradPlain, gradStreamed = gpu(np.zeros_like(x)), gpu(np.zeros_like(x))
	der = leakyReluDerKer(np.float32)
	der(gradPlain, gpu(dy), y, 0.2)
	der(gradStreamed, gpu(dy), y, 0.2, stream=object())
	assert np.array_equal(gradPlain.get(), gradStreamed.get())


# --- genericCheckDataType(dtype), as subclasses override it --------------------------------------

def test_generic_check_data_type_takes_one_argument(backend):
	from PuzzleLib.Modules import Activation, ModuleError

	class Checked(Activation):
		def __init__(self):
			super().__init__("relu")
			self.checked = []

		def genericCheckDataType(self, dtype):
			self.checked.append(np.dtype(dtype))
			super().genericCheckDataType(dtype)

	act = Checked()
	data = gpu(normal((3, 4)))
	act(data)
	act.backward(gpu(normal((3, 4), seed=5)))
	assert act.checked == [np.dtype(np.float32)] * 2, "data and grad are both checked through the override"

	with pytest.raises(ModuleError, match=r"expected dtype float32 \(set by calcMode\), got float64"):
		act(gpu(normal((3, 4), np.float64)))
