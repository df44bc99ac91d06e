"""Chooses the backend once, at the first import of PuzzleLib.Backend, and says why in one log line.

PUZZLELIB_BACKEND=cuda|cpu wins; else Config.backend as the script set it; else automatic: cuda
where pycuda imports and a device initialises, otherwise cpu. Asking for cuda where it cannot work
raises Config.ConfigError saying what is missing.
"""

import os

from PuzzleLib import Config


def _parse(value, source):
	if isinstance(value, Config.Backend):
		member = value
	else:
		member = Config.Backend.__members__.get(str(value).strip().lower())

	if member not in (Config.Backend.cuda, Config.Backend.cpu):
		raise Config.ConfigError("%s=%r: supported backends are cuda and cpu" % (source, value))

	return member


def choose():
	"""(backend, why: the rest of the log's sentence), initialising the device when the backend is cuda."""
	from PuzzleLib.Cuda import Driver

	env = os.environ.get("PUZZLELIB_BACKEND", "").strip()
	if env:
		requested, source = _parse(env, "PUZZLELIB_BACKEND"), "PUZZLELIB_BACKEND=%s" % env
	elif Config.backend is not None:
		requested, source = _parse(Config.backend, "Config.backend"), "Config.backend = %s" % Config.backend
	else:
		requested, source = None, None

	if requested is Config.Backend.cpu:
		return Config.Backend.cpu, ", as %s asks" % source

	if requested is Config.Backend.cuda:
		Driver.initialise(Config.deviceIdx)          # raises ConfigError saying what is missing
		return Config.Backend.cuda, " on %s, as %s asks" % (Driver.device.name(), source)

	try:
		Driver.initialise(Config.deviceIdx)
	except Config.ConfigError as e:
		return Config.Backend.cpu, ", chosen automatically since cuda is not usable: %s" % e

	return Config.Backend.cuda, " on %s, chosen automatically" % Driver.device.name()


def select():
	"""Chooses the backend, says which in one log line, and records it in Config.backend."""
	backend, why = choose()
	Config.backend = backend
	Config.getLogger().info("using the %s backend%s", backend.name, why)
	return backend
