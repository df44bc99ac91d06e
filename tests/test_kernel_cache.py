"""The CPU backend's on-disk kernel cache survives damage, an unwritable location, racing and killed
builders: every scenario ends with correct results (checked against the references), one clear warning
where something was wrong and none where nothing was, never a crash or a wrong answer.

Each scenario runs in a child process (tests/kernel_child.py) with PUZZLELIB_BACKEND=cpu,
PUZZLELIB_CPU_KERNELS=compiled (so a broken build fails instead of quietly falling back to numpy) and
PUZZLELIB_CACHE_DIR pointing into tmp_path. The compiler is a wrapper around the real one that logs
each compilation (and can be slowed down), so a test can count builds. These tests exercise the CPU
backend in fresh processes and do not depend on this run's backend.
"""

import hashlib, os, shutil, signal, stat, time

import pytest

import harness


SO, DIGEST, LOCK = ".so", ".sha256", ".lock"


@pytest.fixture(scope="module")
def compilerWrapper(tmp_path_factory):
	real = shutil.which("cc") or shutil.which("gcc")
	if real is None:
		pytest.skip("no host C compiler (cc or gcc) on PATH: the compiled-kernel cache cannot be tested")

	path = tmp_path_factory.mktemp("cc") / "cc-wrapper"
	path.write_text(
		"#!/bin/sh\n"
		"case \"$1\" in --version|-v|-dumpversion) exec %s \"$@\";; esac\n"
		"echo $$ >> \"$PZ_CC_LOG\"\n"
		"if [ -n \"$PZ_CC_SLEEP\" ]; then sleep \"$PZ_CC_SLEEP\"; fi\n"
		"exec %s \"$@\"\n" % (real, real)
	)
	path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
	return path


class Scenario:
	"""One cache location, its compile log, and the environment of the children that use it."""

	def __init__(self, tmp_path, wrapper, cacheDir=None, **extra):
		self.tmp = tmp_path
		self.cache = tmp_path / "cache" if cacheDir is None else cacheDir
		self.log = tmp_path / "compiles.log"
		self.tmpdir = tmp_path / "tmpdir"
		self.tmpdir.mkdir()
		self.env = harness.childEnv(self.cache, CC=wrapper, PZ_CC_LOG=self.log, TMPDIR=self.tmpdir, **extra)
		self.runs = 0

	def prefix(self):
		self.runs += 1
		return str(self.tmp / ("child%d" % self.runs))

	def run(self):
		return checked(*harness.runChild(self.prefix(), self.env))

	def compiles(self):
		return len(self.log.read_text().split()) if self.log.exists() else 0

	def library(self):
		"""(library path, digest path) of the one cached library, checked to match its digest."""
		libs = sorted(self.cache.glob("kernels-*" + SO))
		assert len(libs) == 1, "expected one cached library, found %s" % sorted(p.name for p in self.cache.iterdir())
		lib = libs[0]
		digest = lib.with_suffix(DIGEST)
		assert digest.read_text().strip() == hashlib.sha256(lib.read_bytes()).hexdigest(), "digest does not match"
		return lib, digest

	def assertTidy(self):
		"""The cache holds the library, its digest and its lock file, and no temporary leftovers."""
		lib, _ = self.library()
		stem = lib.name[:-len(SO)]
		names = sorted(p.name for p in self.cache.iterdir())
		assert set(names) <= {stem + SO, stem + DIGEST, stem + LOCK}, "leftovers in the cache: %s" % names


def checked(report, results):
	"""The report of a child whose every kernel was compiled and computed within the bounds."""
	assert report["kernelTypes"] == ["CompiledKernel"], report
	harness.checkChildResults(results)
	return report


def assertWarned(report, pattern, count=1):
	import re
	matching = [w for w in report["warnings"] if re.search(pattern, w)]
	assert len(matching) == count and len(report["warnings"]) == count, (
		"expected %d warning(s) matching %r, got %s" % (count, pattern, report["warnings"])
	)


@pytest.fixture(scope="module")
def fresh(tmp_path_factory, compilerWrapper):
	"""A scenario whose first child found no cache folder at all, and built it (once for this module)."""
	tmp = tmp_path_factory.mktemp("fresh")
	scenario = Scenario(tmp, compilerWrapper, cacheDir=tmp / "not" / "yet" / "there")
	scenario.firstReport = scenario.run()
	return scenario


def fromFresh(tmp_path, wrapper, fresh):
	scenario = Scenario(tmp_path, wrapper)
	shutil.copytree(fresh.cache, scenario.cache)
	return scenario


def test_fresh_cache_builds_once_then_loads(fresh):
	assert fresh.firstReport["warnings"] == []
	assert fresh.compiles() == 1
	fresh.assertTidy()

	lib, _ = fresh.library()
	before = lib.stat()
	report = fresh.run()
	assert report["warnings"] == []
	assert fresh.compiles() == 1, "a valid cached library was rebuilt"
	after = lib.stat()
	assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_cache_files_are_readable_by_whoever_can_read_the_library(fresh):
	"""Another user who can read the cache loads its library: the digest must be as readable as the
	library, or the library looks corrupt to them and they rebuild it privately at every start."""
	lib, digest = fresh.library()
	readable = stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
	assert lib.stat().st_mode & readable == readable & ~currentUmask()
	assert digest.stat().st_mode & readable == lib.stat().st_mode & readable


def currentUmask():
	with open("/proc/self/status") as f:
		return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))


def flipBytes(lib, digest):
	data = bytearray(lib.read_bytes())
	middle = len(data) // 2
	data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
	lib.write_bytes(bytes(data))


def truncateHalf(lib, digest):
	with open(lib, "r+b") as f:
		f.truncate(lib.stat().st_size // 2)


def removeDigest(lib, digest):
	digest.unlink()


def notALibraryWithMatchingDigest(lib, digest):
	"""Bytes that match their recorded digest but are no shared library: loading must fail safely."""
	junk = b"\x7fELF this is not a shared library" * 100
	lib.write_bytes(junk)
	digest.write_text(hashlib.sha256(junk).hexdigest())


DAMAGES = (flipBytes, truncateHalf, removeDigest, notALibraryWithMatchingDigest)


@pytest.fixture(scope="module")
def damaged(tmp_path_factory, compilerWrapper, fresh):
	"""A copy of the fresh cache per kind of damage, each with its child started at once (the
	rebuilds run side by side, so the table costs about one build of wall time per core)."""
	started = {}
	for damage in DAMAGES:
		scenario = fromFresh(tmp_path_factory.mktemp(damage.__name__), compilerWrapper, fresh)
		damage(*scenario.library())
		prefix = scenario.prefix()
		started[damage] = (scenario, harness.startChild(prefix, scenario.env), prefix)

	yield started

	for _, proc, _ in started.values():
		if proc.poll() is None:
			os.killpg(proc.pid, signal.SIGKILL)
			proc.communicate()


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda f: f.__name__)
def test_damaged_library_is_rebuilt_with_one_warning(damaged, damage):
	scenario, proc, prefix = damaged[damage]
	report = checked(*harness.finishChild(proc, prefix))
	assertWarned(report, r"cached kernel library .*kernels-\w+\.so is corrupt or incomplete: rebuilding it")
	assert scenario.compiles() == 1
	scenario.assertTidy()


def test_unwritable_cache_builds_privately_with_one_warning(tmp_path, compilerWrapper):
	# chmod cannot make a folder unwritable for root; a regular file as the cache's parent makes
	# makedirs fail for anyone (a regular file as the cache folder itself takes the same path)
	blocker = tmp_path / "a-file"
	blocker.write_text("a regular file where the cache's parent folder should be")
	scenario = Scenario(tmp_path, compilerWrapper, cacheDir=blocker / "cache")

	report = scenario.run()
	assertWarned(report, r"kernel cache .* is not writable .*: building in a temporary folder")
	assert scenario.compiles() == 1
	assert list(scenario.tmpdir.iterdir()) == [], "the private build folder outlived the process"


def test_concurrent_processes_build_once(tmp_path, compilerWrapper):
	scenario = Scenario(tmp_path, compilerWrapper, PZ_CC_SLEEP=1)     # a slow build: the others must wait for it
	children = [(harness.startChild(prefix, scenario.env), prefix) for prefix in [scenario.prefix() for _ in range(3)]]

	for proc, prefix in children:
		report = checked(*harness.finishChild(proc, prefix))
		assert report["warnings"] == [], report

	assert scenario.compiles() == 1, "the racing processes built the library %d times" % scenario.compiles()
	scenario.assertTidy()


def test_killed_builder_leaves_a_usable_cache(tmp_path, compilerWrapper):
	scenario = Scenario(tmp_path, compilerWrapper)
	proc = harness.startChild(scenario.prefix(), dict(scenario.env, PZ_CC_SLEEP="60"))

	deadline = time.monotonic() + 120
	while scenario.compiles() == 0:          # until the build is under way, with its temporary files
		assert proc.poll() is None and time.monotonic() < deadline, "the child never started compiling"
		time.sleep(0.05)

	os.killpg(proc.pid, signal.SIGKILL)
	proc.communicate()
	assert [p for p in scenario.cache.iterdir() if p.suffix == ".c"], "expected the killed build's leftovers"

	report = scenario.run()
	assert report["warnings"] == []
	assert scenario.compiles() == 2
	scenario.assertTidy()


@pytest.fixture(scope="module")
def failingCompiler(tmp_path_factory):
	"""A compiler that answers --version but fails every build, as one whose linker fails does."""
	path = tmp_path_factory.mktemp("cc-failing") / "cc-failing"
	path.write_text(
		"#!/bin/sh\n"
		"case \"$1\" in --version|-v|-dumpversion) echo 'failing cc 1.0'; exit 0;; esac\n"
		"echo $$ >> \"$PZ_CC_LOG\"\n"
		"echo '/usr/bin/ld: cannot find -lmvec' >&2\n"
		"exit 1\n"
	)
	path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
	return path


def test_a_failed_build_is_tried_once_per_process(tmp_path, failingCompiler):
	"""Every kernel of the numpy fallback, after one build attempt and one warning (not one per kernel)."""
	scenario = Scenario(tmp_path, failingCompiler, PUZZLELIB_CPU_KERNELS="auto")
	report, results = harness.runChild(scenario.prefix(), scenario.env)

	assert report["kernelTypes"] == ["NumpyKernel"], report
	harness.checkChildResults(results)
	assertWarned(report, r"(?s)CPU kernels fall back to numpy .*cannot find -lmvec")
	assert scenario.compiles() == 1, "the failed build was tried %d times" % scenario.compiles()


def test_a_failed_build_is_remembered_per_cache_key(tmp_path, failingCompiler, monkeypatch):
	"""Asked again for the same library, the loader raises the same error without compiling again."""
	from PuzzleLib.CPU import HostCompiler

	log = tmp_path / "compiles.log"
	monkeypatch.setenv("PZ_CC_LOG", str(log))
	monkeypatch.setenv("PUZZLELIB_CACHE_DIR", str(tmp_path / "cache"))
	source = "int answer(void) { return %d; }\n" % os.getpid()

	for attempt in range(3):
		with pytest.raises(HostCompiler.CompilerError, match="cannot find -lmvec"):
			HostCompiler.load(source, str(failingCompiler), warn=pytest.fail)
	assert len(log.read_text().split()) == 1

	with pytest.raises(HostCompiler.CompilerError):              # another source is another key
		HostCompiler.load(source + "\n", str(failingCompiler), warn=pytest.fail)
	assert len(log.read_text().split()) == 2
