"""The suite's cuda cases, run on the host-emulated fake pycuda (slow: pytest -m slow).

A child pytest selects the cuda backend (PUZZLELIB_BACKEND=cuda) with tests/fakepycuda installed
in emulation mode, so Selection, Driver, Cuda/GPUArray, the facade, the Activation module and
the generated kernels run together without a GPU. The fake implements only the pycuda API that
the backend and these test modules use; a failure may be the fake's, so read it before the code.
GEMMs run on the host cuBLAS stand-in (tests/fakecublas.py), loaded through PUZZLELIB_CUBLAS.
"""

import os, subprocess, sys

import pytest

import fakecublas
import fakepycuda


HERE = os.path.dirname(os.path.abspath(__file__))
MODULES = (
	"test_accuracy.py", "test_module.py", "test_errors.py",
	"test_blas.py", "test_variable.py", "test_linear.py", "test_save_load.py", "test_shared_array.py",
	"test_philox.py", "test_dropout.py", "test_softmax.py", "test_matvec.py",
	"test_costs.py", "test_containers.py", "test_optimizers.py", "test_handlers.py"
)

CHILD = """
import os, sys
sys.path.insert(0, %(here)r)
import fakepycuda, pytest
from _pytest.monkeypatch import MonkeyPatch
from PuzzleLib.Cuda import Source
from PuzzleLib.Kernels.Table import TABLE

fakepycuda.install(MonkeyPatch(), emulate=True)
for dtype in Source.DTYPES:
	fakepycuda.builder().prebuild(Source.checkSource(dtype), [
		Source.moduleSource(op, dtype, variant) for op in TABLE.values() for variant in Source.VARIANTS
	])
sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", "-m", "not slow"] + sys.argv[1:]))
"""


@pytest.mark.slow
def test_cuda_cases_pass_on_the_emulator():
	if fakepycuda.hostCompiler() is None:
		pytest.skip("no host C++ compiler (g++) to emulate the kernels with")

	paths = [os.path.join(HERE, name) for name in MODULES if os.path.exists(os.path.join(HERE, name))]
	env = dict(os.environ, PUZZLELIB_BACKEND="cuda", PUZZLELIB_CUBLAS=fakecublas.build())
	result = subprocess.run(
		[sys.executable, "-c", CHILD % {"here": HERE}] + paths, env=env, capture_output=True, text=True, timeout=900
	)
	assert result.returncode == 0, result.stdout[-8000:] + result.stderr[-4000:]
	# the child's backend is cuda, so what passed there are the cuda cases
	assert " passed" in result.stdout, result.stdout[-2000:]
