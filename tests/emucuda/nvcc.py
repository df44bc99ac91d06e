#!/usr/bin/env python3
"""An nvcc for the host-emulated CUDA driver: what pycuda runs as `nvcc` inside tests/emucuda/run.

For `--cubin`, `--fatbin` or `--ptx` it does two things with the source, side by side:

- compiles it with the real nvcc for the requested arch and target, so that what a GPU's
  toolchain refuses fails here too (its output is discarded);
- compiles it as host C++ with include/emucuda_shim.h into a shared object with one launcher
  per __global__ kernel (emucuda.h's emucuda_kernel), and writes the image the emulated driver
  loads: emucuda.h's header, then the object.

Images are cached by the source, the options and this toolchain's own files. `--version` is the
real nvcc's with a line naming the emulation; `--preprocess` is the real nvcc's. Anything else
is refused.

Environment: PUZZLELIB_EMUCUDA_REAL_NVCC (the real nvcc), PUZZLELIB_EMUCUDA_IMAGES (the image
cache; none without it), CXX (the host compiler, default g++).
"""

import hashlib, os, re, shutil, struct, subprocess, sys, tempfile


HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.join(HERE, "include")
MAGIC = b"EMUCUDA-IMAGE-1\0"
TARGETS = ("cubin", "fatbin", "ptx")

KERNEL = re.compile(r"__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?void\s+(\w+)\s*\(")
HOST_FLAGS = ["-x", "c++", "-std=c++17", "-O2", "-fPIC", "-shared", "-fno-strict-aliasing", "-w"]


def realNvcc():
	return os.environ.get("PUZZLELIB_EMUCUDA_REAL_NVCC") or "/usr/local/cuda/bin/nvcc"


def toolchainDigest():
	digest = hashlib.sha256()
	for name in ("nvcc.py", "emucuda.h", os.path.join("include", "emucuda_shim.h"), os.path.join("include", "cuda_fp16.h")):
		with open(os.path.join(HERE, name), "rb") as f:
			digest.update(f.read())
	return digest.hexdigest()[:16]


def parse(argv):
	"""(target, source path, output path, host options (-I, -D, -U), every option) of a compile."""
	target, source, output, host = None, None, None, []
	args = list(argv)
	k = 0
	while k < len(args):
		arg = args[k]
		bare = arg.lstrip("-")
		if bare in TARGETS and arg.startswith("-"):
			target = bare
		elif arg in ("-o", "--output-file"):
			output = args[k + 1]
			k += 1
		elif arg.startswith(("-I", "-D", "-U")) and len(arg) > 2:
			host.append(arg)
		elif arg in ("-I", "-D", "-U", "--include-path", "--define-macro"):
			flag = {"--include-path": "-I", "--define-macro": "-D"}.get(arg, arg)
			host.append(flag + args[k + 1])
			k += 1
		elif arg.endswith(".cu"):
			source = arg
		k += 1
	return target, source, output, host


def kernelLaunchers(source, barriers):
	"""C++ that exports each kernel's descriptor, the symbol the driver looks up by name."""
	lines = ["", "/* emucuda: one launcher per kernel */"]
	for name in dict.fromkeys(KERNEL.findall(source)):
		lines += [
			"static void emucuda_launch_%s(const emucuda_launch *launch)" % name,
			"{ emucuda::launchKernel(%s, launch, %s); }" % (name, "true" if barriers else "false"),
			'extern "C" __attribute__((visibility("default"))) const emucuda_kernel %s%s = {' % ("emucuda_kernel_", name),
			'\t"%s", emucuda::paramsSize(%s), emucuda_launch_%s' % (name, name, name),
			"};"
		]
	return "\n".join(lines) + "\n"


def hostImage(sourcePath, host, workdir):
	"""The image bytes, or raises CalledProcessError with the host compiler's messages."""
	with open(sourcePath) as f:
		source = f.read()

	unit = os.path.join(workdir, "emucuda_unit.cpp")
	with open(unit, "w") as f:
		f.write('#include "%s"\n' % os.path.abspath(sourcePath))
		f.write(kernelLaunchers(source, "__syncthreads" in source))

	library = os.path.join(workdir, "emucuda_kernels.so")
	command = [os.environ.get("CXX") or "g++"] + HOST_FLAGS + [
		"-include", os.path.join(INCLUDE, "emucuda_shim.h"), "-I", INCLUDE, "-I", HERE,
		"-I", os.path.dirname(os.path.abspath(sourcePath))
	] + host + ["-o", library, unit]
	return command, library


def compileImage(argv, target, sourcePath, output, host):
	work = tempfile.mkdtemp(prefix="emucuda-nvcc-")
	try:
		checkArgs = [realNvcc()] + [arg for arg in argv if arg not in ("-o", output)] + ["-o", os.path.join(work, "check." + target)]
		command, library = hostImage(sourcePath, host, work)

		# the real toolchain's verdict and the host build, side by side
		check = subprocess.Popen(checkArgs, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
		build = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
		checkOut, checkErr = check.communicate()
		buildOut, buildErr = build.communicate()

		if check.returncode != 0:
			sys.stdout.write(checkOut)
			sys.stderr.write(checkErr)
			return check.returncode
		if build.returncode != 0:
			sys.stderr.write("emucuda: the host compile of %s failed (the real nvcc accepted it):\n%s%s" % (
				sourcePath, buildOut, buildErr
			))
			return 2

		with open(library, "rb") as f:
			body = f.read()
		image = MAGIC + struct.pack("<Q", len(body)) + body
		with open(output, "wb") as f:
			f.write(image)
		return 0
	finally:
		shutil.rmtree(work, ignore_errors=True)


def cacheKey(argv, sourcePath, output):
	digest = hashlib.sha256(toolchainDigest().encode())
	with open(sourcePath, "rb") as f:
		digest.update(f.read())
	for arg in argv:
		if arg not in (sourcePath, output):
			digest.update(arg.encode() + b"\0")
	return digest.hexdigest()


def main(argv):
	if "--version" in argv or "-V" in argv:
		result = subprocess.run([realNvcc(), "--version"], capture_output=True, text=True)
		sys.stdout.write(result.stdout)
		sys.stdout.write("emucuda: kernels built for the host-emulated driver (toolchain %s)\n" % toolchainDigest())
		return result.returncode

	if "--preprocess" in argv or "-E" in argv:
		return subprocess.run([realNvcc()] + argv).returncode

	target, sourcePath, output, host = parse(argv)
	if target is None or sourcePath is None:
		sys.stderr.write("emucuda nvcc: only --cubin/--fatbin/--ptx compiles of one .cu file are emulated: %s\n" % " ".join(argv))
		return 2

	if output is None:
		output = os.path.splitext(os.path.basename(sourcePath))[0] + "." + target

	images = os.environ.get("PUZZLELIB_EMUCUDA_IMAGES")
	cached = os.path.join(images, cacheKey(argv, sourcePath, output)) if images else None
	if cached and os.path.exists(cached):
		shutil.copyfile(cached, output)
		return 0

	status = compileImage(argv, target, sourcePath, output, host)
	if status == 0 and cached:
		os.makedirs(images, exist_ok=True)
		partial = "%s.%d" % (cached, os.getpid())
		shutil.copyfile(output, partial)
		os.replace(partial, cached)       # whole or absent, whatever runs beside it
	return status


if __name__ == "__main__":
	sys.exit(main(sys.argv[1:]))
