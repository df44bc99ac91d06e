"""Weight initialisation: the schemes by name, their fan, and the host draw (np.random, so that
np.random.seed makes a script reproducible)."""

import math
from enum import Enum

import numpy as np


class InitScheme(str, Enum):
	none = "none"
	xavier = "xavier"
	xavierUniform = "xavier_uniform"
	xavierNormal = "xavier_normal"
	he = "he"
	gaussian = "gaussian"
	uniform = "uniform"


class FactorType(str, Enum):
	in_ = "in"
	out = "out"
	avg = "avg"


class InitSchemeError(ValueError):
	pass


def _member(enum, value, what):
	try:
		return enum(value)
	except ValueError:
		raise InitSchemeError("unknown %s %r; valid ones are: %s" % (
			what, value, ", ".join(member.value for member in enum)
		)) from None


def parseScheme(scheme):
	"""(InitScheme or None, FactorType) from a scheme, its name, None, or a (scheme, factorType) pair."""
	factorType = FactorType.in_

	if isinstance(scheme, (tuple, list)):
		if len(scheme) != 2:
			raise InitSchemeError("an init scheme pair is (scheme, factorType), got %r" % (scheme, ))
		scheme, factorType = scheme
		factorType = _member(FactorType, factorType, "factor type")

	return (None if scheme is None else _member(InitScheme, scheme, "init scheme")), factorType


def fans(shape):
	"""(fan out, fan in): a 2-D (a, b) weight maps a inputs to b outputs; a >= 3-D one is
	(out maps, in maps, *receptive field)."""
	if len(shape) == 2:
		return shape[1], shape[0]

	if len(shape) < 2:
		raise InitSchemeError("a weight has at least 2 dimensions, got shape %s" % (shape, ))

	field = math.prod(shape[2:])
	return shape[0] * field, shape[1] * field


def createTensorWithScheme(scheme, shape, wscale, factorShape=None, factorTranspose=False, dtype=np.float32):
	"""A host ndarray of shape drawn by scheme, cast to dtype; None for the "none" scheme.

	None (the default) draws U(-sqrt(3/f), sqrt(3/f)); xavier and xavier_normal N(0, sqrt(1/f));
	xavier_uniform as the default; he N(0, sqrt(2/f)); gaussian N(0, wscale); uniform
	U(-wscale, wscale). f is the fan in (or out, or their mean, by the factor type) of
	factorShape, else of shape; factorTranspose swaps in and out.
	"""
	scheme, factorType = parseScheme(scheme)
	if scheme is InitScheme.none:
		return None

	fanOut, fanIn = fans(tuple(shape if factorShape is None else factorShape))
	if factorTranspose:
		fanOut, fanIn = fanIn, fanOut

	factor = {FactorType.in_: fanIn, FactorType.out: fanOut, FactorType.avg: (fanIn + fanOut) / 2}[factorType]

	if scheme in (None, InitScheme.xavierUniform):
		bound = math.sqrt(3.0 / factor)
		tensor = np.random.uniform(-bound, bound, shape)
	elif scheme in (InitScheme.xavier, InitScheme.xavierNormal):
		tensor = np.random.normal(0.0, math.sqrt(1.0 / factor), shape)
	elif scheme is InitScheme.he:
		tensor = np.random.normal(0.0, math.sqrt(2.0 / factor), shape)
	elif scheme is InitScheme.gaussian:
		tensor = np.random.normal(0.0, wscale, shape)
	else:
		tensor = np.random.uniform(-wscale, wscale, shape)

	return tensor.astype(dtype)
