"""Initialises pycuda for one device, turning each way that can fail into a clear ConfigError.

pycuda is an optional extra: nothing here imports it before initialise() is called.
"""

import atexit, ctypes, multiprocessing, sys

from PuzzleLib import Config


context = None
device = None


def initialise(deviceIdx):
	global context, device
	if context is not None:
		return context

	if not Config.shouldInit():
		raise Config.ConfigError(
			"%s is not the main process, and only the main process initialises a device unless "
			"Config.allowMultiContext is True" % multiprocessing.current_process().name
		)

	try:
		import pycuda.driver as drv
	except ImportError as e:
		if isinstance(e, ModuleNotFoundError) and e.name == "pycuda":
			raise Config.ConfigError(
				"pycuda is not installed; on a machine with an NVIDIA GPU, pip install '.[cuda]' adds it"
			) from None

		# pycuda says "libcuda.so.1: cannot open ...", or, linked against a stub, "undefined symbol"
		missing = str(e) if "libcuda" in str(e) else driverMissing()
		if missing is not None:
			raise Config.ConfigError(
				"no NVIDIA driver on this machine, %s; without a GPU, leave out the cuda extra and use the "
				"CPU backend" % missing
			) from None

		# e.g. a pycuda built against a newer CUDA than the driver ("undefined symbol ..._v2")
		raise Config.ConfigError("pycuda is installed but does not import: %s" % e) from None

	try:
		drv.init()
		count = drv.Device.count()
	except drv.Error as e:
		raise Config.ConfigError("the CUDA driver did not initialise: %s" % e) from None

	if count == 0:
		raise Config.ConfigError("no CUDA device found")

	if not 0 <= deviceIdx < count:
		raise Config.ConfigError("Config.deviceIdx=%r but there are %d CUDA device(s)" % (deviceIdx, count))

	try:
		device = drv.Device(deviceIdx)
		context = device.retain_primary_context()
		context.push()
	except drv.Error as e:
		raise Config.ConfigError("CUDA device %d did not initialise: %s" % (deviceIdx, e)) from None

	Config.getLogger().debug("CUDA context on device %d, %s", deviceIdx, device.name())
	atexit.register(_release)
	return context


def driverMissing():
	"""Why the NVIDIA driver's library does not load, or None where it does."""
	try:
		ctypes.CDLL("nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1")
	except OSError as e:
		return str(e)
	return None


def _release():
	global context
	if context is not None:
		try:
			import pycuda.driver as drv
			drv.Context.pop()
		except Exception:
			pass
		context = None
