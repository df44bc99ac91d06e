"""The bad-input matrix: every public entry point against every kind of bad value, one row per
(entry point, bad value), one test per row.

The error a row expects follows one rule per layer:
- the module (Activation constructor, __call__, backward, calcMode): ModuleError;
- the kernel layer (xxxKer(dtype), xxxDerKer(dtype), ker(...)): KernelError (a ValueError); a Python
  signature mistake (an unknown keyword) stays Python's TypeError. An input may be the output itself
  (inplace) but not overlap it shifted, which would read elements after they are written;
- gpuarray (to_gpu, empty, zeros, copy, set, get) and the CPU memory pool, like numpy and pycuda: a
  wrong type or dtype is a TypeError, a wrong value (negative size, mismatched size) a ValueError, and
  a size no memory can hold a MemoryError;
- the backend choice (PuzzleLib.Backend.Selection.choose()): Config.ConfigError.
Every message says what was expected (the row's pattern). Afterwards the module's state (data, grad,
inData, calctype, args, ...), every array (bitwise), Config and the pool's live blocks are exactly as
before, and a module that refused a call still computes correctly.

DECIDED: gpuarray.to_gpu of a non-contiguous host array (strided, Fortran-ordered, reversed) copies it
into a C-contiguous array of the same shape and values, as pycuda's to_gpu does and as a user expects.
"""

import copy, gc, math, os, re, sys
from collections import namedtuple
from types import SimpleNamespace

import numpy as np
import pytest

import reference
from harness import assertSameBits, bits


SHAPE = (4, 6)
ALPHA = 0.2
GPU = r"[\w.]*GPUArray"
VALID = "valid ones are: sigmoid, tanh, relu, leakyRelu, elu, softPlus, clip"


class Row(namedtuple("Row", ["id", "call", "error", "pattern", "setup", "backends"])):
	"""call(ctx) must raise error (a name resolved at run time) with a message matching pattern."""

	def __new__(cls, id, call, error, pattern, setup=None, backends=("cpu", "cuda")):
		return super().__new__(cls, id, call, error, pattern, setup, backends)


def rowParams(rows):
	return pytest.mark.parametrize("row", rows, ids=[row.id for row in rows])


class FakeArray:
	"""Looks like a GPUArray (shape, dtype, size, gpudata, ptr) but is not one."""

	def __init__(self, host):
		self.gpudata, self.shape, self.dtype, self.size = host, host.shape, host.dtype, host.size
		self.ptr = host.ctypes.data


def hostData(seed, shape=SHAPE, dtype=np.float32):
	return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.fixture
def ctx(backend, monkeypatch):
	"""Primed modules (after a forward and backward), kernels, and arrays of every kind."""
	from PuzzleLib import Config
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Backend.Kernels import ElementWise
	from PuzzleLib.Modules import Activation

	monkeypatch.setattr(Config, "showWarnings", False)
	gpu = gpuarray.to_gpu

	act = Activation("leakyRelu", args=(ALPHA, ), name="victim")
	actInplace = Activation("leakyRelu", slc=slice(1, None, 2), inplace=True, args=(ALPHA, ), name="inplace victim")
	for module, seed in ((act, 1), (actInplace, 3)):
		module(gpu(hostData(seed)))
		module.backward(gpu(hostData(seed + 1)))

	whole = gpu(hostData(5, shape=(4, 12)))
	c = SimpleNamespace(
		monkeypatch=monkeypatch, gpuarray=gpuarray, Config=Config,
		act=act, actInplace=actInplace, fresh=Activation("elu", name="fresh"),
		ker=ElementWise.leakyReluKer(np.float32), der=ElementWise.leakyReluDerKer(np.float32),
		x=gpu(hostData(6)), dy=gpu(hostData(7)), out=gpu(hostData(8)),
		x64=gpu(hostData(9, dtype=np.float64)), x16=gpu(hostData(10, dtype=np.float16)),
		xint=gpu(np.arange(24, dtype=np.int32).reshape(SHAPE)), x25=gpu(hostData(11, shape=(25, ))),
		transposed=gpu(hostData(12, shape=(6, 4))), whole=whole, nc=whole[:, ::2],
		host=hostData(13), hostStrided=hostData(14, shape=(4, 12))[:, ::2],
	)
	c.fake = FakeArray(c.host)
	c.modules = [c.act, c.actInplace, c.fresh]
	c.arrays = [c.x, c.dy, c.out, c.x64, c.x16, c.xint, c.x25, c.transposed, c.whole]
	c.hosts = [c.host, c.hostStrided]
	assert c.nc.shape == SHAPE and not gpuarray.isContiguous(c.nc)
	return c


# --- the state that must survive a refused call --------------------------------------------------

CONFIG_NAMES = ("backend", "deviceIdx", "globalEvalMode", "disableDtypeShapeChecks", "showWarnings", "cachepath")


def configState():
	from PuzzleLib import Config
	return {name: getattr(Config, name) for name in CONFIG_NAMES}


def moduleState(module, arrayType):
	return {
		key: ("array", id(value)) if isinstance(value, arrayType) else copy.deepcopy(value)
		for key, value in vars(module).items()
	}


def snapshot(c):
	gc.collect()
	arrays = list(c.arrays)
	for module in c.modules:
		arrays += [a for a in (module.data, module.grad, module.inData) if a is not None and all(a is not b for b in arrays)]

	return {
		"modules": [moduleState(module, c.gpuarray.GPUArray) for module in c.modules],
		"arrays": [(id(a), a.shape, a.dtype, bits(a.get()).tobytes()) for a in arrays],
		"hosts": [bits(h).tobytes() for h in c.hosts],
		"config": configState(),
		"environment": os.environ.get("PUZZLELIB_BACKEND"),
		"active blocks": c.gpuarray.memoryPool.active_blocks,
	}


def assertUnchanged(before, after):
	for key in before:
		assert after[key] == before[key], "a refused call changed the %s" % key


def assertStillComputes(c):
	"""The primed modules, after the refusal, still compute leakyRelu(0.2) correctly."""
	from cases import Case, refForward

	c.monkeypatch.setattr(c.Config, "disableDtypeShapeChecks", False)
	x = hostData(99)
	y = c.act(c.gpuarray.to_gpu(x)).get()
	reference.assertClose(y, refForward(Case("leakyRelu", (ALPHA, ), (ALPHA, )), x), context="after the refusal")


def runRow(row, c, backend):
	if backend not in row.backends:
		pytest.skip("row %s is specific to the %s backend" % (row.id, "/".join(row.backends)))

	if row.setup is not None:
		row.setup(c)

	before = snapshot(c)
	with pytest.raises(row.error(c)) as info:
		row.call(c)

	message = str(info.value)
	del info            # its traceback holds the failed call's locals (a pooled output, say) alive
	assert re.search(row.pattern, message), "message %r does not match %r" % (message, row.pattern)
	assertUnchanged(before, snapshot(c))


def moduleError(c):
	from PuzzleLib.Modules import ModuleError
	return ModuleError


def kernelError(c):
	from PuzzleLib.Kernels.Launch import KernelError
	return KernelError


def const(exception):
	return lambda c: exception


def activation(*args, **kwargs):
	def call(c):
		from PuzzleLib.Modules import Activation
		Activation(*args, **kwargs)
	return call


def checksOff(c):
	c.monkeypatch.setattr(c.Config, "disableDtypeShapeChecks", True)


# --- the module: constructor, __call__, backward, calcMode ---------------------------------------

CONSTRUCTOR = [
	Row("unknown name", activation("swish"), moduleError, "unknown activation 'swish'; " + VALID),
	Row("name in the wrong case", activation("Sigmoid"), moduleError, "unknown activation 'Sigmoid'; " + VALID),
	Row("name of the wrong type", activation(5), moduleError, "unknown activation 5; " + VALID),
	Row("name None", activation(None), moduleError, "unknown activation None; " + VALID),
	Row("slc a tuple", activation("relu", slc=(0, 3)), moduleError, "slc: slice must be a Python slice or None"),
	Row("slc an int", activation("relu", slc=3), moduleError, "slc: slice must be a Python slice or None"),
	Row("slc zero step", activation("relu", slc=slice(0, 10, 0)), moduleError, "slice step must not be zero"),
	Row("slc float bound", activation("relu", slc=slice(0.5, 3)), moduleError, "slice bounds must be integers or None"),
	Row("slc NaN bound", activation("relu", slc=slice(math.nan, None)), moduleError, "slice bounds must be integers"),
	Row("slc bool bound", activation("relu", slc=slice(True, 3)), moduleError, "slice bounds must be integers"),
	Row("slc float step", activation("relu", slc=slice(0, 5, 1.0)), moduleError, "slice bounds must be integers"),
	Row("inplace an int", activation("relu", inplace=1), moduleError, "inplace must be True or False, got 1"),
	Row("inplace a string", activation("relu", inplace="yes"), moduleError, "inplace must be True or False"),
	Row("args a bare number", activation("leakyRelu", args=0.3), moduleError,
		r"args must be a tuple of 1 number\(s\) \('alpha', ?\), got 0.3"),
	Row("args None", activation("elu", args=None), moduleError, r"args must be a tuple of 1 number"),
	Row("args a string", activation("elu", args="0.1"), moduleError, r"args must be a tuple of 1 number"),
	Row("args too many", activation("leakyRelu", args=(0.1, 0.2)), moduleError, r"leakyRelu takes 1 arg\(s\).*got 2"),
	Row("args to an argless activation", activation("sigmoid", args=(1.0, )), moduleError, r"sigmoid takes 0 arg\(s\)"),
	Row("args too few", activation("clip", args=(1.0, )), moduleError, r"clip takes 2 arg\(s\).*got 1"),
	Row("args NaN", activation("elu", args=(math.nan, )), moduleError, "alpha must be finite, got nan"),
	Row("args inf", activation("leakyRelu", args=(math.inf, )), moduleError, "alpha must be finite, got inf"),
	Row("args -inf bound", activation("clip", args=(-math.inf, 1.0)), moduleError, "min must be finite"),
	Row("args an integer beyond any float", activation("elu", args=(10**400, )), moduleError,
		"alpha=an integer of 1329 bits is out of range: kernels compute in float64"),
	Row("args a string element", activation("elu", args=("1", )), moduleError, "alpha must be a real number"),
	Row("args a bool element", activation("clip", args=(0.0, True)), moduleError, "max must be a real number"),
	Row("args negative alpha (leakyRelu)", activation("leakyRelu", args=(-0.01, )), moduleError, "alpha must be >= 0"),
	Row("args negative alpha (elu)", activation("elu", args=(-1.0, )), moduleError, "alpha must be >= 0"),
	Row("args clip min > max", activation("clip", args=(2.0, 1.0)), moduleError, r"clip needs min < max \(got min=2.0, max=1.0\)"),
	Row("args clip min == max", activation("clip", args=(1.0, 1.0)), moduleError, "clip needs min < max"),
]

CALL = [
	Row("data a numpy array", lambda c: c.act(c.host), moduleError, r"data must be a %s \(use gpuarray.to_gpu\), got ndarray" % GPU),
	Row("data a non-contiguous numpy array", lambda c: c.act(c.hostStrided), moduleError,
		r"data must be a %s \(use gpuarray.to_gpu\), got ndarray" % GPU),
	Row("data None", lambda c: c.act(None), moduleError, r"data must be a %s .*got NoneType" % GPU),
	Row("data a list", lambda c: c.act([[1.0] * 6] * 4), moduleError, r"data must be a %s .*got list" % GPU),
	Row("data a GPUArray lookalike", lambda c: c.act(c.fake), moduleError, r"data must be a %s .*got FakeArray" % GPU),
	Row("data float64", lambda c: c.act(c.x64), moduleError, r"expected dtype float32 \(set by calcMode\), got float64"),
	Row("data float16", lambda c: c.act(c.x16), moduleError, "expected dtype float32 .*got float16"),
	Row("data int32", lambda c: c.act(c.xint), moduleError, "expected dtype float32 .*got int32"),
	Row("data non-contiguous", lambda c: c.act(c.nc), moduleError, "data must be C-contiguous"),
	Row("inplace: data float64", lambda c: c.actInplace(c.x64), moduleError, "expected dtype float32"),
	Row("inplace: data non-contiguous", lambda c: c.actInplace(c.nc), moduleError, "data must be C-contiguous"),
	Row("data int32, checks off", lambda c: c.act(c.xint), moduleError,
		"kernels exist for float16, float32 and float64, not int32", setup=checksOff),
	Row("inplace: data int32, checks off", lambda c: c.actInplace(c.xint), moduleError,
		"kernels exist for float16, float32 and float64, not int32", setup=checksOff),
]

BACKWARD = [
	Row("before forward", lambda c: c.fresh.backward(c.dy), moduleError, r"backward called before forward"),
	Row("grad a numpy array", lambda c: c.act.backward(c.host), moduleError, r"grad must be a %s .*got ndarray" % GPU),
	Row("grad None", lambda c: c.act.backward(None), moduleError, r"grad must be a %s .*got NoneType" % GPU),
	Row("grad a GPUArray lookalike", lambda c: c.act.backward(c.fake), moduleError, r"grad must be a %s .*got FakeArray" % GPU),
	Row("grad transposed shape", lambda c: c.act.backward(c.transposed), moduleError,
		r"grad has shape \(6, 4\), the output has shape \(4, 6\)"),
	Row("grad wrong size", lambda c: c.act.backward(c.x25), moduleError, r"grad has shape \(25,\), the output has shape \(4, 6\)"),
	Row("grad float64", lambda c: c.act.backward(c.x64), moduleError, r"expected dtype float32 \(set by calcMode\), got float64"),
	Row("grad non-contiguous", lambda c: c.act.backward(c.nc), moduleError, "grad must be C-contiguous"),
	Row("inplace: grad float16", lambda c: c.actInplace.backward(c.x16), moduleError, "expected dtype float32"),
	Row("inplace: grad wrong shape", lambda c: c.actInplace.backward(c.transposed), moduleError, r"grad has shape \(6, 4\)"),
	Row("grad wrong size, checks off", lambda c: c.act.backward(c.x25), moduleError,
		r"operand \d has \d+ elements, operand 0 has \d+", setup=checksOff),
	Row("inplace: grad wrong size, checks off", lambda c: c.actInplace.backward(c.x25), moduleError,
		r"operand \d has \d+ elements, operand 0 has \d+", setup=checksOff),
]

CALC_MODE = [
	Row("dtype None", lambda c: c.act.calcMode(None), moduleError, "calcMode takes a numpy dtype, got None"),
	Row("dtype an unknown name", lambda c: c.act.calcMode("float8"), moduleError, "calcMode takes a numpy dtype, got 'float8'"),
	Row("dtype a number", lambda c: c.act.calcMode(5), moduleError, "calcMode takes a numpy dtype, got 5"),
	Row("dtype int32", lambda c: c.act.calcMode(np.int32), moduleError, r"unsupported dtype int32 \(supported: float32"),
	Row("dtype complex64", lambda c: c.act.calcMode(np.complex64), moduleError, r"unsupported dtype complex64 \(supported: "),
	Row("dtype bool", lambda c: c.act.calcMode(bool), moduleError, r"unsupported dtype bool \(supported: "),
]

MODULE_ROWS = (
	[row._replace(id="Activation(): " + row.id) for row in CONSTRUCTOR] +
	[row._replace(id="__call__: " + row.id) for row in CALL] +
	[row._replace(id="backward: " + row.id) for row in BACKWARD] +
	[row._replace(id="calcMode: " + row.id) for row in CALC_MODE]
)


@rowParams(MODULE_ROWS)
def test_module_refuses(ctx, backend, row):
	runRow(row, ctx, backend)
	assertStillComputes(ctx)


# --- the kernel layer ----------------------------------------------------------------------------

def factory(dtype, direction="forward"):
	def call(c):
		from PuzzleLib.Backend.Kernels import ElementWise
		getattr(ElementWise, "leakyRelu%sKer" % ("Der" if direction == "backward" else ""))(dtype)
	return call


KERNEL_ROWS = [
	Row("xxxKer(None)", factory(None), kernelError, "kernel dtype must be a numpy float dtype, got None"),
	Row("xxxKer(unknown name)", factory("float8"), kernelError, "kernel dtype must be a numpy float dtype, got 'float8'"),
	Row("xxxKer(a number)", factory(3.5), kernelError, "kernel dtype must be a numpy float dtype, got 3.5"),
	Row("xxxKer(int32)", factory(np.int32), kernelError, "kernels exist for float16, float32 and float64, not int32"),
	Row("xxxKer(complex64)", factory(np.complex64), kernelError, "kernels exist for float16, float32 and float64, not complex64"),
	Row("xxxDerKer(int64)", factory(np.int64, "backward"), kernelError, "kernels exist for float16, float32 and float64, not int64"),
	Row("ker: out a numpy array", lambda c: c.ker(c.host, c.x, ALPHA), kernelError, r"operand 0 must be a %s, got ndarray" % GPU),
	Row("ker: in a numpy array", lambda c: c.ker(c.out, c.host, ALPHA), kernelError, r"operand 1 must be a %s, got ndarray" % GPU),
	Row("ker: in a non-contiguous numpy array", lambda c: c.ker(c.out, c.hostStrided, ALPHA), kernelError,
		r"operand 1 must be a %s, got ndarray" % GPU),
	Row("ker: in a lookalike", lambda c: c.ker(c.out, c.fake, ALPHA), kernelError, r"operand 1 must be a %s, got FakeArray" % GPU),
	Row("ker: in None", lambda c: c.ker(c.out, None, ALPHA), kernelError, r"operand 1 must be a %s, got NoneType" % GPU),
	Row("der: outdata a numpy array", lambda c: c.der(c.out, c.dy, c.host, ALPHA), kernelError, r"operand 2 must be a %s" % GPU),
	Row("ker: in float64", lambda c: c.ker(c.out, c.x64, ALPHA), kernelError, r"operand 1 \(x\) has dtype float64, the kernel takes float32"),
	Row("ker: out float16", lambda c: c.ker(c.x16, c.x, ALPHA), kernelError, r"operand 0 \(out\) has dtype float16, the kernel takes float32"),
	Row("ker: in int32", lambda c: c.ker(c.out, c.xint, ALPHA), kernelError, r"operand 1 \(x\) has dtype int32, the kernel takes float32"),
	Row("ker: sizes differ", lambda c: c.ker(c.out, c.x25, ALPHA), kernelError, "operand 1 has 25 elements, operand 0 has 24"),
	Row("der: sizes differ", lambda c: c.der(c.out, c.dy, c.x25, ALPHA), kernelError, "operand 2 has 25 elements, operand 0 has 24"),
	Row("ker: in non-contiguous", lambda c: c.ker(c.out, c.nc, ALPHA), kernelError, "operand 1 is not C-contiguous"),
	Row("ker: out non-contiguous", lambda c: c.ker(c.nc, c.x, ALPHA), kernelError, "operand 0 is not C-contiguous"),
	Row("ker: in overlaps out, shifted", lambda c: c.ker(c.x25[1:], c.x25[:-1], ALPHA), kernelError,
		r"operand 1 overlaps operand 0, which the kernel writes"),
	Row("der: outdata overlaps out, shifted", lambda c: c.der(c.x25[:-1], c.dy.ravel(), c.x25[1:], ALPHA), kernelError,
		r"operand 2 overlaps operand 0, which the kernel writes"),
	Row("ker: no operand", lambda c: c.ker(c.out), kernelError, r"takes 2 array\(s\) \('out', 'x'\), got 1"),
	Row("der: one operand short", lambda c: c.der(c.out, c.dy), kernelError, r"takes 3 array\(s\) \('ingrad', 'dy', 'y'\), got 2"),
	Row("ker: arg missing", lambda c: c.ker(c.out, c.x), kernelError, r"leakyRelu takes 1 arg\(s\) \('alpha', ?\), got 0"),
	Row("ker: arg extra", lambda c: c.ker(c.out, c.x, ALPHA, 0.3), kernelError, r"leakyRelu takes 1 arg\(s\).*got 2"),
	Row("ker: arg NaN", lambda c: c.ker(c.out, c.x, math.nan), kernelError, "alpha must be finite, got nan"),
	Row("ker: arg inf", lambda c: c.ker(c.out, c.x, math.inf), kernelError, "alpha must be finite, got inf"),
	Row("ker: arg beyond float32", lambda c: c.ker(c.out, c.x, 1e39), kernelError,
		r"alpha=1e\+39 is out of range: kernels compute in float32, whose largest finite value is 3.4028234663852886e\+38"),
	Row("ker: arg negative", lambda c: c.ker(c.out, c.x, -1.0), kernelError, "alpha must be >= 0"),
	Row("ker: arg a string", lambda c: c.ker(c.out, c.x, "0.2"), kernelError, "alpha must be a real number, got '0.2'"),
	Row("ker: arg an array", lambda c: c.ker(c.out, c.x, c.dy), kernelError, r"alpha must be a real number"),
	Row("ker: slice zero step", lambda c: c.ker(c.out, c.x, ALPHA, slice=slice(0, 5, 0)), kernelError, "slice step must not be zero"),
	Row("ker: slice float bound", lambda c: c.ker(c.out, c.x, ALPHA, slice=slice(0.5, 3)), kernelError,
		"slice bounds must be integers or None"),
	Row("ker: slice a tuple", lambda c: c.ker(c.out, c.x, ALPHA, slice=(0, 5)), kernelError, "slice must be a Python slice or None"),
	Row("ker: slice an int", lambda c: c.ker(c.out, c.x, ALPHA, slice=3), kernelError, "slice must be a Python slice or None"),
	Row("ker: keyword slc=", lambda c: c.ker(c.out, c.x, ALPHA, slc=slice(1)), const(TypeError), "unexpected keyword argument 'slc'"),
]


@rowParams(KERNEL_ROWS)
def test_kernel_refuses(ctx, backend, row):
	runRow(row, ctx, backend)


# --- gpuarray and the memory pool ----------------------------------------------------------------

def gpuarrayCall(name, *args, **kwargs):
	return lambda c: getattr(c.gpuarray, name)(*args, **kwargs)


def cpuPool(*args):
	def call(c):
		from PuzzleLib.CPU.MemoryPool import MemoryPool
		MemoryPool(*args)
	return call


SHAPE_TYPE = "shape must be an int or a tuple of ints"
VALUE_TYPES = "arrays hold booleans, integers or floats"

GPUARRAY_ROWS = [
	Row("to_gpu(a list)", gpuarrayCall("to_gpu", [1.0, 2.0]), const(TypeError), "to_gpu takes a numpy ndarray, got list"),
	Row("to_gpu(None)", gpuarrayCall("to_gpu", None), const(TypeError), "to_gpu takes a numpy ndarray, got NoneType"),
	Row("to_gpu(a GPUArray)", lambda c: c.gpuarray.to_gpu(c.x), const(TypeError), "to_gpu takes a host numpy array; this is already a GPUArray"),
	Row("to_gpu(object dtype)", gpuarrayCall("to_gpu", np.array([1, None])), const(TypeError), VALUE_TYPES + ", not object"),
	Row("to_gpu(str dtype)", gpuarrayCall("to_gpu", np.array(["a", "b"])), const(TypeError), VALUE_TYPES + ", not <U1"),
	Row("empty(negative size)", gpuarrayCall("empty", -1), const(ValueError), r"shape must not have negative dimensions, got \(-1,\)"),
	Row("empty(negative dim)", gpuarrayCall("empty", (2, -3)), const(ValueError), r"negative dimensions, got \(2, -3\)"),
	Row("zeros(negative size)", gpuarrayCall("zeros", -5, np.float32), const(ValueError), "negative dimensions"),
	Row("empty(float size)", gpuarrayCall("empty", 2.5), const(TypeError), SHAPE_TYPE + ", got 2.5"),
	Row("empty(float dim)", gpuarrayCall("empty", (2, 2.0)), const(TypeError), SHAPE_TYPE),
	Row("empty(None shape)", gpuarrayCall("empty", None), const(TypeError), SHAPE_TYPE),
	Row("zeros(str shape)", gpuarrayCall("zeros", "3"), const(TypeError), SHAPE_TYPE),
	Row("empty(unknown dtype)", gpuarrayCall("empty", 3, "float8"), const(TypeError), "dtype must be a numpy dtype, got 'float8'"),
	Row("empty(None dtype)", gpuarrayCall("empty", 3, None), const(TypeError), "dtype must be a numpy dtype, got None",
		backends=("cpu", )),
	Row("zeros(object dtype)", gpuarrayCall("zeros", 3, object), const(TypeError), VALUE_TYPES + ", not object"),
	Row("empty(allocator not callable)", gpuarrayCall("empty", 3, np.float32, 5), const(TypeError),
		"allocator must be None or a callable", backends=("cpu", )),
	Row("empty(more than memory)", gpuarrayCall("empty", 1 << 42), const(MemoryError), "", backends=("cpu", )),
	Row("empty(more than memory, pooled)", lambda c: c.gpuarray.empty(1 << 42, allocator=c.gpuarray.memoryPool),
		const(MemoryError), "", backends=("cpu", )),
	Row("copy(dest, a numpy array)", lambda c: c.gpuarray.copy(c.out, c.host), const(TypeError), "copy takes (two )?GPUArrays"),
	Row("copy(a numpy array, source)", lambda c: c.gpuarray.copy(c.host, c.x), const(TypeError), "copy takes (two )?GPUArrays"),
	Row("copy(sizes differ)", lambda c: c.gpuarray.copy(c.out, c.x25), const(ValueError), r"copy: \(25,\) float32 into \(4, 6\) float32"),
	Row("copy(dtypes differ)", lambda c: c.gpuarray.copy(c.out, c.x64), const(ValueError), "copy: .*float64 into .*float32"),
	Row("set(wrong dtype)", lambda c: c.out.set(hostData(20, dtype=np.float64)), const(ValueError), "dtype"),
	Row("set(wrong size)", lambda c: c.out.set(hostData(21, shape=(5, ))), const(ValueError), "5 elements|size"),
	Row("get(ary of the wrong shape)", lambda c: c.out.get(np.empty((6, 4), np.float32)), const(ValueError),
		r"get\(ary\) needs an ndarray of shape \(4, 6\) and dtype float32", backends=("cpu", )),
	Row("MemoryPool(negative bound)", cpuPool(-1), const(ValueError), "maxHeldBytes must be a byte count >= 0, got -1"),
	Row("MemoryPool(str bound)", cpuPool("1gb"), const(ValueError), "maxHeldBytes must be a byte count >= 0, got '1gb'"),
	Row("memoryPool.allocate(negative)", lambda c: c.gpuarray.memoryPool.allocate(-1), const(ValueError),
		"allocate needs a byte count >= 0, got -1", backends=("cpu", )),
]


@rowParams(GPUARRAY_ROWS)
def test_gpuarray_refuses(ctx, backend, row):
	runRow(row, ctx, backend)


@pytest.mark.parametrize("layout", ["strided", "fortran", "reversed", "transposed"])
def test_to_gpu_copies_non_contiguous_host_arrays(backend, layout):
	"""DECIDED: to_gpu of a non-contiguous host array is a C-contiguous copy of it; set() of one
	copies its values in C order."""
	from PuzzleLib.Backend import gpuarray

	base = hostData(30, shape=(6, 10))
	host = {
		"strided": base[::2, 1::3], "fortran": np.asfortranarray(base), "reversed": base[::-1, ::-1],
		"transposed": base.T,
	}[layout]
	assert not host.flags.c_contiguous
	before = bits(base).tobytes()

	ary = gpuarray.to_gpu(host)
	assert ary.shape == host.shape and ary.dtype == host.dtype
	assert gpuarray.isContiguous(ary)
	assertSameBits(ary.get(), np.ascontiguousarray(host), "to_gpu of a %s array" % layout)

	target = gpuarray.zeros(host.shape, dtype=host.dtype)
	target.set(host)
	assertSameBits(target.get(), np.ascontiguousarray(host), "set() of a %s array" % layout)
	assert bits(base).tobytes() == before, "to_gpu or set() modified the host array"


# --- the backend choice --------------------------------------------------------------------------

def env(value):
	def setup(c):
		c.monkeypatch.setenv("PUZZLELIB_BACKEND", value)
	return setup


def configured(value):
	def setup(c):
		c.monkeypatch.delenv("PUZZLELIB_BACKEND", raising=False)
		c.monkeypatch.setattr(c.Config, "backend", value)
	return setup


class NoPycuda:
	"""A meta path finder for a machine where pycuda is not installed."""

	def find_spec(self, name, path=None, target=None):
		if name.split(".")[0] == "pycuda":
			raise ModuleNotFoundError("No module named %r" % name, name=name)
		return None


def noContextYet(c, requested="cuda"):
	from PuzzleLib.Cuda import Driver

	c.monkeypatch.setenv("PUZZLELIB_BACKEND", requested)
	c.monkeypatch.setattr(Driver, "context", None)
	for name in [name for name in sys.modules if name.split(".")[0] == "pycuda"]:
		c.monkeypatch.delitem(sys.modules, name)


def withoutPycuda(c):
	noContextYet(c)
	c.monkeypatch.setattr(sys, "meta_path", [NoPycuda()] + sys.meta_path)


def withBrokenPycuda(c):
	"""pycuda is there but its import fails (e.g. built against a newer CUDA than the driver), on a
	machine whose driver library loads."""
	noContextYet(c)
	for name in ("pycuda", "pycuda.driver"):
		c.monkeypatch.setitem(sys.modules, name, None)

	from PuzzleLib.Cuda import Driver
	c.monkeypatch.setattr(Driver, "driverMissing", lambda: None)


def choose(c):
	from PuzzleLib.Backend import Selection
	Selection.choose()


def configError(c):
	return c.Config.ConfigError


SUPPORTED = "supported backends are cuda and cpu"

CONFIG_ROWS = [
	Row("PUZZLELIB_BACKEND=gpu", choose, configError, "PUZZLELIB_BACKEND='gpu': " + SUPPORTED, setup=env("gpu")),
	Row("PUZZLELIB_BACKEND=hip", choose, configError, "PUZZLELIB_BACKEND='hip': " + SUPPORTED, setup=env("hip")),
	Row("PUZZLELIB_BACKEND=intel", choose, configError, SUPPORTED, setup=env("intel")),
	Row("Config.backend='tpu'", choose, configError, "Config.backend='tpu': " + SUPPORTED, setup=configured("tpu")),
	Row("Config.backend=2", choose, configError, "Config.backend=2: " + SUPPORTED, setup=configured(2)),
	Row("Config.backend=Backend.intel", choose, configError, SUPPORTED, setup=lambda c: configured(c.Config.Backend.intel)(c)),
	Row("cuda where pycuda is missing", choose, configError, r"pycuda is not installed; on a machine with an NVIDIA GPU, pip install .\.\[cuda\]. adds it", setup=withoutPycuda),
	Row("cuda where pycuda does not import", choose, configError, "pycuda is installed but does not import", setup=withBrokenPycuda),
]


@pytest.fixture
def configCtx(monkeypatch):
	"""Config rows touch no arrays: only Config, the environment and sys.modules."""
	from PuzzleLib import Config
	from PuzzleLib.Backend import gpuarray
	return SimpleNamespace(monkeypatch=monkeypatch, Config=Config, gpuarray=gpuarray, modules=[], arrays=[], hosts=[])


@rowParams(CONFIG_ROWS)
def test_backend_choice_refuses(configCtx, row):
	runRow(row, configCtx, "cpu")
