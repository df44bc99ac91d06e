"""Library-wide settings. A script may change them before it first imports PuzzleLib.Backend."""

import logging, multiprocessing, sys
from enum import Enum


class ConfigError(Exception):
	pass


class Backend(Enum):
	cuda = 0
	hip = 1
	cpu = 2
	intel = 3


# The backend to use, read once when PuzzleLib.Backend is first imported; from then on it holds the
# backend actually chosen. None picks automatically: cuda where pycuda imports and a device
# initialises, else cpu. The environment variable PUZZLELIB_BACKEND=cuda|cpu overrides it.
backend = None
deviceIdx = 0

# Only the main process initialises a device (worker processes that prepare data must not create
# a CUDA context of their own), unless this allows every process to.
allowMultiContext = False

# True: the library also logs its debug records (which device, which kernel library was loaded).
systemLog = False

libname = "PuzzleLib"
cachepath = None           # where compiled kernels are cached; None: $XDG_CACHE_HOME/PuzzleLib

globalEvalMode = False
disableDtypeShapeChecks = False
disableModuleCompatChecks = False   # containers skip the inplace-after-gradUsesOutData check
verifyData = False                  # costs check label ranges (a host round trip per batch)
showWarnings = True

verifyData = False                  # costs check label ranges (a host round trip per batch)
disableModuleCompatChecks = False   # containers skip the inplace-after-gradUsesOutData check


def isCPUBased(bnd):
	return bnd in {Backend.cpu, Backend.intel}


def shouldInit():
	"""Whether this process may initialise a device: the main process, or any with allowMultiContext."""
	return multiprocessing.current_process().name == "MainProcess" or allowMultiContext


class _FallbackHandler(logging.StreamHandler):
	"""The library's own output (stderr), used only while the application has no handler of its
	own: records propagate, so an application that configured logging gets them its way."""

	def __init__(self):
		super().__init__(sys.stderr)
		self.setFormatter(logging.Formatter("[%(name)s] %(levelname)s: %(message)s"))

	def emit(self, record):
		if not logging.getLogger().handlers:
			self.stream = sys.stderr          # the stream of now (a test or a script may replace it)
			super().emit(record)


_fallbackHandler = _FallbackHandler()
_ownLevel = logging.NOTSET       # the level this module gave the logger, which the application has not changed


def getLogger():
	"""The "PuzzleLib" logger. Where the application configured no logging, the library shows its
	INFO records (DEBUG too with systemLog) on stderr; a level the application set is kept."""
	global _ownLevel
	logger = logging.getLogger(libname)

	if _fallbackHandler not in logger.handlers:
		logger.addHandler(_fallbackHandler)

	if logger.level == _ownLevel:
		level = logging.NOTSET if logging.getLogger().handlers else logging.DEBUG if systemLog else logging.INFO
		if level != _ownLevel:
			logger.setLevel(level)
			_ownLevel = level

	return logger
