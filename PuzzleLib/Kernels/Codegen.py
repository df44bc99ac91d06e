"""Per-element C statements of a kernel, shared by the CPU and CUDA source generators: pure."""

import os

from PuzzleLib.Kernels.Activations import kernelFormula
from PuzzleLib.Kernels.Expression import cFormula


# Math functions both backends take from inline_math.h instead of the C library: the same
# arithmetic on the CPU and the GPU, and more exact than either library's (see the header).
INLINE_FUNCTIONS = {"float": {"exp": "pz_expf"}, "double": {"exp": "pz_exp"}}

with open(os.path.join(os.path.dirname(__file__), "inline_math.h")) as _file:
	INLINE_MATH = _file.read()


def paramNames(spec):
	return tuple("p_%s" % name for name in spec.params)


def elementBody(spec, direction, ctype, load, store):
	"""Lines that compute one element; the source they go in must contain INLINE_MATH.

	load(k) is the C expression reading operand k (0-based, after the output) at the element,
	already converted to ctype; store(expr) is the statement writing expr (of ctype) to the output.
	"""
	operands, formula = kernelFormula(spec, direction)
	lines = ["const %s %s = %s;" % (ctype, name, load(k)) for k, name in enumerate(operands)]

	statements, result = cFormula(formula, ctype, operands + paramNames(spec), functions=INLINE_FUNCTIONS[ctype])
	return lines + statements + [store(result)]


def kernelName(spec, direction, dtypeName):
	return "%s_%s_%s" % (spec.name, direction, dtypeName)
