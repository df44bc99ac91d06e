"""Per-element C statements of a kernel, shared by the CPU and CUDA source generators: pure."""

from PuzzleLib.Kernels.Activations import kernelFormula
from PuzzleLib.Kernels.Expression import cFormula


def paramNames(spec):
	return tuple("p_%s" % name for name in spec.params)


def elementBody(spec, direction, ctype, load, store, functions=None):
	"""Lines that compute one element.

	load(k) is the C expression reading operand k (0-based, after the output) at the element,
	already converted to ctype; store(expr) is the statement writing expr (of ctype) to the output;
	functions overrides which C function computes a math function (see Expression.CMath).
	"""
	operands, formula = kernelFormula(spec, direction)
	lines = ["const %s %s = %s;" % (ctype, name, load(k)) for k, name in enumerate(operands)]

	statements, result = cFormula(formula, ctype, operands + paramNames(spec), functions=functions)
	return lines + statements + [store(result)]


def kernelName(spec, direction, dtypeName):
	return "%s_%s_%s" % (spec.name, direction, dtypeName)
