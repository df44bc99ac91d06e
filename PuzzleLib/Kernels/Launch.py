"""What every backend's elementwise kernel checks and resolves before it runs: pure Python."""

import itertools, math
from collections import namedtuple

import numpy as np

from PuzzleLib.ArrayChecks import parseDtype
from PuzzleLib.Kernels.Codegen import kernelName
from PuzzleLib.Kernels.ElementwiseOp import checkArgs


# dtype -> the C type the math is computed in: float16 computes in float32 and rounds once
COMPUTE_CTYPE = {
	np.dtype(np.float16): "float",
	np.dtype(np.float32): "float",
	np.dtype(np.float64): "double"
}

SHORT_NAME = {np.dtype(np.float16): "f16", np.dtype(np.float32): "f32", np.dtype(np.float64): "f64"}


def dtypesSupported():
	"""(dtype, atol) of every dtype the kernels exist in, as the original's Backend.Utils gave them."""
	return [(np.float32, 1e-5), (np.float16, 1e-2), (np.float64, 1e-8)]


class KernelError(ValueError):
	pass


def kernelDtype(dtype):
	return parseDtype(
		dtype, KernelError, COMPUTE_CTYPE, "kernel dtype must be a numpy float dtype",
		"kernels exist for float16, float32 and float64, not %s"
	)


Range = namedtuple("Range", ["start", "step", "count"])


def resolveSlice(slc, size):
	"""The flat element range a `slice=` argument selects, resolved like slice.indices(size)."""
	if slc is None:
		return Range(0, 1, size)

	checkSlice(slc)
	start, stop, step = slc.indices(size)
	count = len(range(start, stop, step))

	# a step of one element or none is never taken: a huge one would not fit a kernel's int64
	return Range(start, step if count > 1 else 1, count)


def checkSlice(slc):
	if not isinstance(slc, slice):
		raise KernelError("slice must be a Python slice or None, got %r" % (slc, ))

	for part in (slc.start, slc.stop, slc.step):
		if part is not None and (isinstance(part, bool) or not isinstance(part, (int, np.integer))):
			raise KernelError("slice bounds must be integers or None, got %r" % (slc, ))

	if slc.step == 0:
		raise KernelError("slice step must not be zero, got %r" % (slc, ))


def checkOperands(name, names, dtypes, arrays, written, arrayType, contiguous):
	"""Every array is of the backend's type, its operand's dtype, one size and C-contiguous; a written
	operand overlaps no other operand, except a read-only input that is the very same array (inplace)."""
	first = arrays[0]
	size = first.size if isinstance(first, arrayType) else None

	for index, (ary, dtype) in enumerate(zip(arrays, dtypes)):
		if not isinstance(ary, arrayType):
			raise KernelError("%s kernel: operand %d must be a %s.%s, got %s" % (
				name, index, arrayType.__module__, arrayType.__name__, type(ary).__name__
			))

		if ary.dtype != dtype:
			raise KernelError("%s kernel: operand %d (%s) has dtype %s, the kernel takes %s" % (
				name, index, names[index], ary.dtype, dtype
			))

		if ary.size != size:
			raise KernelError("%s kernel: operand %d has %d elements, operand 0 has %d" % (
				name, index, ary.size, size
			))

		if not contiguous(ary):
			raise KernelError("%s kernel: operand %d is not C-contiguous" % (name, index))

	if size:
		checkOverlap(name, arrays, written)


def checkOverlap(name, arrays, written=(0, )):
	"""No array overlaps one the kernel writes (arrays not empty), except a read-only input that is the
	very same array (inplace): it would be read after it is written, in an order that depends on the
	vectorization and the threads."""
	for out in written:
		target = arrays[out]
		start, nbytes = target.ptr, target.nbytes
		end = start + nbytes
		for index, ary in enumerate(arrays):
			other = ary.ptr
			if other >= end or start >= other + ary.nbytes or index == out:
				continue                  # disjoint, or the written array itself
			if other == start and ary.nbytes == nbytes and index not in written:
				continue

			raise KernelError("%s kernel: operand %d overlaps operand %d, which the kernel writes; "
				"only an input may be the very same array as an output" % (name, index, out))


INT64 = 1 << 64


HALF = 1 << 63


def checkStream(name, key, counter):
	"""The random stream's (key, counter) as the signed 64-bit ints a kernel takes (mod 2^64)."""
	if type(key) is int and type(counter) is int:         # a generator's own draw: settled at once
		return (key + HALF) % INT64 - HALF, (counter + HALF) % INT64 - HALF

	for what, value in (("key", key), ("counter", counter)):
		if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
			raise KernelError("%s kernel: the random stream's %s must be an int, got %r" % (name, what, value))

	return tuple((int(value) + (1 << 63)) % INT64 - (1 << 63) for value in (key, counter))


class Spans:
	"""resolveSlice, remembered: a model calls a kernel with the same few slices and sizes over and
	over. The key holds the bounds' types, so that True is not taken for a checked 1."""

	KEPT = 256

	def __init__(self):
		self.spans = {}

	def __call__(self, slc, size):
		if slc is None:
			key = size
		elif type(slc) is slice:
			start, stop, step = slc.start, slc.stop, slc.step
			key = (start, stop, step, type(start), type(stop), type(step), size)
		else:
			return resolveSlice(slc, size)        # refused there

		try:
			return self.spans[key]
		except (KeyError, TypeError):             # TypeError: an unhashable bound, refused below
			pass

		span = resolveSlice(slc, size)
		if len(self.spans) >= self.KEPT:
			self.spans.clear()
		self.spans[key] = span
		return span


class ElementwiseKernel:
	"""ker(*arrays, *args[, key, counter], slice=None): one table entry over the flat slice.

	The arrays are the entry's array operands in its order, args its params; an entry with a
	random operand also takes the stream's key and counter. Elements outside the slice are not
	touched. A `stream=` keyword, which the original's callers pass, is accepted and ignored:
	kernels run in the default stream. The checks every backend makes before a kernel runs live
	here once; a backend subclass names its array type and contiguity test and implements
	run(arrays, span, args), which is called only when the slice selects at least one element,
	with args already validated (floats, then the random stream's two ints).
	"""

	arrayType = None                 # the backend's GPUArray class
	isContiguous = None              # staticmethod(ary -> bool)

	def __init__(self, op, dtype):
		self.op, self.dtype = op, dtype
		self.name = kernelName(op, SHORT_NAME[dtype])
		self.dtypes = op.arrayDtypes(dtype)
		self.nArrays = len(self.dtypes)
		self.names = tuple(operand.name for operand in op.arrays)
		self.written = tuple(k for k, operand in enumerate(op.arrays) if operand.isWritten)
		self.nArgs = len(op.params)
		self.isRandom = op.isRandom
		self.takesArraysOnly = not (op.params or self.isRandom)
		self.checkedArgs = {}
		self.spans = Spans()
		self.fullSpans = self.spans.spans        # slice=None: the span of the whole size, by size

	# a model calls a kernel with the same few args over and over: validate each set once
	CHECKED_ARGS_KEPT = 64

	def __call__(self, *arraysAndArgs, slice=None, stream=None):
		if len(arraysAndArgs) == self.nArrays and self.takesArraysOnly:
			arrays, args = arraysAndArgs, ()
		else:
			arrays, args = self.splitArgs(arraysAndArgs)

		if self.plainOperands(arrays):
			size = arrays[0].size
			if size:
				checkOverlap(self.name, arrays, self.written)
		else:
			checkOperands(self.name, self.names, self.dtypes, arrays, self.written, self.arrayType, self.isContiguous)
			size = arrays[0].size

		span = self.fullSpans.get(size) if slice is None else None
		if span is None:
			span = self.spans(slice, size)

		if span.count > 0:
			self.run(arrays, span, args)

	def splitArgs(self, arraysAndArgs):
		"""(arrays, args): the args checked (floats of the compute type, then the random stream's two ints)."""
		arrays, args = arraysAndArgs[:self.nArrays], arraysAndArgs[self.nArrays:]
		if len(arrays) != self.nArrays:
			raise KernelError("%s kernel takes %d array(s) %s, got %d, then %d arg(s) %s%s" % (
				self.name, self.nArrays, self.names, len(arrays), self.nArgs,
				self.op.params, ", then the random stream's key and counter" if self.isRandom else ""
			))

		randomStream = ()
		if self.isRandom:
			if len(args) != self.nArgs + 2:
				raise KernelError("%s kernel takes %d arg(s) %s and the random stream's key and counter, got %d arg(s)" % (
					self.name, self.nArgs, self.op.params, len(args)
				))
			args, randomStream = args[:self.nArgs], checkStream(self.name, *args[self.nArgs:])

		if args or self.op.params:
			args = self.checkArgs(args)

		return arrays, args + randomStream

	def plainOperands(self, arrays):
		"""True when every array is of the backend's type and its operand's dtype, one size and
		C-contiguous: checkOperands' test without its messages, for the common case."""
		arrayType, contiguous = self.arrayType, self.isContiguous
		size = getattr(arrays[0], "size", None)
		for ary, dtype in zip(arrays, self.dtypes):
			# dtypes of native floats are numpy's singletons: `is` settles the common case at once
			if not (isinstance(ary, arrayType) and (ary.dtype is dtype or ary.dtype == dtype) and ary.size == size
					and contiguous(ary)):
				return False
		return True

	def checkArgs(self, args):
		# args that compare equal may still differ: True == 1.0 == 1 (a bool is refused) and
		# -0.0 == 0.0 (clip to min=-0.0 gives -0.0), so the key holds the types and the signs
		try:
			key = (args, tuple(map(type, args)), tuple(map(math.copysign, itertools.repeat(1.0), args)))
			return self.checkedArgs[key]
		except KeyError:
			pass
		except (TypeError, ValueError, OverflowError):     # a bad arg, which checkArgs refuses
			key = None

		try:
			checked = checkArgs(self.op, args, COMPUTE_CTYPE[self.dtype])
		except ValueError as e:
			raise KernelError("%s kernel: %s" % (self.name, e)) from None

		if key is not None:
			if len(self.checkedArgs) >= self.CHECKED_ARGS_KEPT:
				self.checkedArgs.clear()
			self.checkedArgs[key] = checked
		return checked

	def run(self, arrays, span, args):
		raise NotImplementedError

	def bind(self, span, args):
		"""fn(*arrays[, key, counter]): run over span with args, both checked already, for a caller
		that makes it once and calls it pass after pass (a module's plan); the arrays are not
		checked, nor the random stream's key and counter (signed 64-bit ints, as checkStream makes
		them), which an entry with a random operand takes after its arrays."""
		run, nArrays = self.run, self.nArrays
		if not self.isRandom:
			return lambda *arrays: run(arrays, span, args)
		return lambda *operands: run(operands[:nArrays], span, args + operands[nArrays:])

	# a kernel is memoized per entry and dtype and never changes: a copy of a module that holds one
	# (its plan of a pass) shares it, as it shares the kernel factories
	def __copy__(self):
		return self

	def __deepcopy__(self, memo):
		return self
