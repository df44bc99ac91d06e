"""Module parameters in HDF5, in the original's layout.

    params/<i>        one dataset per distinct Variable: "0", "1", ... (a shared Variable once)
    links/<name.var>  a scalar: the index in params of that module's variable
    attrs/<name.attr> one dataset per module attribute (e.g. running statistics)
    blueprint         optional: the module's blueprint as a JSON string

A file is a path (written at exactly that path: to a temporary file beside it, then renamed, so
a failed save leaves the old file whole), an open h5py File or Group, or bytes (save returns the
file image when given none). Loading reads and checks everything first and sets nothing until
all of it is there with the right shapes: a truncated or foreign file changes no parameter.
"""

import io, json, os, tempfile

import h5py
import numpy as np


class HdfError(Exception):
	pass


def _isPath(hdf):
	return isinstance(hdf, (str, os.PathLike))


def write(hdf, writeInto):
	"""Calls writeInto(group) on the file hdf names; returns the file image when hdf is None."""
	if hdf is None:
		buffer = io.BytesIO()
		with h5py.File(buffer, "w") as f:
			writeInto(f)
		return buffer.getvalue()

	if _isPath(hdf):
		path = os.fspath(hdf)
		folder, base = os.path.split(os.path.abspath(path))
		fd, temp = tempfile.mkstemp(prefix=".%s." % base, suffix=".tmp", dir=folder)
		os.close(fd)

		try:
			with h5py.File(temp, "w") as f:
				writeInto(f)
			os.replace(temp, path)
		finally:
			if os.path.exists(temp):
				os.remove(temp)
		return None

	if not isinstance(hdf, h5py.Group):
		raise HdfError("save takes a path, an open h5py File or Group, or None, got %s" % type(hdf).__name__)

	writeInto(hdf)
	return None


def read(hdf, readFrom):
	"""Calls readFrom(group) on the file hdf names (a path, bytes, an open File or Group)."""
	if isinstance(hdf, (bytes, bytearray)):
		with h5py.File(io.BytesIO(hdf), "r") as f:
			return readFrom(f)

	if _isPath(hdf):
		with h5py.File(os.fspath(hdf), "r") as f:
			return readFrom(f)

	if not isinstance(hdf, h5py.Group):
		raise HdfError("load takes a path, bytes, or an open h5py File or Group, got %s" % type(hdf).__name__)

	return readFrom(hdf)


def _dataset(group, key, data, compress):
	data = np.ascontiguousarray(data)
	group.create_dataset(key, data=data, compression=compress if data.ndim > 0 and data.size > 0 else None)


def writeParams(group, variables, attrs, name, varlinks, compress):
	"""Writes one module's variables (each distinct Variable once, by varlinks) and attributes."""
	params, links, attrGroup = (group.require_group(key) for key in ("params", "links", "attrs"))

	for paramName, var in variables.items():
		key = "%s.%s" % (name, paramName)
		if key in links:
			raise HdfError("the file already has a parameter %s (two modules of the same name?)" % key)

		index = varlinks.get(var)
		if index is None:
			index = len(varlinks)
			_dataset(params, str(index), var.data.get(), compress)
			varlinks[var] = index

		links.create_dataset(key, data=np.int64(index))

	for attrName, attr in attrs.items():
		if not callable(getattr(attr, "get", None)):
			raise HdfError("attribute %s is a %s, not an array" % (attrName, type(attr).__name__))
		_dataset(attrGroup, "%s.%s" % (name, attrName), attr.get(), compress)


def writeBlueprint(group, blueprint):
	def plain(value):
		return value.item() if isinstance(value, np.generic) else str(value)

	group.create_dataset("blueprint", data=json.dumps(blueprint, default=plain), dtype=h5py.string_dtype())


def readBlueprint(group):
	if "blueprint" not in group:
		raise HdfError("the file holds no blueprint")

	value = group["blueprint"][()]
	return json.loads(value.decode() if isinstance(value, bytes) else value)


def _member(group, path, what):
	try:
		return group[path]
	except KeyError:
		raise HdfError("the file has no %s %s" % (what, path)) from None


def _checked(value, target, what):
	if value.shape != target.shape:
		raise HdfError("%s is %s in the file, the module's is %s" % (what, value.shape, target.shape))

	if not np.can_cast(value.dtype, target.dtype, casting="safe"):
		raise HdfError("%s is %s in the file, which does not cast safely to the module's %s" % (
			what, value.dtype, target.dtype
		))

	return np.array(value, dtype=target.dtype, order="C")    # ascontiguousarray would make a scalar 1-D


def readParams(group, variables, attrs, names, pending):
	"""Reads and checks one module's variables and attributes; appends (array, value) to pending.

	names: the prefixes to look the module up by, the first that the file has wins.
	"""
	links = _member(group, "links", "group")
	name = next((candidate for candidate in names if any(
		"%s.%s" % (candidate, paramName) in links for paramName in variables
	)), names[0])

	for paramName, var in variables.items():
		link = _member(links, "%s.%s" % (name, paramName), "link")
		index = link[()]
		if not isinstance(index, (int, np.integer)):
			raise HdfError("link %s.%s is %r, not an index" % (name, paramName, index))

		dataset = _member(group, "params/%d" % index, "parameter")
		pending.append((var.data, _checked(dataset[()], var.data, "%s.%s" % (name, paramName))))

	for attrName, attr in attrs.items():
		if not callable(getattr(attr, "set", None)):
			raise HdfError("attribute %s is a %s, not an array" % (attrName, type(attr).__name__))
		dataset = _member(group, "attrs/%s.%s" % (name, attrName), "attribute")
		pending.append((attr, _checked(dataset[()], attr, "%s.%s" % (name, attrName))))
