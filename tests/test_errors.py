"""Every refusal is a ModuleError (or, at the kernel layer, a KernelError) that names the module and
the problem, and leaves everything as it was: the module's data/grad/inData, and every array."""

import math

import numpy as np
import pytest

from cases import ACTIVATIONS, Case, backendKernel, gpu, normal


MODULE_TEXT = "Module Activation"
SHAPE = (4, 6)


def host(seed=0, shape=SHAPE, dtype=np.float32):
	return normal(shape, dtype, seed)


class Snapshot:
	"""The module's references and the bytes of every array it or the test holds."""

	def __init__(self, act, *arrays):
		self.act = act
		self.refs = (act.data, act.grad, act.inData)
		self.arrays = [a for a in arrays + self.refs if a is not None]
		self.contents = [a.get().tobytes() for a in self.arrays]

	def assertUnchanged(self):
		now = (self.act.data, self.act.grad, self.act.inData)
		assert all(a is b for a, b in zip(now, self.refs)), "the module's data/grad/inData were replaced"
		assert [a.get().tobytes() for a in self.arrays] == self.contents, "an array was modified"


def primed(name="elu", **kwargs):
	"""A module after one forward and backward pass, and a snapshot of it."""
	from PuzzleLib.Modules import Activation

	act = Activation(name, name="victim", **kwargs)
	act(gpu(host(1)))
	act.backward(gpu(host(2)))
	return act


def assertSays(message, words):
	for word in words:
		assert str(word).lower() in message.lower(), "the message does not say %r: %r" % (word, message)


def assertRefused(call, *words):
	"""call() raises ModuleError naming the module and every one of words; returns the message."""
	from PuzzleLib.Modules import ModuleError

	with pytest.raises(ModuleError) as info:
		call()

	message = str(info.value)
	assertSays(message, (MODULE_TEXT, ) + words)
	return message


def assertRefusedUnchanged(act, call, arrays, *words):
	"""call() is refused (see assertRefused) and afterwards the module and arrays are as they were."""
	snap = Snapshot(act, *arrays)
	assertRefused(call, *words)
	snap.assertUnchanged()


# --- construction --------------------------------------------------------------------------------

def make(*args, **kwargs):
	from PuzzleLib.Modules import Activation
	return lambda: Activation(*args, **kwargs)


@pytest.mark.parametrize("activation", ("swish", "Sigmoid", "", 5, None), ids=repr)
def test_unknown_activation(backend, activation):
	message = assertRefused(make(activation), "unknown")
	for name in ACTIVATIONS:
		assert name in message, "the message should list the valid activations: %r" % message


BAD_ARGS = (
	# (activation, args, words the message must contain)
	("elu", 0.5, ("args", )),
	("elu", "a", ("args", )),
	("elu", ("a", ), ("alpha", )),
	("leakyRelu", (None, ), ("alpha", )),
	("clip", (0, True), ("max", )),
	("elu", {"alpha": 1}, ("args", )),
)

WRONG_COUNTS = (
	("relu", (1.0, )),
	("sigmoid", (0.1, 0.2)),
	("elu", (1.0, 2.0)),
	("leakyRelu", (0.1, 0.2, 0.3)),
	("clip", (1.0, )),
	("clip", (0.0, 1.0, 2.0)),
)

NON_FINITE = (
	("elu", (math.inf, )),
	("leakyRelu", (math.nan, )),
	("clip", (-math.inf, 1.0)),
	("clip", (0.0, math.nan)),
)


@pytest.mark.parametrize("activation, args, words", BAD_ARGS, ids=lambda v: repr(v))
def test_bad_args_type(backend, activation, args, words):
	assertRefused(make(activation, args=args), *words)


@pytest.mark.parametrize("activation, args", WRONG_COUNTS, ids=repr)
def test_wrong_arg_count(backend, activation, args):
	assertRefused(make(activation, args=args), activation, str(len(args)))


@pytest.mark.parametrize("activation, args", NON_FINITE, ids=repr)
def test_non_finite_args(backend, activation, args):
	assertRefused(make(activation, args=args), "finite")


@pytest.mark.parametrize("activation, alpha", (("leakyRelu", -0.01), ("elu", -1.0), ("elu", -1e-30)), ids=repr)
def test_negative_alpha(backend, activation, alpha):
	assertRefused(make(activation, args=(alpha, )), "alpha", ">= 0")


@pytest.mark.parametrize("bounds", ((1.0, 1.0), (2.0, 1.0), (0.0, -0.0), (6, -6)), ids=repr)
def test_clip_bounds_order(backend, bounds):
	assertRefused(make("clip", args=bounds), "min < max")


@pytest.mark.parametrize("slc", (slice(0, 10, 0), slice(None, None, 0)), ids=str)
def test_zero_step_slice(backend, slc):
	assertRefused(make("relu", slc=slc), "step")


@pytest.mark.parametrize("slc", (slice(0.5, 3), slice(None, 2.0), slice("a", None), slice(0, 5, 1.0), slice(True, 3)), ids=str)
def test_non_integer_slice(backend, slc):
	assertRefused(make("relu", slc=slc), "integer")


@pytest.mark.parametrize("slc", ((0, 3), 3, [1, 2], range(3)), ids=repr)
def test_slice_of_wrong_type(backend, slc):
	assertRefused(make("relu", slc=slc), "slice")


# --- forward and backward calls ------------------------------------------------------------------

@pytest.mark.parametrize("inplace", (False, True), ids=("copy", "inplace"))
@pytest.mark.parametrize("dtype", (np.float16, np.float64), ids=lambda d: np.dtype(d).name)
def test_wrong_dtype_data(backend, dtype, inplace):
	act, data = primed(inplace=inplace), gpu(host(3, dtype=dtype))
	assertRefusedUnchanged(act, lambda: act(data), [data], "dtype", np.dtype(dtype).name, "float32")


@pytest.mark.parametrize("inplace", (False, True), ids=("copy", "inplace"))
@pytest.mark.parametrize("shape", ((4, 5), (6, 4), (24, ), (4, 6, 1)), ids=str)
def test_wrong_grad_shape(backend, shape, inplace):
	act, grad = primed(inplace=inplace), gpu(host(4, shape=shape))
	assertRefusedUnchanged(act, lambda: act.backward(grad), [grad], "shape", str(shape))


@pytest.mark.parametrize("inplace", (False, True), ids=("copy", "inplace"))
def test_wrong_grad_dtype(backend, inplace):
	act, grad = primed(inplace=inplace), gpu(host(5, dtype=np.float64))
	assertRefusedUnchanged(act, lambda: act.backward(grad), [grad], "dtype", "float64")


@pytest.mark.parametrize("afterReset", (False, True), ids=("fresh", "reset"))
def test_backward_before_forward(backend, afterReset):
	from PuzzleLib.Modules import Activation

	act = primed() if afterReset else Activation("elu", name="victim")
	if afterReset:
		act.reset()

	grad = gpu(host(6))
	assertRefusedUnchanged(act, lambda: act.backward(grad), [grad], "backward", "forward")


def test_numpy_array_instead_of_gpuarray(backend):
	act = primed()
	snap = Snapshot(act)
	ndarray = host(7)
	before = ndarray.tobytes()

	assertRefused(lambda: act(ndarray), "GPUArray")
	assertRefused(lambda: act.backward(ndarray), "GPUArray")
	snap.assertUnchanged()
	assert ndarray.tobytes() == before


@pytest.mark.parametrize("inplace", (False, True), ids=("copy", "inplace"))
def test_non_contiguous_view(backend, inplace):
	act = primed(inplace=inplace)
	whole = gpu(host(8, shape=(4, 12)))
	view = whole[:, ::2]
	assert view.shape == SHAPE
	assertRefusedUnchanged(act, lambda: act(view), [whole], "contiguous")
	assertRefusedUnchanged(act, lambda: act.backward(view), [whole], "contiguous")


def test_calc_mode_refuses_unsupported(backend):
	act = primed()
	snap = Snapshot(act)
	for dtype in (np.int32, np.complex64, None, "nonsense"):
		assertRefused(lambda: act.calcMode(dtype))
	assert act.calctype == np.float32
	snap.assertUnchanged()


# --- the kernel layer ----------------------------------------------------------------------------

ELU = Case("elu", (1.0, ), ())


def kernelCall(direction="forward", dtype=np.float32):
	return backendKernel(ELU, direction, dtype)


def assertKernelRefused(call, arrays, *words):
	from PuzzleLib.Kernels.Launch import KernelError

	before = [a.get().tobytes() for a in arrays]
	with pytest.raises(KernelError) as info:
		call()

	assertSays(str(info.value), words)
	assert [a.get().tobytes() for a in arrays] == before, "a refused kernel modified an array"


@pytest.mark.parametrize("operand", (0, 1, 2))
def test_kernel_wrong_dtype(backend, operand):
	arrays = [gpu(host(k)) for k in range(3)]
	arrays[operand] = gpu(host(9, dtype=np.float64))
	ker = kernelCall(direction="backward")
	assertKernelRefused(lambda: ker(*arrays, 1.0), arrays, "dtype", "float64")


@pytest.mark.parametrize("operand", (0, 1))
def test_kernel_size_mismatch(backend, operand):
	arrays = [gpu(host(k)) for k in range(2)]
	arrays[operand] = gpu(host(10, shape=(25, )))
	ker = kernelCall()
	assertKernelRefused(lambda: ker(*arrays, 1.0), arrays, "25")


@pytest.mark.parametrize("slc", (slice(0, 5, 0), slice(0.5, 3), (0, 3), "all"), ids=repr)
def test_kernel_bad_slice(backend, slc):
	arrays = [gpu(host(k)) for k in range(2)]
	ker = kernelCall()
	assertKernelRefused(lambda: ker(*arrays, 1.0, slice=slc), arrays, "slice")


def test_kernel_non_contiguous(backend):
	whole = gpu(host(11, shape=(4, 12)))
	out = gpu(host(12))
	ker = kernelCall()
	assertKernelRefused(lambda: ker(out, whole[:, ::2], 1.0), [whole, out], "contiguous")


def test_kernel_host_array(backend):
	out = gpu(host(13))
	ker = kernelCall()
	assertKernelRefused(lambda: ker(out, host(14), 1.0), [out], "GPUArray")


@pytest.mark.parametrize("args", ((), (1.0, 2.0), (math.nan, ), (-1.0, )), ids=repr)
def test_kernel_bad_args(backend, args):
	arrays = [gpu(host(k)) for k in range(2)]
	ker = kernelCall()
	assertKernelRefused(lambda: ker(*arrays, *args), arrays, "elu")


@pytest.mark.parametrize("dtype", (np.int32, np.complex64, None, "nonsense"), ids=repr)
def test_kernel_unsupported_dtype(backend, dtype):
	from PuzzleLib.Kernels.Launch import KernelError
	with pytest.raises(KernelError):
		kernelCall(dtype=dtype)


# --- args: out of range, and the sign of zero --------------------------------------------------

@pytest.mark.parametrize("activation, args", (
	("elu", (10**400, )), ("leakyRelu", (-10**400, )), ("clip", (0, 10**400)), ("clip", (-10**5000, 1))
), ids=("elu", "leakyRelu", "clip max", "clip min"))
def test_huge_integer_args(backend, activation, args):
	"""Python ints beyond any float are refused like other bad args, not with a raw OverflowError."""
	from PuzzleLib.Kernels.Launch import KernelError

	message = assertRefused(make(activation, args=args), "range")
	assert len(message) < 400, "the message prints the whole integer"

	ker = backendKernel(Case(activation, args, args), "forward", np.float32)
	arrays = [gpu(host(k)) for k in range(2)]
	assertKernelRefused(lambda: ker(*arrays, *args), arrays, "range")
	with pytest.raises(KernelError):
		backendKernel(Case(activation, args, args), "backward", np.float64)(*arrays, arrays[0], *args)


@pytest.mark.parametrize("dtype", (np.float32, np.float16), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("activation, args", (
	("leakyRelu", (1e39, )), ("elu", (3.5e38, )), ("clip", (-1e39, 1.0)), ("clip", (0.0, 2.0**128))
), ids=("leakyRelu", "elu", "clip min", "clip max"))
def test_args_beyond_the_compute_type(backend, dtype, activation, args):
	"""Finite in Python, infinite in float32 (float16 data computes in float32): refused, naming
	the limit, at the kernel and by the module when it runs; float64 data computes with them."""
	from PuzzleLib.Modules import Activation

	x = host(3, dtype=dtype)
	arrays = [gpu(x), gpu(x)]
	ker = backendKernel(Case(activation, args, args), "forward", dtype)
	assertKernelRefused(lambda: ker(*arrays, *args), arrays, "float32", "3.4028234")

	act = Activation(activation, args=args, name="victim")
	act.calcMode(dtype)
	data = gpu(x)
	assertRefusedUnchanged(act, lambda: act(data), [data], "float32", "3.4028234")

	wide = Activation(activation, args=args)
	wide.calcMode(np.float64)
	y = wide(gpu(x.astype(np.float64)))
	wide.backward(gpu(np.ones(SHAPE)))
	assert not np.isnan(y.get()).any() and not np.isnan(wide.grad.get()).any()


def test_the_largest_float32_arg_is_accepted(backend):
	largest = float(np.finfo(np.float32).max)
	ker = backendKernel(Case("leakyRelu", (largest, ), ()), "forward", np.float32)
	out = gpu(np.zeros(3, np.float32))
	ker(out, gpu(np.array([-1.0, 0.0, 1.0], np.float32)), largest)
	assert out.get().tolist() == [-largest, 0.0, 1.0]


def test_clip_bounds_equal_in_the_compute_type_are_refused(backend):
	"""1 and 1 + 2^-30 differ in Python but are one float32: min < max must hold where it is used."""
	ker = backendKernel(Case("clip", (1.0, 1.0 + 2.0**-30), ()), "forward", np.float32)
	arrays = [gpu(host(k)) for k in range(2)]
	assertKernelRefused(lambda: ker(*arrays, 1.0, 1.0 + 2.0**-30), arrays, "min < max")
	backendKernel(Case("clip", (1.0, 1.0 + 2.0**-30), ()), "forward", np.float64)(
		gpu(host(0, dtype=np.float64)), gpu(host(1, dtype=np.float64)), 1.0, 1.0 + 2.0**-30
	)


def signs(values):
	return np.signbit(values).tolist()


def test_the_sign_of_a_zero_arg_does_not_depend_on_call_order(backend):
	"""-0.0 == 0.0 in Python, but clip(x, -0.0, ...) of a negative x is -0.0, and a validated-args
	cache must not hand one zero's result to the other."""
	from PuzzleLib.Modules import Activation

	x = np.array([-2.0, -0.0, 0.0, 3.0], dtype=np.float32)
	for first, second in ((0.0, -0.0), (-0.0, 0.0)):
		for low in (first, second):
			y = Activation("clip", args=(low, 6.0))(gpu(x)).get()
			assert signs(y[:1]) == [math.copysign(1.0, low) < 0], "clip min=%r after min=%r" % (low, first)

	dy = gpu(np.ones(4, np.float32))
	y = gpu(np.array([-1.0, -1.0, 2.0, -3.0], np.float32))
	ker = backendKernel(Case("leakyRelu", (0.0, ), ()), "backward", np.float32)
	for first, second in ((0.0, -0.0), (-0.0, 0.0)):
		for alpha in (first, second):
			grad = gpu(np.zeros(4, np.float32))
			ker(grad, dy, y, alpha)
			assert signs(grad.get()) == [math.copysign(1.0, alpha) < 0] * 2 + [False, math.copysign(1.0, alpha) < 0]
