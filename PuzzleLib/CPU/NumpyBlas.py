"""numpy's own BLAS library: its threads' controller, and its gemm reached through ctypes.

numpy's matmul always hands BLAS beta = 0, so a product added onto an array (a weight gradient
accumulated into its grad, a layer's product onto its bias) would take a scratch buffer and a pass
to add it. The library numpy calls exports cblas_?gemm with beta; calling it directly makes
out = alpha op(A) op(B) + beta out one BLAS call, with the same kernels numpy's matmul runs.

The library is found through threadpoolctl (a dependency): the first BLAS loaded,
as every other user of BLAS imports numpy first, or the one shipped inside numpy's wheel. Only
OpenBLAS's symbol names are known here (with scipy-openblas's prefix and ILP64 suffix; the
integer width is what the library's configuration string says), and the entry must reproduce
numpy's matmul on a small product before it is used. Where any of that
fails, gemm() is None and the caller keeps numpy's matmul.

Where the library's compiled kernels are built, the entry is called through their pz_gemm with the
call packed in one struct (CPU/Source.py GEMM_SOURCE), as the kernels take theirs: a small product's
call then costs one foreign call of one argument, not fourteen converted ones.
"""

import ctypes, functools, struct

import numpy as np


ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112

_PREFIXES, _SUFFIXES = ("", "scipy_"), ("", "64_", "_64")


@functools.lru_cache(maxsize=None)
def controller():
	"""threadpoolctl's controller of numpy's BLAS, or None (threadpoolctl missing or no BLAS seen)."""
	try:
		import threadpoolctl
		controllers = threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers
	except Exception:         # threadpoolctl missing or unable to read this BLAS: leave it be
		return None

	ownWheel = [ctl for ctl in controllers if "numpy" in (ctl.filepath or "")]
	return (ownWheel or controllers or [None])[0]


class Gemm:
	"""The cblas ?gemm entries of one OpenBLAS library, called on C-contiguous arrays."""

	def __init__(self, lib, prefix, suffix):
		config = getattr(lib, "%sopenblas_get_config%s" % (prefix, suffix))
		config.restype, config.argtypes = ctypes.c_char_p, []
		index = ctypes.c_int64 if b"USE64BITINT" in (config() or b"") else ctypes.c_int
		self.entries, self.kinds = {}, {}
		self.packed = None

		for dtype, letter, real in ((np.float32, "s", ctypes.c_float), (np.float64, "d", ctypes.c_double)):
			entry = getattr(lib, "%scblas_%sgemm%s" % (prefix, letter, suffix))
			entry.restype = None
			entry.argtypes = [
				ctypes.c_int, ctypes.c_int, ctypes.c_int, index, index, index, real,
				ctypes.c_void_p, index, ctypes.c_void_p, index, real, ctypes.c_void_p, index
			]
			self.entries[np.dtype(dtype)] = entry
			# pz_gemm's kind: bit 0 for double, bit 1 for 64-bit integers
			self.kinds[np.dtype(dtype)] = (dtype == np.float64) | (index is ctypes.c_int64) << 1

	def usePacked(self, function):
		"""Calls the entries through function, the compiled library's pz_gemm, from now on."""
		from PuzzleLib.CPU.Source import GEMM_CALL_FORMAT
		function.restype = None
		addresses = {dtype: ctypes.cast(entry, ctypes.c_void_p).value for dtype, entry in self.entries.items()}
		self.packed = (function, struct.Struct(GEMM_CALL_FORMAT).pack, addresses)

	def multiply(self, dtype, a, b, out, m, n, k, transpA, transpB, alpha, beta):
		"""out = alpha op(a) op(b) + beta out on C-contiguous host memory at the addresses a, b and out
		(op(a) m x k, op(b) k x n, out m x n, all nonempty, of one dtype)."""
		lda, ldb = m if transpA else k, k if transpB else n
		transA, transB = TRANS if transpA else NO_TRANS, TRANS if transpB else NO_TRANS

		if self.packed is not None:
			function, pack, addresses = self.packed
			function(pack(addresses[dtype], self.kinds[dtype], ROW_MAJOR, transA, transB, m, n, k, lda, ldb, n,
				alpha, beta, a, b, out))
		else:
			self.entries[dtype](ROW_MAJOR, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, out, n)

	def __call__(self, a, b, out, transpA, transpB, alpha, beta):
		"""out = alpha op(a) op(b) + beta out (host arrays, C-contiguous, nonempty, of one dtype)."""
		m, n = out.shape
		k = a.shape[0] if transpA else a.shape[1]
		self.multiply(out.dtype, a.ctypes.data, b.ctypes.data, out.ctypes.data, m, n, k, transpA, transpB, alpha, beta)

	def reproducesMatmul(self):
		rng = np.random.default_rng(0)
		for dtype in self.entries:
			for transpA in (False, True):
				for transpB in (False, True):
					a = rng.standard_normal((3, 2) if transpA else (2, 3)).astype(dtype)
					b = rng.standard_normal((4, 3) if transpB else (3, 4)).astype(dtype)
					out = rng.standard_normal((2, 4)).astype(dtype)

					expected = 0.5 * np.matmul(a.T if transpA else a, b.T if transpB else b) - 2 * out
					self(a, b, out, transpA, transpB, 0.5, -2.0)
					if not np.allclose(out, expected, rtol=1e-5, atol=1e-5):
						return False
		return True


def openblasGemm(filepath):
	"""The Gemm of the OpenBLAS library at filepath, or None (not OpenBLAS, entries missing, or
	they do not reproduce numpy's matmul)."""
	try:
		lib = ctypes.CDLL(filepath)
		affixes = [(p, s) for p in _PREFIXES for s in _SUFFIXES if hasattr(lib, "%sopenblas_get_num_threads%s" % (p, s))]
		entry = Gemm(lib, *affixes[0]) if affixes else None
	except (OSError, AttributeError):
		return None

	return entry if entry is not None and entry.reproducesMatmul() else None


@functools.lru_cache(maxsize=None)
def gemm():
	"""numpy's BLAS gemm as a Gemm, or None where it cannot be reached (see the module's text)."""
	ctl = controller()
	if ctl is None or ctl.internal_api != "openblas":
		return None

	entry = openblasGemm(ctl.filepath)
	if entry is not None:
		packIn(entry)
	return entry


def packIn(entry):
	"""Has entry called through the compiled library's pz_gemm, where that library is built and the
	packed call reproduces numpy's matmul as the plain one does."""
	from PuzzleLib.CPU.ElementWise import library, requestedPath     # the kernels import this module's users
	path = requestedPath()
	lib = None if path == "numpy" else library(path)
	if lib is None:
		return

	entry.usePacked(lib.pz_gemm)
	if not entry.reproducesMatmul():
		entry.packed = None
