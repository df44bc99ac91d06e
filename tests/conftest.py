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
