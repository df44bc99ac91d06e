"""The Blas API (the original's names and signatures) over one backend's raw operations.

Blas(ops, arrays) checks every call's arrays (type, rank, shapes, dtype, contiguity, overlap) and
allocates missing outputs from the backend's pool, then hands already-checked arrays to ops:

    ops.gemm(A, B, out, transpA, transpB, alpha, beta)   out = alpha op(A) op(B) + beta out
    ops.sumOnMatrix(A, out, cols, alpha, beta)           out = alpha (A summed over rows or columns) + beta out
    ops.dot(x, y)                                        sum x y, as a Python float
    ops.broadcastRows(vec, out)                          out[i, :] = vec for every row i
    ops.elementwise(op, dtype)                           the kernel of an elementwise table entry

The vector updates are elementwise, so on every backend they are the table's entries
(toVectorAddVector and addVectorToVector, Kernels/Table.py): one pass over the operands, in place
where out is an operand.

A beta of 0 never reads out (NaN there does not leak through), as in BLAS. float16 computes in
float32 and rounds once. Pure Python: it imports no backend.
"""

import numpy as np

from PuzzleLib.Kernels.Table import TABLE


class BlasError(ValueError):
	pass


DTYPES = (np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64))

# cuBLAS takes int dimensions (its _64 entry points are not used)
MAX_DIM = 2**31 - 1


def real(value, what):
	if type(value) is float:
		return value
	if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
		raise BlasError("%s must be a real number, got %r" % (what, value))
	return float(value)


class Blas:
	def __init__(self, ops, arrays):
		self.ops = ops
		self.GPUArray = arrays.GPUArray
		self.empty = arrays.empty
		self.isContiguous = arrays.isContiguous
		self.memoryPool = arrays.memoryPool
		self.kernels = {}

	def _kernel(self, name, dtype):
		try:
			return self.kernels[name, dtype]
		except KeyError:
			ker = self.kernels[name, dtype] = self.ops.elementwise(TABLE[name], np.dtype(dtype))
			return ker

	# {{{ checks

	def _array(self, ary, what, ndim=None):
		if not isinstance(ary, self.GPUArray):
			raise BlasError("%s must be a GPUArray, got %s" % (what, type(ary).__name__))
		if ndim is not None and len(ary.shape) != ndim:
			raise BlasError("%s must be %d-D, got shape %s" % (what, ndim, ary.shape))
		if ary.dtype not in DTYPES:
			raise BlasError("%s has dtype %s; Blas works on float16, float32 and float64" % (what, ary.dtype))
		if not self.isContiguous(ary):
			raise BlasError("%s must be C-contiguous" % what)
		if ary.size > MAX_DIM and any(dim > MAX_DIM for dim in ary.shape):
			raise BlasError("%s has a dimension over 2^31 - 1: %s" % (what, ary.shape))
		return ary

	@staticmethod
	def _sameDtype(first, *others):
		for what, ary in others:
			if ary.dtype != first.dtype:
				raise BlasError("%s has dtype %s, the first operand %s" % (what, ary.dtype, first.dtype))

	@staticmethod
	def disjoint(out, *operands):
		for what, ary in operands:
			if out.size and ary.size and out.ptr < ary.ptr + ary.nbytes and ary.ptr < out.ptr + out.nbytes:
				raise BlasError("out overlaps %s" % what)

	def _out(self, out, shape, dtype):
		if out is None:
			return self.empty(shape, dtype=dtype, allocator=self.memoryPool)

		self._array(out, "out")
		if out.shape != shape or out.dtype != dtype:
			raise BlasError("out must have shape %s and dtype %s, got %s %s" % (shape, dtype, out.shape, out.dtype))
		return out

	# }}}

	def mulMatrixOnMatrix(self, A, B, out=None, transpA=False, transpB=False, alpha=1.0, beta=0.0):
		"""out = alpha op(A) op(B) + beta out, op transposing where asked; 2-D arrays."""
		self._array(A, "A", 2), self._array(B, "B", 2)
		self._sameDtype(A, ("B", B))
		alpha, beta = real(alpha, "alpha"), real(beta, "beta")

		m, k = A.shape[::-1] if transpA else A.shape
		kB, n = B.shape[::-1] if transpB else B.shape
		if k != kB:
			raise BlasError("cannot multiply %s%s by %s%s: inner dimensions %d and %d differ" % (
				A.shape, " transposed" if transpA else "", B.shape, " transposed" if transpB else "", k, kB
			))

		out = self._out(out, (m, n), A.dtype)
		self.disjoint(out, ("A", A), ("B", B))

		self.ops.gemm(A, B, out, bool(transpA), bool(transpB), alpha, beta)
		return out

	def sumOnMatrix(self, A, out=None, cols=True, alpha=1.0, beta=0.0):
		"""out = alpha (sum of A's rows: one value per column when cols, else per row) + beta out."""
		self._array(A, "A", 2)
		alpha, beta = real(alpha, "alpha"), real(beta, "beta")

		out = self._out(out, (A.shape[1] if cols else A.shape[0], ), A.dtype)
		self.disjoint(out, ("A", A))

		self.ops.sumOnMatrix(A, out, bool(cols), alpha, beta)
		return out

	def _vectors(self, x, y):
		self._array(x, "x"), self._array(y, "y")
		self._sameDtype(x, ("y", y))
		if x.size != y.size:
			raise BlasError("x has %d elements, y %d" % (x.size, y.size))

	def toVectorAddVector(self, y, x, alpha=1.0):
		"""y += alpha x (any shapes of equal size); returns y."""
		self._vectors(x, y)
		alpha = real(alpha, "alpha")
		if x.size == 0:               # empty arrays have no address on pycuda
			return y

		if x.ptr != y.ptr:
			self.disjoint(y, ("x", x))
		self._kernel("toVectorAddVector", y.dtype)(y, x, alpha)
		return y

	def addVectorToVector(self, x, y, out=None, alpha=1.0, beta=1.0):
		"""out = alpha x + beta y (out may be x or y itself); returns out, shaped as x."""
		self._vectors(x, y)
		alpha, beta = real(alpha, "alpha"), real(beta, "beta")

		if out is None:
			out = self.empty(x.shape, dtype=x.dtype, allocator=self.memoryPool)
		else:
			self._array(out, "out")
			self._sameDtype(x, ("out", out))
			if out.size != x.size:
				raise BlasError("out has %d elements, x %d" % (out.size, x.size))

		if x.size == 0:
			return out

		for what, ary in (("x", x), ("y", y)):
			if ary.ptr != out.ptr:
				self.disjoint(out, (what, ary))

		self._kernel("addVectorToVector", x.dtype)(out, x, y, alpha, beta)
		return out

	def broadcastRows(self, vec, out):
		"""out[i, :] = vec for every row of the 2-D out (exact); returns out. Not in the original's
		Blas: Linear starts its output from the bias this way, then adds x W with beta = 1."""
		self._array(vec, "vec", 1), self._array(out, "out", 2)
		self._sameDtype(out, ("vec", vec))
		if vec.size != out.shape[1]:
			raise BlasError("vec has %d elements, out's rows %d" % (vec.size, out.shape[1]))

		if out.size:
			self.disjoint(out, ("vec", vec))
			self.ops.broadcastRows(vec, out)
		return out

	def dot(self, x, y):
		"""sum x y over all elements, as a Python float (float16 accumulates in float32)."""
		self._vectors(x, y)
		return self.ops.dot(x, y) if x.size else 0.0


class CheckedOps:
	"""ops' signatures (gemm, sumOnMatrix, broadcastRows) over a Blas's checked calls: a caller that
	takes either these or the backend's ops, pass by pass, writes each call once."""

	def __init__(self, blas):
		self.blas = blas

	def gemm(self, A, B, out, transpA, transpB, alpha, beta):
		self.blas.mulMatrixOnMatrix(A, B, out, transpA, transpB, alpha, beta)

	def sumOnMatrix(self, A, out, cols, alpha, beta):
		self.blas.sumOnMatrix(A, out, cols, alpha, beta)

	def broadcastRows(self, vec, out):
		self.blas.broadcastRows(vec, out)
