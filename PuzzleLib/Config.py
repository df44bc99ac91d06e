"""Library-wide settings. A script may change them before it first imports PuzzleLib.Backend."""

import logging, sys
from enum import Enum


class ConfigError(Exception):
	pass


class Backend(Enum):
	cuda = 0
	hip = 1
	cpu = 2
	intel = 3


# None picks automatically: cuda where pycuda imports and a device initialises, else cpu.
# The environment variable PUZZLELIB_BACKEND=cuda|cpu overrides it.
backend = None
deviceIdx = 0

libname = "PuzzleLib"
cachepath = None           # where compiled kernels are cached; None: $XDG_CACHE_HOME/PuzzleLib

globalEvalMode = False
disableDtypeShapeChecks = False
showWarnings = True

verifyData = False                  # costs check label ranges (a host round trip per batch)
disableModuleCompatChecks = False   # containers skip the inplace-after-gradUsesOutData check


def isCPUBased(bnd):
	return bnd in {Backend.cpu, Backend.intel}


def getLogger():
	logger = logging.getLogger(libname)

	if not logger.handlers:
		handler = logging.StreamHandler(sys.stderr)
		handler.setFormatter(logging.Formatter("[%(name)s] %(levelname)s: %(message)s"))
		logger.addHandler(handler)
		logger.setLevel(logging.INFO)
		logger.propagate = False

	return logger
