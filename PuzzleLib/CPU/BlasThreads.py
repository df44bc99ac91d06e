"""How many threads numpy's BLAS may use for one product.

OpenBLAS wakes all its threads for any product; for a small one (a tiny MLP's batch) waking them
costs far more than the product, and on a busy machine 50x more. So small products run on one
thread and large ones on all. Threads are set through threadpoolctl, on the library NumpyBlas
found (the one its gemm calls); where threadpoolctl cannot read the BLAS, it keeps its own setting.
"""

import os

from PuzzleLib.CPU import NumpyBlas


# below this many multiply-adds a product runs on one thread
SMALL_PRODUCT = 1 << 21


_current = [None]
_allThreads = os.cpu_count() or 1


def forProduct(multiplyAdds):
	controller = NumpyBlas.controller()
	if controller is None:
		return

	threads = 1 if multiplyAdds < SMALL_PRODUCT else _allThreads
	if threads != _current[0]:
		controller.set_num_threads(threads)
		_current[0] = threads
