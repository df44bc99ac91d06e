"""MnistLoader: the four standard MNIST idx files (gzipped or not) from a folder the user gives.

    data, labels = MnistLoader().load(path="mnist/")

data is float32 (70000, 1, 28, 28) in [0, 1], the 60000 training images first, then the 10000
test images; labels int32 (70000, ). Nothing is downloaded.
"""

import gzip, os

import numpy as np


class DatasetError(Exception):
	pass


FILES = {
	"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
	"test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

IMAGES_MAGIC, LABELS_MAGIC = 0x803, 0x801


def _find(path, name):
	for candidate in (name, name + ".gz", name.replace("-idx", ".idx"), name.replace("-idx", ".idx") + ".gz"):
		full = os.path.join(path, candidate)
		if os.path.isfile(full):
			return full

	raise DatasetError("%s: no %s or %s.gz (the MNIST idx files must be downloaded beforehand)" % (path, name, name))


def _read(filename):
	opener = gzip.open if filename.endswith(".gz") else open
	try:
		with opener(filename, "rb") as f:
			return f.read()
	except (OSError, EOFError) as e:
		raise DatasetError("%s: cannot read: %s" % (filename, e)) from None


def readIdx(filename, magic):
	"""The array an idx file holds (unsigned bytes), checked against its header."""
	raw = _read(filename)
	if len(raw) < 4:
		raise DatasetError("%s: too short for an idx header" % filename)

	found = int.from_bytes(raw[:4], "big")
	if found != magic:
		raise DatasetError("%s: magic number 0x%x, expected 0x%x" % (filename, found, magic))

	ndim = magic & 0xff
	header = 4 + 4 * ndim
	if len(raw) < header:
		raise DatasetError("%s: truncated header" % filename)

	shape = tuple(int.from_bytes(raw[4 + 4 * k:8 + 4 * k], "big") for k in range(ndim))
	size = int(np.prod(shape))
	if len(raw) - header != size:
		raise DatasetError("%s: header promises %s = %d bytes of data, the file has %d" % (
			filename, shape, size, len(raw) - header
		))

	return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


class MnistLoader:
	def __init__(self, onSampleLoaded=None, cachename=None):
		self.onSampleLoaded = onSampleLoaded
		self.cachename = cachename          # the original's HDF5 cache is not written; kept for scripts

	def loadPart(self, path, part):
		imagesName, labelsName = FILES[part]
		images = readIdx(_find(path, imagesName), IMAGES_MAGIC)
		labels = readIdx(_find(path, labelsName), LABELS_MAGIC)

		if images.ndim != 3 or labels.ndim != 1 or images.shape[0] != labels.shape[0]:
			raise DatasetError("%s: %s images of shape %s for %s labels" % (
				path, part, images.shape, labels.shape
			))
		if labels.size and labels.max() > 9:
			raise DatasetError("%s: %s labels must be digits 0..9, found %d" % (path, part, labels.max()))

		return images, labels

	def load(self, path, sort=False, compress="gzip", log=True, onlyTest=False):
		if not os.path.isdir(path):
			raise DatasetError("%r is not a folder with the MNIST idx files" % (path, ))

		parts = ["test"] if onlyTest else ["train", "test"]
		images, labels = zip(*(self.loadPart(path, part) for part in parts))

		data = np.concatenate(images).astype(np.float32)[:, np.newaxis] / np.float32(255)
		labels = np.concatenate(labels).astype(np.int32)

		if sort:
			order = np.argsort(labels, kind="stable")
			data, labels = data[order], labels[order]

		if self.onSampleLoaded is not None:
			for index in range(labels.size):
				self.onSampleLoaded(index, data[index], labels[index])

		return data, labels
