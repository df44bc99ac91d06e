"""Every test module that touches arrays runs per backend: a test id ends in [cpu] or [cuda].

The process's backend is chosen once (PUZZLELIB_BACKEND, else automatic); cases for the other
backend skip with the reason, so a CPU run shows its cuda cases as skipped, never as passed.
"""

import os, sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(scope="session")
def activeBackend():
	from PuzzleLib import Backend
	return Backend.current.name


@pytest.fixture(params=["cpu", "cuda"])
def backend(request, activeBackend):
	if request.param != activeBackend:
		how = "PUZZLELIB_BACKEND=cuda pytest on a machine with pycuda and a GPU" if request.param == "cuda" \
			else "PUZZLELIB_BACKEND=cpu pytest"
		pytest.skip("this run's backend is %s; %s cases run under %s" % (activeBackend, request.param, how))
	return request.param


def pytest_addoption(parser):
	parser.addoption(
		"--backend-cases", choices=("all", "cuda"), default="all",
		help="cuda: only the cases that run on the CUDA backend (ids ending in [cuda]-parametrized "
		"backend, and tests marked emucuda); what tests/emucuda/run runs in CI"
	)


def pytest_configure(config):
	config.addinivalue_line("markers", "emucuda: runs only on the host-emulated CUDA driver (tests/emucuda/run)")


def _runsOnCuda(item):
	callspec = getattr(item, "callspec", None)
	return item.get_closest_marker("emucuda") is not None or (
		callspec is not None and callspec.params.get("backend") == "cuda"
	)


def pytest_collection_modifyitems(config, items):
	if config.getoption("--backend-cases") != "cuda":
		return

	kept = [item for item in items if _runsOnCuda(item)]
	deselected = [item for item in items if not _runsOnCuda(item)]
	if deselected:
		config.hook.pytest_deselected(items=deselected)
		items[:] = kept
