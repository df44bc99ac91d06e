"""Per-element C statements of a table entry's kernel, shared by the CPU and CUDA source generators: pure."""

import os

from PuzzleLib.Kernels.ElementwiseOp import NORMAL, UNIFORM
from PuzzleLib.Kernels.Expression import cFormula


# Math functions both backends take from inline_math.h instead of the C library: the same
# arithmetic on the CPU and the GPU, and more exact than either library's (see the header).
INLINE_FUNCTIONS = {"float": {"exp": "pz_expf"}, "double": {"exp": "pz_exp"}}


def _read(name):
	with open(os.path.join(os.path.dirname(__file__), name)) as file:
		return file.read()


# the shared inline math, then the Philox stream (which uses its PZ_INLINE)
INLINE_MATH = _read("inline_math.h") + "\n" + _read("philox.h")

# the C names of a random entry's stream arguments, after its params, and its operands' functions
RNG_ARGS = ("rng_key", "rng_counter")
RANDOM_FUNCTIONS = {UNIFORM: "pz_philox_uniform", NORMAL: "pz_philox_normal"}


def paramNames(op):
	return tuple("p_%s" % name for name in op.params)


def valueName(operand):
	return "v_%s" % operand.name


def blockRandomValue(role, lane, words="w"):
	"""The C value of a random operand at lane (0-3, a C int constant) of a Philox block already in
	words: what a loop that draws one block per four elements uses instead of a draw per element."""
	if role == UNIFORM:
		return "pz_uniform_from_word(%s[%d])" % (words, lane)
	pair = lane & 2
	return "pz_normal_from_words(%s[%d], %s[%d], %d)" % (words, pair, words, pair + 1, lane)


def elementBody(op, ctype, load, store, index="i", randomValue=None):
	"""Lines that compute one element; the source they go in must contain INLINE_MATH.

	load(k) is the C expression reading array operand k (in call order) at the element, already
	converted to ctype; store(k, expr) is the statement writing expr (of ctype) to array operand k.
	index is the C expression of the element's flat index in the arrays, which numbers the random
	stream's elements; randomValue(role), when given, is the C value of a random operand instead of
	a draw of its own.
	"""
	arrayIndex = {operand: k for k, operand in enumerate(op.arrays)}
	lines = []

	for operand in op.readable:
		if operand.role in RANDOM_FUNCTIONS and randomValue is not None:
			value = "(%s)%s" % (ctype, randomValue(operand.role))
		elif operand.role in RANDOM_FUNCTIONS:
			value = "(%s)%s(%s, %s, %s)" % (ctype, RANDOM_FUNCTIONS[operand.role], RNG_ARGS[0], RNG_ARGS[1], index)
		else:
			value = load(arrayIndex[operand])
		lines.append("const %s %s = %s;" % (ctype, valueName(operand), value))

	operands = tuple(valueName(operand) for operand in op.readable) + paramNames(op)
	statements, results = cFormula(op.formula, ctype, operands, functions=INLINE_FUNCTIONS[ctype], many=True)
	results = op.results(tuple(results))

	return lines + statements + [
		store(arrayIndex[operand], result) for operand, result in zip(op.written, results)
	]


def kernelName(op, dtypeName):
	return "%s_%s" % (op.name, dtypeName)
