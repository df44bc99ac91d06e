"""Module.save/load in HDF5, in the original's layout: round trips through a path, bytes and an
open h5py group; files written by hand in that layout; shared variables stored once; and every
kind of bad file refused with ModuleError, no parameter changed."""

import json, os

import h5py
import numpy as np
import pytest

from cases import gpu, normal


def linear(seed, name="fc", **kwargs):
	from PuzzleLib.Modules import Linear
	np.random.seed(seed)
	lin = Linear(4, 3, name=name, **kwargs)
	if "b" in lin.vars:
		lin.b.set(normal((3, ), seed=seed))
	return lin


def params(mod):
	return {name: var.data.get() for name, var in mod.vars.items()}


def assertParams(mod, expected):
	got = params(mod)
	assert got.keys() == expected.keys()
	for name in got:
		assert np.array_equal(got[name], expected[name]) and got[name].dtype == expected[name].dtype, name


def test_round_trip_through_a_path_writes_exactly_that_path(backend, tmp_path):
	source, target = linear(1), linear(2)
	path = tmp_path / "net.hdf"

	assert source.save(str(path)) is None
	assert sorted(os.listdir(tmp_path)) == ["net.hdf"]           # nothing else left beside it

	target.load(str(path))
	assertParams(target, params(source))

	with h5py.File(path, "r") as f:
		assert sorted(f) == ["attrs", "links", "params"]
		assert sorted(f["links"]) == ["fc.W", "fc.b"]
		assert sorted(f["params"]) == ["0", "1"]
		assert np.array_equal(f["params"][str(f["links"]["fc.W"][()])][()], source.W.get())
		assert f["params/0"].compression == "gzip"


def test_round_trip_through_bytes_and_pathlike(backend, tmp_path):
	source, target = linear(3), linear(4)
	image = source.save()
	assert isinstance(image, bytes) and image.startswith(b"\x89HDF")
	target.load(image)
	assertParams(target, params(source))

	other = linear(5)
	source.save(tmp_path / "p.h5")
	other.load(tmp_path / "p.h5")
	assertParams(other, params(source))


def test_modules_share_one_open_file(backend, tmp_path):
	first, second = linear(6, name="a"), linear(7, name="b")
	varlinks = {}
	with h5py.File(tmp_path / "two.hdf", "w") as f:
		first.save(f, varlinks)
		second.save(f, varlinks)

	fresh = linear(8, name="a"), linear(9, name="b")
	with h5py.File(tmp_path / "two.hdf", "r") as f:
		fresh[0].load(f)
		fresh[1].load(f)
	assertParams(fresh[0], params(first))
	assertParams(fresh[1], params(second))


def test_shared_variable_is_stored_once(backend):
	from PuzzleLib.Modules import Linear
	enc = linear(10, name="enc")
	dec = Linear(3, 4, empty=True, transpose=True, useBias=False, name="dec")
	dec.setVar("W", enc.getVar("W"))

	varlinks = {}
	import io
	buffer = io.BytesIO()
	with h5py.File(buffer, "w") as f:
		enc.save(f, varlinks)
		dec.save(f, varlinks)
		assert sorted(f["params"]) == ["0", "1"]
		assert f["links/enc.W"][()] == f["links/dec.W"][()]


def test_a_file_in_the_original_layout_loads(backend, tmp_path):
	"""Written here with h5py alone, as the original wrote it: scalar int links, gzip params, an
	unnamed module's entries under "None."."""
	W, b = normal((4, 3), seed=11), normal((3, ), seed=12)
	path = tmp_path / "original.hdf"
	with h5py.File(path, "w") as f:
		f.create_group("params").create_dataset("0", data=b, compression="gzip")
		f["params"].create_dataset("1", data=W, compression="gzip")
		f.create_group("links")["None.W"] = 1
		f["links"]["None.b"] = 0
		f.create_group("attrs")

	target = linear(13, name=None)
	target.load(str(path))
	assertParams(target, {"W": W, "b": b})


def test_load_casts_safely_and_refuses_narrowing(backend, tmp_path):
	from PuzzleLib.Modules import ModuleError
	source = linear(14)
	source.calcMode(np.float16)
	path = tmp_path / "half.hdf"
	source.save(str(path))

	wide = linear(15)
	wide.load(str(path))                                        # float16 -> float32 is safe
	assertParams(wide, {name: value.astype(np.float32) for name, value in params(source).items()})

	double = linear(16)
	double.calcMode(np.float64)
	double.save(str(path))
	narrow = linear(17)
	before = params(narrow)
	with pytest.raises(ModuleError, match="float64 in the file, which does not cast safely to the module's float32"):
		narrow.load(str(path))
	assertParams(narrow, before)


def test_blueprint(backend):
	source = linear(18)
	with h5py.File(__import__("io").BytesIO(source.save(withBlueprint=True)), "r") as f:
		value = f["blueprint"][()]
	assert json.loads(value.decode() if isinstance(value, bytes) else value) == source.getBlueprint()


def test_attributes_are_saved_and_loaded(backend):
	from PuzzleLib.Backend import gpuarray
	source, target = linear(19), linear(20)
	source.setAttr("runningMean", gpuarray.to_gpu(normal((3, ), seed=21)))
	target.setAttr("runningMean", gpuarray.zeros((3, ), np.float32))
	target.load(source.save())
	assert np.array_equal(target.runningMean.get(), source.runningMean.get())


# --- bad files: ModuleError, nothing changed ---------------------------------------------------

def badFiles(tmp_path):
	good = linear(30).save()

	def written(name, build):
		path = tmp_path / name
		with h5py.File(path, "w") as f:
			build(f)
		return str(path)

	def missingB(f):
		f.create_group("params").create_dataset("0", data=normal((4, 3), seed=31))
		f.create_group("links")["fc.W"] = 0

	def misShapedW(f):
		f.create_group("params").create_dataset("0", data=normal((3, 4), seed=32))
		f["params"].create_dataset("1", data=normal((3, ), seed=33))
		f.create_group("links")["fc.W"] = 0
		f["links"]["fc.b"] = 1

	def danglingLink(f):
		f.create_group("params").create_dataset("0", data=normal((4, 3), seed=34))
		f.create_group("links")["fc.W"] = 0
		f["links"]["fc.b"] = 7

	foreign = tmp_path / "foreign.hdf"
	foreign.write_bytes(b"this is not an HDF5 file\n" * 20)

	truncated = tmp_path / "truncated.hdf"
	truncated.write_bytes(good[:len(good) // 2])

	return [
		("truncated", str(truncated), "load: "),
		("truncated bytes", good[:len(good) - 100], "load: "),
		("foreign", str(foreign), "load: "),
		("missing", str(tmp_path / "nowhere.hdf"), "load: "),
		("no groups", written("empty.hdf", lambda f: None), "the file has no group links"),
		("missing parameter", written("missingB.hdf", missingB), "the file has no link fc.b"),
		("mis-shaped parameter", written("misShaped.hdf", misShapedW), r"fc.W is \(3, 4\) in the file, the module's is \(4, 3\)"),
		("dangling link", written("dangling.hdf", danglingLink), "the file has no parameter params/7"),
		("wrong type", 42, "load takes a path, bytes, or an open h5py File or Group"),
	]


def test_bad_files_change_nothing(backend, tmp_path):
	from PuzzleLib.Modules import ModuleError
	for name, hdf, message in badFiles(tmp_path):
		target = linear(40)
		before = params(target)
		with pytest.raises(ModuleError, match=message):
			target.load(hdf)
		assertParams(target, before)


def test_failed_save_keeps_the_old_file(backend, tmp_path):
	from PuzzleLib.Modules import ModuleError
	path = tmp_path / "net.hdf"
	linear(50).save(str(path))
	old = path.read_bytes()

	broken = linear(51)
	broken.setAttr("bad", object())                           # not an array: the save fails midway
	with pytest.raises(ModuleError, match="save: "):
		broken.save(str(path))

	assert path.read_bytes() == old and sorted(os.listdir(tmp_path)) == ["net.hdf"]


def test_save_into_an_unwritable_place(backend, tmp_path):
	from PuzzleLib.Modules import ModuleError
	with pytest.raises(ModuleError, match="save: "):
		linear(52).save(str(tmp_path / "no" / "such" / "dir" / "net.hdf"))
	with pytest.raises(ModuleError, match="save takes a path, an open h5py File or Group, or None"):
		linear(53).save(42)
