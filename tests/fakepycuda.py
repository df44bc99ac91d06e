"""A stand-in for pycuda that runs the CUDA backend on the host, for tests without a GPU.

`install(monkeypatch)` puts fake `pycuda`, `pycuda.driver`, `pycuda.gpuarray`, `pycuda.tools` and
`pycuda.compiler` into sys.modules. "Device memory" is host memory, so pointers are real
addresses. SourceModule records what it is handed; with `emulate=True` it also compiles the CUDA
source as C++ with the host compiler (the emulated toolchain's shim, tests/emucuda/include, defines __global__, blockIdx, __half, barriers ...) and
prepared_call runs the kernel serially over every thread of its grid. So the generated text, the
prepared argument format, the pointers and counts handed over and the launch plan are all
exercised: everything but the GPU itself and nvcc's math library.

Only the parts of pycuda's API that PuzzleLib/Cuda uses are here, with pycuda's signatures.

The real pycuda runs the backend on the host-emulated driver (tests/emucuda/run, in CI). This
fake stays for what that cannot serve: the plain `python -m pytest` run, which has no pycuda and
builds none, checks here the text and options handed to SourceModule, the prepared formats
against the kernels' C signatures, the recorded launches, and the import failures (no pycuda, no
libcuda) that only a different installation would give the real one. It is not pycuda: real
pycuda sets the block shape with cuFuncSetBlockShape before each launch, deep-copies and pickles
GPUArrays, has no float16 fill/astype, copies non-contiguous host arrays in their own order, and
needs a current context when its pool starts holding a block; the emulated run shows those.
"""

import atexit, ctypes, hashlib, os, re, shutil, subprocess, sys, tempfile, threading, types

import numpy as np


class Error(Exception):
	"""pycuda.driver.Error: an Exception, not a RuntimeError."""


class CompileError(Error):
	pass


# {{{ driver

class HostAllocation:
	"""What mem_alloc returns: owns memory, converts to its address with int()."""

	ALIGNMENT = 256           # as cudaMalloc's

	def __init__(self, nbytes):
		self.raw = np.zeros(nbytes + self.ALIGNMENT, dtype=np.uint8)
		address = self.raw.ctypes.data
		self.address = address + (-address % self.ALIGNMENT)
		self.nbytes = nbytes

	def __int__(self):
		return self.address

	__index__ = __int__

	def __reduce_ex__(self, protocol):          # Boost.Python's refusal, which deepcopy meets too
		raise RuntimeError('Pickling of "pycuda._driver.DeviceAllocation" instances is not enabled '
			'(http://www.boost.org/libs/python/doc/v2/pickle.html)')


class device_attribute:              # noqa: N801 (pycuda's spelling)
	MULTIPROCESSOR_COUNT = "MULTIPROCESSOR_COUNT"
	MAX_THREADS_PER_MULTIPROCESSOR = "MAX_THREADS_PER_MULTIPROCESSOR"


class Device:
	attributes = {device_attribute.MULTIPROCESSOR_COUNT: 2, device_attribute.MAX_THREADS_PER_MULTIPROCESSOR: 1024}
	devices = 1

	def __init__(self, index):
		if not 0 <= index < Device.devices:
			raise Error("cuDeviceGet failed: invalid device ordinal")
		self.index = index

	@staticmethod
	def count():
		return Device.devices

	def name(self):
		return "Fake host GPU %d" % self.index

	def get_attribute(self, attribute):
		return self.attributes[attribute]

	def compute_capability(self):
		return (8, 0)

	def retain_primary_context(self):
		return Context(self)


class Context:
	current = None
	synchronized = 0

	def __init__(self, device):
		self.device = device

	def push(self):
		Context.current = self

	@staticmethod
	def pop():
		Context.current = None

	@staticmethod
	def get_device():
		return Context.current.device

	@staticmethod
	def synchronize():
		Context.synchronized += 1


def init(flags=0):
	pass


def get_version():
	"""The CUDA version pycuda was built with."""
	return (13, 0, 0)


def get_driver_version():
	return 13000


def mem_alloc(nbytes):
	return HostAllocation(nbytes)


def memset_d8(dest, value, count):
	ctypes.memset(int(dest), value, count)


def memcpy_dtod(dest, src, size):
	ctypes.memmove(int(dest), int(src), size)

# }}}


# {{{ gpuarray

class _Flags:
	def __init__(self, ary):
		expected, contiguous = ary.dtype.itemsize, True
		for dim, stride in reversed(list(zip(ary.shape, ary.strides))):
			if dim > 1 and stride != expected:
				contiguous = False
			expected *= dim
		self.c_contiguous = self.forc = contiguous


class GPUArray:
	def __init__(self, shape, dtype, allocator=mem_alloc, base=None, gpudata=None, strides=None, order="C"):
		shape = (shape, ) if isinstance(shape, (int, np.integer)) else tuple(int(dim) for dim in shape)
		self.shape, self.dtype = shape, np.dtype(dtype)
		self.size = int(np.prod(shape, dtype=np.int64))
		self.nbytes, self.itemsize = self.size * self.dtype.itemsize, self.dtype.itemsize
		self.strides = tuple(strides) if strides is not None else tuple(
			int(np.prod(shape[axis + 1:], dtype=np.int64)) * self.dtype.itemsize for axis in range(len(shape))
		)
		self.allocator, self.base = allocator, base

		if gpudata is None:
			gpudata = allocator(self.nbytes) if self.size else None
		self.gpudata = gpudata

	@property
	def flags(self):
		return _Flags(self)

	@property
	def ptr(self):
		return self.gpudata.__int__()

	def _host(self):
		buffer = (ctypes.c_char * self.nbytes).from_address(self.ptr)
		return np.lib.stride_tricks.as_strided(
			np.frombuffer(buffer, dtype=self.dtype), shape=self.shape, strides=self.strides
		)

	def get(self):
		return self._host().copy() if self.size else np.empty(self.shape, self.dtype)

	def set(self, ary):
		if ary.size != self.size or ary.dtype != self.dtype:
			raise ValueError("ary and self must be the same size and dtype")
		if self.size:
			self._host()[...] = ary.get() if isinstance(ary, GPUArray) else np.asarray(ary).reshape(self.shape)

	def __str__(self):
		return str(self.get())

	def __repr__(self):
		return repr(self.get())

	def fill(self, value):
		if self.size:
			self._host()[...] = value
		return self

	def reshape(self, *shape, order="C"):
		shape = shape[0] if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)) else shape
		shape = np.empty(self.shape, dtype=[]).reshape(shape).shape       # resolves a -1
		return GPUArray(shape, self.dtype, gpudata=self.gpudata, base=self)

	def ravel(self):
		return self.reshape(self.size)

	def copy(self):
		return to_gpu(self.get(), self.allocator)

	def __getitem__(self, index):
		view = self._host()[index]
		if not isinstance(view, np.ndarray):       # pycuda's x[i] is a 0-d view, not a scalar's copy
			view = self._host()[(index if isinstance(index, tuple) else (index, )) + (Ellipsis, )]
		return GPUArray(view.shape, self.dtype, gpudata=view.__array_interface__["data"][0], strides=view.strides, base=self)

	def __len__(self):
		return self.shape[0]

	def at(self, byteOffset, shape, dtype=None):
		"""A view starting byteOffset bytes in (tests use it for misaligned operands)."""
		return GPUArray(shape, dtype or self.dtype, gpudata=self.ptr + byteOffset, base=self)


def to_gpu(ary, allocator=mem_alloc):
	result = GPUArray(ary.shape, ary.dtype, allocator)
	result.set(ary)
	return result

# }}}


# {{{ tools

class DeviceMemoryPool:
	"""Keeps freed blocks by size; blocks return when their PooledAllocation is freed."""

	def __init__(self):
		self.held, self.held_blocks, self.active_blocks = {}, 0, 0
		self.managed_bytes = self.active_bytes = 0
		self.stopped = False

	def allocate(self, size):
		binSize = max(256, 1 << max(size - 1, 0).bit_length())
		blocks = self.held.get(binSize)
		if blocks:
			block = blocks.pop()
			self.held_blocks -= 1
		else:
			block = HostAllocation(binSize)
			self.managed_bytes += binSize

		self.active_blocks += 1
		self.active_bytes += size
		return PooledAllocation(self, block, size)

	def release(self, block, size):
		self.active_blocks -= 1
		self.active_bytes -= size
		if self.stopped:
			self.managed_bytes -= block.nbytes
			return
		self.held.setdefault(block.nbytes, []).append(block)
		self.held_blocks += 1

	def stop_holding(self):
		self.stopped = True
		self.free_held()

	def free_held(self):
		for blocks in self.held.values():
			for block in blocks:
				self.managed_bytes -= block.nbytes
		self.held.clear()
		self.held_blocks = 0


class PooledAllocation:
	def __init__(self, pool, block, size):
		self.pool, self.block, self.size = pool, block, size

	def __int__(self):
		return int(self.block)

	__index__ = __int__
	__reduce_ex__ = HostAllocation.__reduce_ex__

	def free(self):
		if self.pool is not None:
			self.pool.release(self.block, self.size)
			self.pool = None

	def __del__(self):
		self.free()

# }}}


# {{{ compiler: host emulation of the kernels

# the host-emulated toolchain's CUDA-as-C++ shim (tests/emucuda/include/emucuda_shim.h): indices,
# qualifiers, and fibers for kernels that spell __syncthreads, so shared memory and barriers work
EMUCUDA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "emucuda")

# cuda_fp16.h: the emulated toolchain's, shared (tests/emucuda/include)
FP16_INCLUDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "emucuda", "include")

with open(os.path.join(FP16_INCLUDE, "cuda_fp16.h")) as _header:
	FAKE_FP16 = _header.read()        # its text, for host builds that inline it (fakecublas)

KERNEL = re.compile(r"__global__ void (\w+)\(([^)]*)\)")

# pycuda's prepare() characters and the C parameter types they must match
FORMAT_CTYPES = {"P": ("*", ctypes.c_void_p), "q": ("long long", ctypes.c_int64), "f": ("float", ctypes.c_float), "d": ("double", ctypes.c_double)}


def hostCompiler():
	return shutil.which("g++") or shutil.which("c++")


def kernelSignatures(source):
	"""{name: [(C type, parameter name)]} of every __global__ kernel in a CUDA source."""
	signatures = {}
	for name, params in KERNEL.findall(source):
		parsed = []
		for param in params.split(","):
			ctype, pname = param.strip().rsplit(" ", 1)
			if pname.startswith("*"):
				ctype, pname = ctype + " *", pname[1:]
			parsed.append((ctype.replace("const ", ""), pname))
		signatures[name] = parsed
	return signatures


def launcherSource(signatures, barriers):
	"""launch_<kernel>(grid, block, args...): the launch through the shim, as the emulated driver's."""
	lines = []
	for name, params in signatures.items():
		declared = ", ".join("%s %s" % param for param in params)
		pointers = ", ".join("(void *)&%s" % pname for _, pname in params)
		lines += [
			'extern "C" void launch_%s(unsigned grid, unsigned block, %s) {' % (name, declared),
			"\tvoid *params[] = { %s };" % pointers,
			"\tconst emucuda_launch launch = { {grid, 1, 1}, {block, 1, 1}, 0, params, nullptr, 0 };",
			"\temucuda::launchKernel(%s, &launch, %s);" % (name, "true" if barriers else "false"),
			"}"
		]
	return "\n".join(lines) + "\n"


_atexitRegister = atexit.register       # loadBackend silences atexit.register during a test


class HostBuilder:
	"""Compiles CUDA sources as C++ into shared libraries, once per text per process."""

	def __init__(self):
		self.dir = tempfile.mkdtemp(prefix="fakepycuda-")
		self.libraries, self.lock = {}, threading.Lock()

		_atexitRegister(shutil.rmtree, self.dir, True)

	def _write(self, name, text):
		path = os.path.join(self.dir, name)
		with open(path, "w") as f:
			f.write(text)
		return path

	def _run(self, args):
		result = subprocess.run([hostCompiler()] + args, capture_output=True, text=True)
		if result.returncode != 0:
			raise CompileError("host compile failed:\n%s" % result.stderr)

	def build(self, source):
		key = self._key(source)
		with self.lock:
			if key not in self.libraries:
				cu = self._write("%s.cpp" % key, source + "\n" + launcherSource(kernelSignatures(source), "__syncthreads" in source))
				lib = os.path.join(self.dir, "%s.so" % key)
				self._run([
					"-O1", "-fPIC", "-shared", "-std=c++17", "-Wno-unknown-pragmas",
					"-include", os.path.join(FP16_INCLUDE, "emucuda_shim.h"), "-I", FP16_INCLUDE, "-I", EMUCUDA,
					"-o", lib, cu
				])
				self.libraries[key] = ctypes.CDLL(lib)
			return self.libraries[key]

	def prebuild(self, combined, sources):
		"""Builds `combined` once and serves it for each of `sources`, whose kernels it holds.

		A speed-up for tests: one host compile per dtype instead of one per module.
		"""
		library = self.build(combined)
		with self.lock:
			for source in sources:
				self.libraries[self._key(source)] = library

	@staticmethod
	def _key(source):
		return hashlib.sha256(source.encode()).hexdigest()[:20]


_builder = None


def builder():
	global _builder
	if _builder is None:
		_builder = HostBuilder()
	return _builder


class Function:
	def __init__(self, module, name):
		self.module, self.name = module, name
		self.signature = module.signatures[name]
		self.arg_format, self.calls = None, []
		self.launcher = getattr(module.library, "launch_" + name) if module.library is not None else None

	def prepare(self, arg_types):
		"""pycuda's Function.prepare with a format string; checked against the C signature."""
		arg_types = "".join(arg_types)
		if len(arg_types) != len(self.signature):
			raise Error("%s: prepare(%r) for %d parameters" % (self.name, arg_types, len(self.signature)))

		for char, (ctype, pname) in zip(arg_types, self.signature):
			expected = FORMAT_CTYPES[char][0]
			if not (ctype.endswith("*") if expected == "*" else ctype == expected):
				raise Error("%s: format %r does not match parameter %s %s" % (self.name, char, ctype, pname))

		self.arg_format = arg_types
		if self.launcher is not None:
			self.launcher.argtypes = [ctypes.c_uint, ctypes.c_uint] + [FORMAT_CTYPES[char][1] for char in arg_types]
			self.launcher.restype = None
		return self

	def prepared_call(self, grid, block, *args, shared_size=0):
		if self.arg_format is None:
			raise Error("prepared_call before prepare")
		if len(args) != len(self.arg_format):
			raise Error("%s: %d arguments for format %r" % (self.name, len(args), self.arg_format))
		if not (isinstance(grid, tuple) and isinstance(block, tuple) and 1 <= len(grid) <= 3 and 1 <= len(block) <= 3):
			raise Error("grid and block must be tuples of 1 to 3 ints")
		if any(dim != 1 for dim in grid[1:] + block[1:]):
			raise Error("the emulator runs one-dimensional launches only")
		if not 1 <= block[0] <= 1024 or not 1 <= grid[0] < 2 ** 31:
			raise Error("invalid launch configuration %s x %s" % (grid, block))

		self.calls.append((grid, block, args))
		if self.launcher is not None:
			self.launcher(grid[0], block[0], *args)


class SourceModule:
	"""pycuda.compiler.SourceModule's signature; records every construction in `created`."""

	created = []
	emulate = False

	def __init__(self, source, nvcc="nvcc", options=None, keep=False, no_extern_c=False, arch=None, code=None,
				 cache_dir=None, include_dirs=None):
		if not no_extern_c:
			source = 'extern "C" {\n%s\n}\n' % source       # what pycuda does, so the shim sees it too

		self.source, self.options, self.no_extern_c = source, options, no_extern_c
		self.signatures = kernelSignatures(source)
		self.library = builder().build(source) if SourceModule.emulate else None
		self.functions = {}
		SourceModule.created.append(self)

	def get_function(self, name):
		if name not in self.signatures:
			raise Error("cuModuleGetFunction failed: named symbol not found (%s)" % name)
		return self.functions.setdefault(name, Function(self, name))

# }}}


def install(monkeypatch, emulate=False):
	"""Makes `import pycuda...` give this fake for the rest of the test; returns its modules."""
	SourceModule.created, SourceModule.emulate = [], emulate
	Context.current, Context.synchronized = None, 0

	this = sys.modules[__name__]
	package = types.ModuleType("pycuda")
	package.__path__ = []

	modules = {"pycuda": package}
	for name, members in {
		"driver": ("Error", "CompileError", "Device", "Context", "device_attribute", "init", "get_version",
			"get_driver_version", "mem_alloc",
			"memset_d8", "memcpy_dtod"),
		"gpuarray": ("GPUArray", "to_gpu"),
		"tools": ("DeviceMemoryPool", ),
		"compiler": ("SourceModule", )
	}.items():
		module = types.ModuleType("pycuda." + name)
		for member in members:
			setattr(module, member, getattr(this, member))
		setattr(package, name, module)
		modules["pycuda." + name] = module

	for name, module in modules.items():
		monkeypatch.setitem(sys.modules, name, module)

	return types.SimpleNamespace(**{name.split(".")[-1]: module for name, module in modules.items()})


BACKEND_MODULES = ("PuzzleLib.Cuda.GPUArray", "PuzzleLib.Cuda.ElementWise")


def loadBackend(monkeypatch, emulate=False):
	"""Fresh imports of the CUDA backend bound to the fake, undone with the test's monkeypatch.

	Returns (fake pycuda modules, the backend's GPUArray module, its ElementWise module).
	"""
	import importlib
	import PuzzleLib.Cuda as package
	from PuzzleLib.Cuda import Driver

	fake = install(monkeypatch, emulate)
	monkeypatch.setattr(Driver, "context", None)
	monkeypatch.setattr(Driver, "device", None)
	monkeypatch.setattr(Driver.atexit, "register", lambda function: function)   # nothing outlives the test

	for name in BACKEND_MODULES:
		# recorded first, so that undoing the test drops these fake-bound imports again
		monkeypatch.setitem(sys.modules, name, None)
		del sys.modules[name]
		monkeypatch.setattr(package, name.rsplit(".", 1)[1], None, raising=False)

	modules = [importlib.import_module(name) for name in BACKEND_MODULES]
	return (fake, *modules)
