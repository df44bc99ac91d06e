"""One HDF5 file for a tree of modules, in the original's layout.

    params/<k>            one dataset per distinct variable, k = 0, 1, ...
    links/<path>.<var>    the index k of that variable (tied variables link to one dataset)
    attrs/<path>.<attr>   module attributes
    blueprint             optional JSON of the tree's constructor arguments

`hdf` is a path (written at exactly that path), an open h5py File or Group, or None (save returns
the file image as bytes; load takes bytes too).
"""

import io, json

import numpy as np


class TreeFileError(Exception):
	pass


def _h5py():
	try:
		import h5py
	except ImportError:
		raise TreeFileError("saving and loading modules needs h5py (pip install h5py)") from None
	return h5py


def _open(hdf, mode):
	"""(group, closer) for what the caller passed."""
	h5py = _h5py()

	if isinstance(hdf, (h5py.File, h5py.Group)):
		return hdf, None

	if isinstance(hdf, (bytes, bytearray)):
		hdf = io.BytesIO(bytes(hdf))

	try:
		handle = h5py.File(hdf, mode)
	except (OSError, ValueError) as e:
		raise TreeFileError("cannot open %r as HDF5: %s" % (hdf, e)) from None
	return handle, handle


def save(hdf, leaves, compress="gzip", blueprint=None):
	buffer = io.BytesIO() if hdf is None else None
	group, closer = _open(buffer if hdf is None else hdf, "w")

	try:
		params, links = group.require_group("params"), group.require_group("links")
		attrs = group.require_group("attrs")
		indices = {}

		for path, mod in leaves:
			for varName, var in mod.vars.items():
				index = indices.get(id(var))
				if index is None:
					index = indices[id(var)] = len(indices)
					params.create_dataset(str(index), data=var.data.get(), compression=compress)

				links.create_dataset("%s.%s" % (path, varName), data=index)

			for attrName, attr in mod.attrs.items():
				attrs.create_dataset("%s.%s" % (path, attrName), data=attr.get() if hasattr(attr, "get") else attr)

		if blueprint is not None:
			group.create_dataset("blueprint", data=json.dumps(blueprint, default=str))
	finally:
		if closer is not None:
			closer.close()

	return buffer.getvalue() if buffer is not None else None


def load(hdf, leaves):
	"""Reads every variable and attribute of the leaves; checks them all before writing any."""
	group, closer = _open(hdf, "r")

	try:
		if "params" not in group or "links" not in group:
			raise TreeFileError("the file holds no module parameters (no params/links groups)")

		params, links = group["params"], group["links"]
		attrs = group["attrs"] if "attrs" in group else {}
		staged = []

		for path, mod in leaves:
			for varName, var in mod.vars.items():
				link = "%s.%s" % (path, varName)
				if link not in links:
					raise TreeFileError("the file has no parameter %r (it holds %s)" % (link, ", ".join(sorted(links))))

				value = np.asarray(params[str(int(links[link][()]))][()])
				staged.append((link, var.data, value))

			for attrName, attr in mod.attrs.items():
				link = "%s.%s" % (path, attrName)
				if link in attrs and hasattr(attr, "set"):
					staged.append((link, attr, np.asarray(attrs[link][()])))
	finally:
		if closer is not None:
			closer.close()

	for link, target, value in staged:
		if value.shape != tuple(target.shape):
			raise TreeFileError("%s has shape %s in the file, %s here" % (link, value.shape, tuple(target.shape)))

		if not np.can_cast(value.dtype, target.dtype, casting="safe"):
			raise TreeFileError("%s is %s in the file and cannot be safely cast to %s" % (link, value.dtype, target.dtype))

	for link, target, value in staged:
		target.set(np.ascontiguousarray(value.astype(target.dtype)))
