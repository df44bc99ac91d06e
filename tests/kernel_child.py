"""Run by the kernel-cache and concurrency tests in a fresh interpreter (see harness.py):

    python kernel_child.py OUT_PREFIX THREADS

Runs every activation's forward and backward kernel over every dtype on fixed inputs, and writes
OUT_PREFIX.npz (the results) and OUT_PREFIX.json (the library's KernelWarnings and the kernel types).
THREADS = 0 runs in the main thread; THREADS = n > 0 starts n threads at once, each asking for every
kernel for the first time (so they race through the library's build and load) and running them all.
"""

import json, sys, threading, warnings

import numpy as np

import harness


def runAll(thread, order, results, kernelTypes):
	from PuzzleLib.Backend import gpuarray
	from PuzzleLib.Backend.Kernels import ElementWise

	cases = harness.childCases()
	cases = cases[order:] + cases[:order]           # each thread starts with a different kernel

	for name, args in cases:
		for dtype in harness.CHILD_DTYPES:
			x, dy = harness.childInputs(dtype)
			forward = getattr(ElementWise, name + "Ker")(np.dtype(dtype))
			backward = getattr(ElementWise, name + "DerKer")(np.dtype(dtype))
			kernelTypes.add(type(forward).__name__)
			kernelTypes.add(type(backward).__name__)

			y, dx = gpuarray.empty(x.shape, dtype), gpuarray.empty(x.shape, dtype)
			forward(y, gpuarray.to_gpu(x), *args)
			backward(dx, gpuarray.to_gpu(dy), y, *args)

			results[harness.resultKey(thread, name, args, dtype, "forward")] = y.get()
			results[harness.resultKey(thread, name, args, dtype, "backward")] = dx.get()


def main(outPrefix, threads):
	results, kernelTypes, failures = {}, set(), []

	with warnings.catch_warnings(record=True) as caught:
		warnings.simplefilter("always")

		if threads == 0:
			runAll(0, 0, results, kernelTypes)
		else:
			barrier = threading.Barrier(threads)

			def work(thread):
				try:
					barrier.wait()
					runAll(thread, thread, results, kernelTypes)
				except BaseException as e:          # reported by the parent
					failures.append("thread %d: %r" % (thread, e))

			workers = [threading.Thread(target=work, args=(k, )) for k in range(threads)]
			for worker in workers:
				worker.start()
			for worker in workers:
				worker.join()

	from PuzzleLib.CPU.ElementWise import KernelWarning

	if failures:
		raise SystemExit("\n".join(failures))

	np.savez(outPrefix + ".npz", **results)
	with open(outPrefix + ".json", "w") as f:
		json.dump({
			"warnings": [str(w.message) for w in caught if issubclass(w.category, KernelWarning)],
			"kernelTypes": sorted(kernelTypes)
		}, f)


if __name__ == "__main__":
	main(sys.argv[1], int(sys.argv[2]))
