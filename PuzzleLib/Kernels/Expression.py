"""The little language each activation's math is written in, once.

A formula is a plain Python function of a math namespace `m` and its operands, e.g.
`lambda m, x: m.select(x > 0, x, 0)`. Handed a `NumpyMath(dtype)`, it computes numpy arrays;
handed a `CMath`, it records C statements that both a host C compiler and nvcc accept. So every
backend and variant runs the very same expression, and nothing pure here imports a GPU library.

Every operation and function call is bound to a temporary before any `select` sees it, so a
compiler evaluates it unconditionally and can vectorize it (glibc's libmvec on the CPU).
"""

import numpy as np


class NumpyMath:
	"""Evaluates a formula on numpy arrays of the compute type (float32 or float64).

	numpy's own float32 exp is off by up to ~2.4 ulp, so float32 transcendental functions are
	evaluated in float64 and rounded once: the fallback path is then at least as exact as the
	compiled kernels.
	"""

	isnan = staticmethod(np.isnan)
	abs = staticmethod(np.abs)

	def __init__(self, dtype):
		self.dtype = np.dtype(dtype)
		self.epsilon = float(np.finfo(dtype).epsneg)     # half an ulp of 1: the unit roundoff
		self.bitsType = np.dtype("u%d" % self.dtype.itemsize)
		self.maskType = np.dtype("i%d" % self.dtype.itemsize)

	def _bits(self, value):
		return np.asarray(value, dtype=self.dtype).view(self.bitsType)

	def select(self, cond, ifTrue, ifFalse):
		"""np.where(cond, ifTrue, ifFalse), bit for bit (NaN payloads and signed zeros too), as a blend
		of bit patterns under an all-ones mask: np.where branches per element and is several times
		slower on data whose condition flips at random."""
		cond = np.asarray(cond)
		if cond.ndim == 0:
			return np.where(cond, np.asarray(ifTrue, self.dtype), np.asarray(ifFalse, self.dtype))

		mask = np.negative(np.ascontiguousarray(cond).view(np.int8), dtype=self.maskType).view(self.bitsType)
		falseBits = self._bits(ifFalse)
		blend = np.bitwise_and(np.bitwise_xor(self._bits(ifTrue), falseBits), mask)
		np.bitwise_xor(blend, falseBits, out=blend)
		return blend.view(self.dtype)

	def _rounded(self, function, value):
		return function(np.asarray(value, dtype=np.float64)).astype(self.dtype)

	def exp(self, value): return self._rounded(np.exp, value)
	def expm1(self, value): return self._rounded(np.expm1, value)
	def log1p(self, value): return self._rounded(np.log1p, value)
	def tanh(self, value): return self._rounded(np.tanh, value)
	def sqrt(self, value): return self._rounded(np.sqrt, value)


# operators that make a condition, kept inline in the select that uses them; every other
# operation is bound to a temporary of the compute type, so shared subexpressions are written once
CONDITIONS = {"<", "<=", ">", ">=", "==", "!=", "&&", "||"}


class CValue:
	"""A C expression of the compute type (or a C condition) inside a `CMath` recording."""

	__slots__ = ("math", "code")

	def __init__(self, math, code):
		self.math, self.code = math, code

	def _binary(self, op, other, swapped=False):
		left, right = self.code, self.math.operand(other)
		if swapped:
			left, right = right, left

		code = "(%s %s %s)" % (left, op, right)
		return CValue(self.math, code) if op in CONDITIONS else self.math.bind(code)

	def __add__(self, other): return self._binary("+", other)
	def __radd__(self, other): return self._binary("+", other, swapped=True)
	def __sub__(self, other): return self._binary("-", other)
	def __rsub__(self, other): return self._binary("-", other, swapped=True)
	def __mul__(self, other): return self._binary("*", other)
	def __rmul__(self, other): return self._binary("*", other, swapped=True)
	def __truediv__(self, other): return self._binary("/", other)
	def __rtruediv__(self, other): return self._binary("/", other, swapped=True)
	def __neg__(self): return self.math.bind("-%s" % self.code)

	def __lt__(self, other): return self._binary("<", other)
	def __le__(self, other): return self._binary("<=", other)
	def __gt__(self, other): return self._binary(">", other)
	def __ge__(self, other): return self._binary(">=", other)
	def __and__(self, other): return self._binary("&&", other)
	def __or__(self, other): return self._binary("||", other)

	def __eq__(self, other): return self._binary("==", other)
	def __ne__(self, other): return self._binary("!=", other)
	__hash__ = None

	def __bool__(self):
		raise TypeError("a formula must branch with m.select(), not Python's if/and/or")


class CMath:
	"""Records a formula as C statements over the compute type `ctype` ("float" or "double")."""

	def __init__(self, ctype, prefix="t", functions=None):
		"""functions maps a math function's name ("exp") to the C function a backend wants called
		instead of the C library's (expf/exp)."""
		assert ctype in ("float", "double")
		self.ctype, self.prefix = ctype, prefix
		self.epsilon = 2.0**-24 if ctype == "float" else 2.0**-53
		self.functions = functions or {}
		self.statements = []

	def operand(self, value):
		if isinstance(value, CValue):
			return value.code

		if isinstance(value, (int, float)) and not isinstance(value, bool):
			return "((%s)%r)" % (self.ctype, float(value))

		raise TypeError("a formula may combine only its operands and Python numbers, not %r" % (value, ))

	def symbol(self, name):
		return CValue(self, name)

	def bind(self, code):
		name = "%s%d" % (self.prefix, len(self.statements))
		self.statements.append("const %s %s = %s;" % (self.ctype, name, code))
		return CValue(self, name)

	def call(self, function, value):
		name = self.functions.get(function) or function + ("f" if self.ctype == "float" else "")
		return self.bind("%s(%s)" % (name, self.operand(value)))

	def select(self, cond, ifTrue, ifFalse):
		return self.bind("%s ? %s : %s" % (self.operand(cond), self.operand(ifTrue), self.operand(ifFalse)))

	def isnan(self, value):
		code = self.operand(value)
		return CValue(self, "(%s != %s)" % (code, code))

	def abs(self, value): return self.call("fabs", value)
	def exp(self, value): return self.call("exp", value)
	def expm1(self, value): return self.call("expm1", value)
	def log1p(self, value): return self.call("log1p", value)
	def tanh(self, value): return self.call("tanh", value)
	def sqrt(self, value): return self.call("sqrt", value)      # correctly rounded everywhere: an instruction


MATH_FUNCTIONS = ("fabs", "exp", "expm1", "log1p", "tanh")


def cFormula(formula, ctype, operands, prefix="t", functions=None, many=False):
	"""Renders `formula(m, *operands)` into (statements, result expression) of C over ctype.

	`operands` are the C names the formula's arguments are bound to, in order. With many=True the
	formula may return a tuple, and the result is a tuple of expressions.
	"""
	math = CMath(ctype, prefix, functions)
	result = formula(math, *(math.symbol(name) for name in operands))
	if many:
		return math.statements, tuple(math.operand(value) for value in (result if isinstance(result, tuple) else (result, )))
	return math.statements, math.operand(result)
