"""An entry of the elementwise table: one kernel's operands, parameters and math, written once.

    ElementwiseOp(
		"toVectorAddVector",
		operands=(Operand("y", INOUT), Operand("x", IN)),
		params=("alpha", ),
		formula=lambda m, y, x, alpha: y + alpha * x
	)

is `toVectorAddVectorKer(dtype)(y, x, alpha, slice=None)` on every backend: the kernel takes its
array operands in the declared order, then its params (floats), then, for an op with a UNIFORM
operand, the random stream's key and counter (two ints, see Philox).

- `IN` operands are read, `OUT` operands written, `INOUT` operands read and then written in
  place (an optimizer's parameter and its moments).
- `formula(m, *readable, *params)` gets the values of the readable operands (IN, INOUT and
  UNIFORM, in declared order) and the params, and returns the written operands' values (OUT and
  INOUT, in declared order): one value, or a tuple when several are written. It is written in the
  language of Expression.py (`m.select`, `m.exp`, ...), from which every backend's kernel is
  generated.
- An operand's `dtype` of None means the kernel's dtype; a fixed dtype (np.float32) serves state
  kept in float32 beside float16 data (Adam's moments). All math is done in the compute type,
  float32 for float16 and float32 kernels, float64 for float64 ones, and rounded once on the store.
- A `UNIFORM` operand is not an array: it is the element's uniform float in [0, 1) from the
  Philox4x32-10 stream (key, counter), bit for bit the same on every backend (see Philox.py); a
  `NORMAL` operand is the element's standard normal from the same stream (Box-Muller).

So Adam's update, with three in-place outputs, is

    ElementwiseOp(
		"adam",
		operands=(Operand("param", INOUT), Operand("grad", IN),
			Operand("mg", INOUT, np.float32), Operand("ms", INOUT, np.float32)),
		params=("lr", "fix1", "fix2", "epsilon"),
		formula=lambda m, param, grad, mg, ms, lr, fix1, fix2, epsilon: _adam(m, ...)  # (param, mg, ms)
	)

and adding it to Table.py's list makes `adamKer(dtype)` on both backends, compiled with nvcc in
the tests and run on the fake pycuda.
"""

import math, struct, sys
from dataclasses import dataclass
from numbers import Real
from typing import Callable, Optional, Tuple

import numpy as np


IN, OUT, INOUT, UNIFORM, NORMAL = "in", "out", "inout", "uniform", "normal"
RANDOM = (UNIFORM, NORMAL)


@dataclass(frozen=True)
class Operand:
	name: str
	role: str = IN
	dtype: Optional[type] = None       # None: the kernel's dtype

	def __post_init__(self):
		if self.role not in (IN, OUT, INOUT) + RANDOM:
			raise ValueError("operand role must be one of in, out, inout, uniform, normal, got %r" % (self.role, ))

	@property
	def isArray(self):
		return self.role not in RANDOM

	@property
	def isRead(self):
		return self.role != OUT

	@property
	def isWritten(self):
		return self.role in (OUT, INOUT)


@dataclass(frozen=True)
class ElementwiseOp:
	name: str
	operands: Tuple[Operand, ...]
	formula: Callable
	params: Tuple[str, ...] = ()
	rule: Optional[Callable] = None    # params -> None, or a sentence saying what is wrong

	@property
	def arrays(self):
		"""The array operands, in the kernel's call order."""
		return tuple(operand for operand in self.operands if operand.isArray)

	@property
	def readable(self):
		"""The operands the formula gets, in order."""
		return tuple(operand for operand in self.operands if operand.isRead)

	@property
	def written(self):
		"""The operands the formula returns, in order."""
		return tuple(operand for operand in self.operands if operand.isWritten)

	@property
	def isRandom(self):
		return any(operand.role in RANDOM for operand in self.operands)

	def arrayDtypes(self, dtype):
		"""The storage dtype of each array operand for a kernel of dtype."""
		return tuple(np.dtype(operand.dtype or dtype) for operand in self.arrays)

	def results(self, values):
		"""The formula's return as a tuple with one value per written operand."""
		values = values if isinstance(values, tuple) else (values, )
		if len(values) != len(self.written):
			raise ValueError("%s: the formula returned %d value(s) for %d written operand(s)" % (
				self.name, len(values), len(self.written)
			))
		return values


class ArgsError(ValueError):
	pass


# the C types parameters are computed in, as struct formats: packing rounds a value as a C cast
# does, and refuses one that would round to infinity
_STRUCT_FORMAT = {"float": "<f", "double": "<d"}
_TYPE_NAME = {"float": "float32", "double": "float64"}
_LARGEST = {"float": 3.4028234663852886e38, "double": sys.float_info.max}


def _rounded(op, paramName, arg, ctype):
	"""arg as a finite value of ctype ("float" or "double"), or ArgsError saying why not."""
	try:
		value = float(arg)               # a finite arg that is infinite as a double: numpy's longdouble
		if not math.isinf(value):
			return struct.unpack(_STRUCT_FORMAT[ctype], struct.pack(_STRUCT_FORMAT[ctype], value))[0]
	except OverflowError:
		pass

	# a huge int's digits would fill the message (and beyond 4300 of them, repr refuses)
	shown = "an integer of %d bits" % arg.bit_length() if isinstance(arg, int) else repr(arg)
	raise ArgsError("%s: %s=%s is out of range: kernels compute in %s, whose largest finite value is %r" % (
		op.name, paramName, shown, _TYPE_NAME[ctype], _LARGEST[ctype]
	))


def checkArgs(op, args, ctype="double"):
	"""Returns args as a tuple of floats rounded to ctype, the C type the kernel computes in, or
	raises ArgsError saying what is wrong. The rule is checked on the rounded values, which are the
	ones the kernel uses. op is an entry, or anything with its name, params and rule (an activation)."""
	if not isinstance(args, (tuple, list)):
		raise ArgsError(
			"args must be a tuple of %d number(s) %s, got %r" % (len(op.params), op.params, args)
		)

	if len(args) != len(op.params):
		raise ArgsError("%s takes %d arg(s) %s, got %d: %r" % (
			op.name, len(op.params), op.params, len(args), tuple(args)
		))

	checked = []
	for paramName, arg in zip(op.params, args):
		if isinstance(arg, bool) or not isinstance(arg, Real):
			raise ArgsError("%s: %s must be a real number, got %r" % (op.name, paramName, arg))

		if arg != arg or arg in (math.inf, -math.inf):
			raise ArgsError("%s: %s must be finite, got %r" % (op.name, paramName, arg))

		checked.append(_rounded(op, paramName, arg, ctype))

	problem = op.rule(*checked) if op.rule is not None else None
	if problem is not None:
		raise ArgsError("%s: %s" % (op.name, problem))

	return tuple(checked)
