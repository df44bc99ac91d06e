"""Throughput of every activation through the public module API, next to copy bandwidth; SoftMax and
Dropout the same way; Linear's training step next to the bare matrix products
(PuzzleLib/BenchmarkLinear.py); an MLP's training epoch and the optimizers' update next to PyTorch
(PuzzleLib/BenchmarkTraining.py).

    python -m PuzzleLib.Benchmark [--size N] [--dtype float32 [float16 ...]] [--repeat R]
	        [--only bandwidth mvec percall crossover modules linear training costs busy | activations]
	        [--busy] [--samples N]

bandwidth: for each activation, forward act(data) and backward act.backward(grad) as a user calls
them (output allocation from the pool included), in GB/s counting the bytes read and written
(forward 2N, backward 3N elements), as a ratio of the copy bandwidth measured in the same run, and
as a ratio of a plain reference implementation (naive numpy on the CPU backend, PyTorch's kernels
on CUDA when torch imports).
mvec (CPU): the compute-heavy kernels against plain C loops over glibc's libmvec.
percall: warm microseconds per call at N = 2^10, 2^15, 2^20, next to torch when it imports.
crossover (CPU): one thread against the team at sizes around the parallel threshold.
modules: SoftMax (rows of 1024 and of 10) and Dropout (p = 0.5) forward and backward as ratios of
copy, and the warm per-call time of Activation, SoftMax and Dropout at 32 x 32, forward and backward
(BenchmarkTraining; best of 50 runs of 200 calls).
linear: Linear's training step, a weight gradient accumulated into its grad (CPU), and per-call
time (BenchmarkLinear).
training: one epoch of an MLP through Trainer.train and one MomentumSGD / Adam update, next to
PyTorch (BenchmarkTraining.run; --samples sets the epoch's size).
costs: CrossEntropy's loss and gradient per call at 256 x 10 and 4096 x 1000, next to PyTorch's
cross_entropy forward and backward (BenchmarkTraining.costs).
busy (CPU, only when asked): relu with a spinning process on every core, the team against one thread.
activations: bandwidth, mvec, percall and crossover.
"""

import argparse, ctypes, os, statistics, subprocess, sys, time

import numpy as np

from PuzzleLib import Backend
from PuzzleLib.Backend import gpuarray
from PuzzleLib.Kernels.Activations import ACTIVATIONS as TABLE
from PuzzleLib.Kernels.Table import TABLE as ELEMENTWISE
from PuzzleLib.Modules.Activation import Activation


SECTIONS = ("bandwidth", "mvec", "percall", "crossover", "modules", "linear", "training", "costs", "busy")
GROUPS = {"activations": ("bandwidth", "mvec", "percall", "crossover")}
CPU_SECTIONS = ("mvec", "crossover", "busy")
PER_CALL_SIZES = (1 << 10, 1 << 15, 1 << 20)


def positiveInt(text):
	"""argparse type: an integer >= 1 (a size or a repeat count)."""
	try:
		value = int(text)
	except ValueError:
		raise argparse.ArgumentTypeError("expected an integer >= 1, got %r" % text) from None

	if value < 1:
		raise argparse.ArgumentTypeError("expected an integer >= 1, got %r" % text)
	return value


def dtypeNames():
	return [np.dtype(dtype).name for dtype, _ in gpuarray.dtypesSupported()]


def timeit(fn, repeat, synchronize=gpuarray.synchronize):
	"""Median seconds of fn() over repeat runs, after one warm-up run."""
	fn()
	synchronize()
	times = []

	for _ in range(repeat):
		start = time.perf_counter()
		fn()
		synchronize()
		times.append(time.perf_counter() - start)

	return statistics.median(times)


def moduleTimes(name, data, grad, repeat):
	"""(forward, backward) median seconds of one Activation on data, grad."""
	act = Activation(name)
	act.calcMode(data.dtype)

	forward = timeit(lambda: act(data), repeat)
	act(data)
	backward = timeit(lambda: act.backward(grad), repeat)
	return forward, backward


def testData(size, dtype):
	rng = np.random.default_rng(0)
	host = (rng.standard_normal(size, dtype=np.float32) * 4).astype(dtype)
	return gpuarray.to_gpu(host), gpuarray.to_gpu(rng.standard_normal(size, dtype=np.float32).astype(dtype))


def _numpyBaselines():
	def sigmoid(x): return 1 / (1 + np.exp(-x))
	return {
		"sigmoid": (sigmoid, lambda g, y: g * y * (1 - y)),
		"tanh": (np.tanh, lambda g, y: g * (1 - y * y)),
		"relu": (lambda x: np.maximum(x, 0), lambda g, y: g * (y > 0)),
		"leakyRelu": (lambda x: np.where(x > 0, x, 0.01 * x), lambda g, y: g * np.where(y > 0, 1, 0.01)),
		"elu": (lambda x: np.where(x > 0, x, np.expm1(x)), lambda g, y: g * np.where(y > 0, 1, y + 1)),
		"softPlus": (lambda x: np.log1p(np.exp(x)), lambda g, y: g * (1 - np.exp(-y))),
		"clip": (lambda x: np.clip(x, 0, 6), lambda g, y: g * ((y > 0) & (y < 6))),
	}


def _torchBaselines():
	import torch
	aten = torch.ops.aten
	return {
		"sigmoid": (torch.sigmoid, lambda g, y: aten.sigmoid_backward(g, y)),
		"tanh": (torch.tanh, lambda g, y: aten.tanh_backward(g, y)),
		"relu": (torch.relu, lambda g, y: aten.threshold_backward(g, y, 0)),
		"leakyRelu": (
			lambda x: torch.nn.functional.leaky_relu(x, 0.01), lambda g, y: aten.leaky_relu_backward(g, y, 0.01, True)
		),
		"elu": (torch.nn.functional.elu, lambda g, y: aten.elu_backward(g, 1.0, 1.0, 1.0, True, y)),
		"softPlus": (torch.nn.functional.softplus, lambda g, x: aten.softplus_backward(g, x, 1.0, 20.0)),
		"clip": (lambda x: torch.clamp(x, 0, 6), lambda g, y: aten.hardtanh_backward(g, y, 0.0, 6.0)),
	}


def baselines(data, grad):
	"""(label, {name: (forward(), backward())} thunks over this run's data) for the backend."""
	if not Backend.isCuda:
		x, g = data.get(), grad.get()

		def quiet(function):     # the naive formulas overflow on purpose; their warnings are noise
			def run(*args):
				with np.errstate(all="ignore"):
					return function(*args)
			return run

		return "numpy", {
			name: (lambda f=quiet(f): f(x), lambda b=quiet(b), y=quiet(f)(x): b(g, y))
			for name, (f, b) in _numpyBaselines().items()
		}

	try:
		import torch
	except ImportError:
		return None, {}

	x = torch.as_tensor(data.get(), device="cuda")
	g = torch.as_tensor(grad.get(), device="cuda")
	return "torch", {
		name: (lambda f=f: f(x), lambda b=b, y=f(x): b(g, y)) for name, (f, b) in _torchBaselines().items()
	}


def baselineSync():
	if Backend.isCuda:
		try:
			import torch
			return torch.cuda.synchronize
		except ImportError:
			pass
	return gpuarray.synchronize


def run(size, dtype, repeat, out=print):
	dtype = np.dtype(dtype)
	data, grad = testData(size, dtype)
	itemsize = dtype.itemsize

	dest = gpuarray.empty(data.shape, dtype=dtype)
	copySeconds = timeit(lambda: gpuarray.copy(dest, data), repeat)
	copyBandwidth = 2 * size * itemsize / copySeconds

	label, reference = baselines(data, grad)
	sync = baselineSync()

	out("%s, N = %d %s (%.1f MiB per array), median of %d" % (
		gpuarray.getDeviceName(), size, dtype, size * itemsize / 2**20, repeat
	))
	out("copy: %.1f GB/s" % (copyBandwidth / 1e9))

	header = "%-10s %9s %7s %9s %7s" % ("activation", "fwd GB/s", "/copy", "bwd GB/s", "/copy")
	if label is not None:
		header += "  %s fwd, bwd (times faster)" % label
	out(header)

	rows = []
	for name in TABLE:
		forward, backward = moduleTimes(name, data, grad, repeat)
		fwdBandwidth, bwdBandwidth = 2 * size * itemsize / forward, 3 * size * itemsize / backward

		line = "%-10s %9.1f %7.2f %9.1f %7.2f" % (
			name, fwdBandwidth / 1e9, fwdBandwidth / copyBandwidth, bwdBandwidth / 1e9, bwdBandwidth / copyBandwidth
		)

		if name in reference:
			refForward, refBackward = reference[name]
			line += "  %8.2fx %8.2fx" % (
				timeit(refForward, repeat, sync) / forward, timeit(refBackward, repeat, sync) / backward
			)

		out(line)
		rows.append((name, fwdBandwidth / copyBandwidth, bwdBandwidth / copyBandwidth))

	return rows


def bestPerCall(fn, calls, repeat, timer=time.perf_counter):
	"""Best microseconds per call of fn over repeat runs of `calls` calls (after a warm-up run), by
	timer (time.thread_time: the calling thread's CPU time, which other processes do not add to)."""
	fn()
	gpuarray.synchronize()
	best = float("inf")

	for _ in range(repeat):
		start = timer()
		for _ in range(calls):
			fn()
		gpuarray.synchronize()
		best = min(best, (timer() - start) / calls)

	return best * 1e6


def perCall(sizes=PER_CALL_SIZES, repeat=25, out=print):
	"""Warm microseconds per call of relu at small and medium N: module forward, module backward and
	a bare kernel call, next to torch's when torch imports (CPU backend) -- what a model of many small
	layers pays per layer. On CUDA, also the bare launches (each kernel's prepared_call alone, its
	arguments made beforehand) and the host side of each call: its time less its launch's, both in
	the calling thread's CPU time."""
	from PuzzleLib.Backend.Kernels import ElementWise

	torch = _torchOnCpu()
	out("per-call time of relu, float32, best of %d runs (us)" % repeat)
	header = "%-9s %9s %9s %9s" % ("N", "forward", "backward", "kernel")
	if Backend.isCuda:
		header += " %11s %11s %9s %9s %9s" % ("launch fwd", "launch bwd", "host fwd", "host bwd", "host ker")
	if torch is not None:
		header += " %11s %12s %6s" % ("torch fwd", "torch bwd", "fwd x")
	out(header)

	rows = []
	for size in sizes:
		calls = max(10, min(500, (1 << 22) // size))      # short runs: the best of many is one undisturbed
		data, grad = testData(size, np.float32)
		act = Activation("relu")
		act(data)
		dest = gpuarray.empty(data.shape, dtype=np.float32)

		forward = bestPerCall(lambda: act(data), calls, repeat)
		backward = bestPerCall(lambda: act.backward(grad), calls, repeat)
		kernel = bestPerCall(lambda: ElementWise.reluKer(np.float32)(dest, data), calls, repeat)
		line = "%-9s %9.2f %9.2f %9.2f" % ("2^%d" % (size.bit_length() - 1), forward, backward, kernel)

		if Backend.isCuda:
			# the host side in the calling thread's CPU time, which a loaded machine disturbs less
			launches = (
				bareLaunch(ElementWise.reluKer(np.float32), (dest, data)),
				bareLaunch(ElementWise.reluDerKer(np.float32), (dest, grad, act.data))
			)
			cpu = [bestPerCall(fn, calls, repeat, timer=time.thread_time) for fn in (
				lambda: act(data), lambda: act.backward(grad), lambda: ElementWise.reluKer(np.float32)(dest, data)
			) + launches]
			line += " %11.2f %11.2f %9.2f %9.2f %9.2f" % (
				cpu[3], cpu[4], cpu[0] - cpu[3], cpu[1] - cpu[4], cpu[2] - cpu[3]
			)

		if torch is not None:
			x, g = torch.from_numpy(data.get()), torch.from_numpy(grad.get())
			y = torch.relu(x)
			torchForward = bestPerCall(lambda: torch.relu(x), calls, repeat)
			torchBackward = bestPerCall(lambda: torch.ops.aten.threshold_backward(g, y, 0), calls, repeat)
			line += " %11.2f %12.2f %6.1f" % (torchForward, torchBackward, forward / torchForward)

		out(line)
		rows.append((size, forward, backward, kernel))

	return rows


def bareLaunch(kernel, arrays):
	"""A CUDA kernel's launch over whole arrays alone: its prepared_call with the variant, grid and
	arguments the kernel's own call would choose, all made beforehand."""
	from PuzzleLib.Cuda import LaunchPlan

	span = kernel.spans(None, arrays[0].size)
	variant, pointers, counts, grid = LaunchPlan.plan([ary.ptr for ary in arrays], kernel.itemsizes, span, kernel.blocksCap)
	function, arguments = kernel.functions[variant], (*pointers, *counts)
	return lambda: function.prepared_call(grid, LaunchPlan.BLOCK_SHAPE, *arguments)


def _torchOnCpu():
	if Backend.isCuda:
		return None
	try:
		import torch
	except ImportError:
		return None
	return torch


def alternating(first, second, repeat):
	"""Best seconds of each of two functions, run in turns so that both see the same machine (on a
	shared one, other work only ever adds time: the best run is the least disturbed)."""
	first(), second()
	best = [float("inf"), float("inf")]

	for _ in range(repeat):
		for index, fn in enumerate((first, second)):
			start = time.perf_counter()
			fn()
			best[index] = min(best[index], time.perf_counter() - start)

	return best


def mvecComparison(size=1 << 24, repeat=10, out=print):
	"""The compute-heavy kernels against plain C loops of the same functions over libmvec, compiled
	with the same flags and run on the same thread team in the same run (CPU backend)."""
	from PuzzleLib.CPU import MvecReference
	from PuzzleLib.CPU.ElementWise import kernel
	from PuzzleLib.Kernels.Activations import ACTIVATIONS as TABLE

	loops = MvecReference.loops()
	if loops is None:
		out("no host C compiler: no libmvec loops to compare with")
		return []

	x, dy = testData(size, np.float32)
	y = gpuarray.empty(x.shape, dtype=np.float32)
	kernel(ELEMENTWISE["softPlus"], np.dtype(np.float32))(y, x)
	dest = gpuarray.empty(x.shape, dtype=np.float32)

	out("kernels against plain libmvec loops, N = %d float32, best of %d, alternating" % (size, repeat))
	out("%-18s %9s %12s %7s" % ("kernel", "GB/s", "loop GB/s", "ratio"))

	rows = []
	for name in MvecReference.LOOPS:
		activation, direction = name.split("_")
		operands = (x, ) if direction == "forward" else (dy, y)
		ker = kernel(ELEMENTWISE[activation + ("Der" if direction == "backward" else "")], np.dtype(np.float32))
		loop, pointers = loops[name], [dest.ptr] + [operand.ptr for operand in operands]
		traffic = (1 + len(operands)) * size * 4

		ours, theirs = alternating(
			lambda: ker(dest, *operands, *TABLE[activation].defaults), lambda: loop(*pointers, size), repeat
		)
		out("%-18s %9.1f %12.1f %7.2f" % (name, traffic / ours / 1e9, traffic / theirs / 1e9, theirs / ours))
		rows.append((name, theirs / ours))

	return rows


def crossover(sizes=tuple(1 << k for k in range(11, 19)), repeat=7, out=print):
	"""Microseconds of a relu and a sigmoid kernel call on one thread and on the whole team at sizes
	around the threshold below which kernels stay on the calling thread (CPU backend)."""
	from PuzzleLib.CPU import ElementWise, Source
	from PuzzleLib.Kernels.Activations import ACTIVATIONS as TABLE

	lib = ElementWise.library(ElementWise.requestedPath())
	if lib is None:
		out("numpy kernels: no thread team")
		return []

	setMin = lib.pz_set_parallel_min
	setMin.argtypes, setMin.restype = [ctypes.c_int64], ctypes.c_int64
	team = ElementWise.threads()
	out("one thread against %d (us per call), the team forced on at every size; kernels use it from %d" % (
		team, Source.PARALLEL_MIN
	))
	out("%-7s %10s %10s %12s %12s" % ("N", "relu 1", "relu %d" % team, "sigmoid 1", "sigmoid %d" % team))

	rows, old = [], setMin(0)
	try:
		for size in sizes:
			data, _ = testData(size, np.float32)
			dest = gpuarray.empty(data.shape, dtype=np.float32)
			calls = max(50, (1 << 22) // size)
			line, row = "%-7s" % ("2^%d" % (size.bit_length() - 1)), [size]

			for name in ("relu", "sigmoid"):
				ker = ElementWise.kernel(ELEMENTWISE[name], np.dtype(np.float32))
				for threads in (1, team):
					ElementWise.threads(threads)
					row.append(bestPerCall(lambda: ker(dest, data), calls, repeat))
					line += " %10.2f" % row[-1] if name == "relu" else " %12.2f" % row[-1]

			out(line)
			rows.append(tuple(row))
	finally:
		setMin(old)
		ElementWise.threads(0)

	return rows


def busy(size=1 << 22, repeat=20, out=print):
	"""relu forward at N while one spinning process per core competes: the team's time against one
	thread's, each run alternating, median of repeat (CPU backend)."""
	from PuzzleLib.CPU import ElementWise

	team = ElementWise.threads()
	data, _ = testData(size, np.float32)
	act = Activation("relu")
	act(data)

	def measure():
		times = {1: [], team: []}
		for _ in range(repeat):
			for threads in times:
				ElementWise.threads(threads)
				act(data)
				start = time.perf_counter()
				act(data)
				times[threads].append(time.perf_counter() - start)
		ElementWise.threads(0)
		return {threads: statistics.median(values) for threads, values in times.items()}

	idle = measure()
	spinners = [
		subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)
	]
	try:
		time.sleep(0.5)
		loaded = measure()
	finally:
		for spinner in spinners:
			spinner.kill()
		for spinner in spinners:
			spinner.wait()

	out("relu forward, N = %d float32, median of %d (ms); %d spinning processes when busy" % (
		size, repeat, len(spinners)
	))
	out("%-6s %10s %12s %22s" % ("", "1 thread", "%d threads" % team, "%d threads / 1 thread" % team))
	for label, times in (("idle", idle), ("busy", loaded)):
		out("%-6s %10.2f %12.2f %22.2f" % (label, times[1] * 1e3, times[team] * 1e3, times[team] / times[1]))

	return idle, loaded


def main():
	parser = argparse.ArgumentParser(prog="python -m PuzzleLib.Benchmark", description=__doc__.split("\n\n")[0])
	parser.add_argument("--size", type=positiveInt, default=None, help="elements (default 2^24 on cpu, 2^26 on cuda)")
	parser.add_argument(
		"--dtype", nargs="+", choices=dtypeNames(), default=None, help="default float32 on cpu, float32 float16 on cuda"
	)
	parser.add_argument("--repeat", type=positiveInt, default=10)
	parser.add_argument(
		"--only", nargs="+", choices=SECTIONS + tuple(GROUPS), default=None,
		help="run just these tables (default: all but busy); activations is %s" % " ".join(GROUPS["activations"])
	)
	parser.add_argument("--busy", action="store_true", help="also time relu with a spinning process on every core")
	parser.add_argument("--samples", type=positiveInt, default=60000, help="samples of the training epoch (default 60000)")
	args = parser.parse_args()

	size = args.size or (1 << 26 if Backend.isCuda else 1 << 24)
	dtypes = args.dtype or (["float32", "float16"] if Backend.isCuda else ["float32"])
	chosen = args.only or [section for section in SECTIONS if section != "busy"]
	sections = [part for section in chosen for part in GROUPS.get(section, (section, ))]
	if args.busy and "busy" not in sections:
		sections.append("busy")
	if Backend.isCuda:
		sections = [section for section in sections if section not in CPU_SECTIONS]

	for section in sections:
		if section == "bandwidth":
			for dtype in dtypes:
				run(size, dtype, args.repeat)
				print()
		elif section == "mvec":
			mvecComparison(size, args.repeat)
		elif section == "percall":
			perCall()
		elif section == "crossover":
			crossover()
		elif section == "linear":
			from PuzzleLib import BenchmarkLinear
			for dtype in dtypes:
				BenchmarkLinear.run(timeit, dtype=np.dtype(dtype), repeat=args.repeat)
			BenchmarkLinear.accumulation(args.repeat)
			BenchmarkLinear.perCall()
		elif section == "modules":
			from PuzzleLib import BenchmarkTraining
			for dtype in dtypes:
				BenchmarkTraining.trainingModules(size, dtype, args.repeat)
				print()
			BenchmarkTraining.hostOverhead()
		elif section == "training":
			from PuzzleLib import BenchmarkTraining
			BenchmarkTraining.run(timeit, samples=args.samples, repeat=min(args.repeat, 3))
		elif section == "costs":
			from PuzzleLib import BenchmarkTraining
			BenchmarkTraining.costs(timeit, repeat=args.repeat)
		elif section == "busy":
			busy()
		print()


if __name__ == "__main__":
	main()
