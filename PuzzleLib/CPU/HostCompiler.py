"""Compiles C source into a shared library once, caches it on disk, and loads it with ctypes.

The cache key hashes the source, the flags, the compiler's version and the CPU (the library is
built for -march=native, so a cache shared between machines must not mix them up). A library is
written under a temporary name and renamed into place, and its SHA-256 is kept beside it: a
truncated or corrupt file, or a half-written one from a killed process, is never loaded; it is
rebuilt. Where the cache cannot be written the library is built in a private temporary folder,
removed when the process exits. Processes that find no valid library take an exclusive lock
(flock on <stem>.lock) to build it, so one builds and the others load its result; the lock
holder also removes temporary files that a killed build left behind.
"""

import atexit, contextlib, ctypes, glob, hashlib, os, shutil, subprocess, sys, tempfile, threading

try:
	import fcntl
except ImportError:          # not POSIX: builds are still atomic renames, just not serialised
	fcntl = None

from PuzzleLib import Config


# Never -ffast-math: it breaks NaN handling and sets flush-to-zero for the whole process. Of its
# parts only these two are taken, which change no result: math functions do not set errno (so
# they can be vectorized), and nothing reads floating-point exception flags (so both sides of a
# select can be computed, which is what lets the branch-free loops vectorize).
FLAGS = (
	"-O3", "-march=native", "-fopenmp-simd", "-pthread", "-fno-math-errno", "-fno-trapping-math", "-fPIC", "-shared", "-std=gnu11"
)
LIBS = ("-lmvec", "-lm")


class CompilerError(RuntimeError):
	pass


def findCompiler():
	"""The host C compiler: $CC if set (an empty $CC means none), else cc or gcc on PATH."""
	cc = os.environ.get("CC")
	if cc is not None:
		return shutil.which(cc) if cc else None

	return shutil.which("cc") or shutil.which("gcc")


def cacheDir():
	path = os.environ.get("PUZZLELIB_CACHE_DIR") or Config.cachepath
	if path:
		return path

	base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
	return os.path.join(base, "PuzzleLib")


def _cpuIdentity():
	try:
		with open("/proc/cpuinfo") as f:
			lines = [line for line in f if line.startswith(("model name", "flags"))]
		return "".join(sorted(set(lines)))
	except OSError:
		import platform
		return platform.processor() + platform.machine()


_versions = {}


def _compilerVersion(cc):
	if cc not in _versions:
		out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=60)
		_versions[cc] = out.stdout
	return _versions[cc]


def _digest(path):
	with open(path, "rb") as f:
		return hashlib.sha256(f.read()).hexdigest()


def _build(cc, sourcePath, libPath):
	proc = subprocess.run(
		[cc, *FLAGS, "-o", libPath, sourcePath, *LIBS], capture_output=True, text=True, timeout=600
	)
	if proc.returncode != 0:
		raise CompilerError("%s failed (exit %d):\n%s" % (cc, proc.returncode, proc.stderr[-4000:]))


def _buildInto(folder, stem, cc, source):
	"""Builds under temporary names in folder, then renames the library and its digest into place."""
	fd, tmpSource = tempfile.mkstemp(prefix=stem + ".", suffix=".c", dir=folder)
	tmpLib = tmpSource[:-2] + ".so"

	try:
		with os.fdopen(fd, "w") as f:
			f.write(source)

		_build(cc, tmpSource, tmpLib)
		digest = _digest(tmpLib)

		libPath = os.path.join(folder, stem + ".so")
		fd, tmpDigest = tempfile.mkstemp(prefix=stem + ".", suffix=".sha256", dir=folder)
		with os.fdopen(fd, "w") as f:
			f.write(digest)

		# mkstemp makes its file private (0600); whoever may read the library must read its
		# digest too, or to them the library looks corrupt and they rebuild it at every start
		os.chmod(tmpDigest, os.stat(tmpLib).st_mode & 0o666)

		os.replace(tmpLib, libPath)
		os.replace(tmpDigest, os.path.join(folder, stem + ".sha256"))
		return libPath, digest

	finally:
		for path in (tmpSource, tmpLib):
			if os.path.exists(path):
				os.unlink(path)


def _loadVerified(libPath, digestPath):
	"""The library when its recorded digest matches its bytes, else None."""
	try:
		with open(digestPath) as f:
			expected = f.read().strip()
		if _digest(libPath) != expected:
			return None
		lib = ctypes.CDLL(libPath)
	except OSError:
		return None

	Config.getLogger().debug("loaded CPU kernels from %s", libPath)
	return lib


_lock = threading.RLock()        # held by load and by _load within it
_private = None


def _privateDir():
	global _private
	if _private is None:
		_private = tempfile.mkdtemp(prefix="PuzzleLib-kernels-")
		atexit.register(shutil.rmtree, _private, ignore_errors=True)    # a loaded library may be unlinked
	return _private


@contextlib.contextmanager
def _buildLock(folder, stem):
	"""Held while one process checks and builds a library in folder; OSError where it cannot be taken."""
	fd = os.open(os.path.join(folder, stem + ".lock"), os.O_RDWR | os.O_CREAT, 0o666)
	try:
		if fcntl is not None:
			fcntl.flock(fd, fcntl.LOCK_EX)
		yield
	finally:
		os.close(fd)                    # closing releases the lock (as does a process's death)


def _removeStale(folder, stem):
	"""Temporary files of builds that died midway; only the lock holder builds, so none is live."""
	if fcntl is None:
		return

	for pattern in (".*.c", ".*.so", ".*.sha256"):
		for path in glob.glob(os.path.join(glob.escape(folder), glob.escape(stem) + pattern)):
			with contextlib.suppress(OSError):
				os.unlink(path)


_failures = {}         # cache key -> the error its build ended with: not retried in this process


def load(source, cc, warn):
	"""The ctypes library built from source with cc. warn(message) reports trouble with the cache.

	A build that fails is not tried again in this process (a broken toolchain would otherwise cost
	a compilation for every kernel asked for): asking again raises the same error.
	"""
	key = hashlib.sha256("\0".join(
		[source, " ".join(FLAGS + LIBS), _compilerVersion(cc), _cpuIdentity(), sys.platform]
	).encode()).hexdigest()[:32]

	with _lock:
		if key in _failures:
			raise _failures[key]

		try:
			return _load(source, cc, warn, key)
		except (CompilerError, OSError) as e:
			_failures[key] = e
			raise


def _load(source, cc, warn, key):
	stem = "kernels-%s" % key

	with _lock:
		folder = cacheDir()
		libPath, digestPath = os.path.join(folder, stem + ".so"), os.path.join(folder, stem + ".sha256")

		corrupt = os.path.exists(libPath)
		if corrupt:                             # the common case, which a read-only cache allows too
			lib = _loadVerified(libPath, digestPath)
			if lib is not None:
				return lib

		try:
			os.makedirs(folder, exist_ok=True)

			with _buildLock(folder, stem):
				corrupt = os.path.exists(libPath)
				if corrupt:                     # again: another process may have built it meanwhile
					lib = _loadVerified(libPath, digestPath)
					if lib is not None:
						return lib

					warn("cached kernel library %s is corrupt or incomplete: rebuilding it" % libPath)
					corrupt = False             # said

				_removeStale(folder, stem)
				_announce(folder)
				libPath, _ = _buildInto(folder, stem, cc, source)

		except OSError as e:
			warn("kernel cache %s is not writable (%s)%s: building in a temporary folder" % (
				folder, e, "; its library %s is corrupt or incomplete" % libPath if corrupt else ""
			))
			_announce(_privateDir())
			libPath, _ = _buildInto(_privateDir(), stem, cc, source)

		Config.getLogger().debug("loaded CPU kernels from %s", libPath)
		return ctypes.CDLL(libPath)


def _announce(folder):
	"""The first use builds for a few seconds: said, so that a script does not look hung."""
	Config.getLogger().info("compiling CPU kernels, once (a few seconds); cached in %s", folder)
