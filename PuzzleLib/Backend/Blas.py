"""Blas of the chosen backend: numpy's BLAS on the CPU, cuBLAS on CUDA (see PuzzleLib.Kernels.Blas).

    mulMatrixOnMatrix(A, B, out=None, transpA=False, transpB=False, alpha=1.0, beta=0.0)
    sumOnMatrix(A, out=None, cols=True, alpha=1.0, beta=0.0)
    toVectorAddVector(y, x, alpha=1.0)
    addVectorToVector(x, y, out=None, alpha=1.0, beta=1.0)
    dot(x, y)
    broadcastRows(vec, out)          (an addition: out[i, :] = vec)

ops is the backend's operations on arrays already checked (Kernels/Blas.py lists them), and
checked the same three (gemm, sumOnMatrix, broadcastRows) with Blas's checks: for a module that
runs the checked calls on its first pass and ops after it; real and disjoint are two of the checks.
"""

from PuzzleLib import Backend
from PuzzleLib.Kernels.Blas import Blas, BlasError, CheckedOps, real

if Backend.isCuda:
	from PuzzleLib.Cuda import Blas as ops, GPUArray as arrays
else:
	from PuzzleLib.CPU import Blas as ops, GPUArray as arrays


blas = Blas(ops, arrays)

mulMatrixOnMatrix = blas.mulMatrixOnMatrix
sumOnMatrix = blas.sumOnMatrix
toVectorAddVector = blas.toVectorAddVector
addVectorToVector = blas.addVectorToVector
dot = blas.dot
broadcastRows = blas.broadcastRows
disjoint = blas.disjoint
checked = CheckedOps(blas)

__all__ = [
	"BlasError", "mulMatrixOnMatrix", "sumOnMatrix", "toVectorAddVector", "addVectorToVector", "dot", "broadcastRows"
]
