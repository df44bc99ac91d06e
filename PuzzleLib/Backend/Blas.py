"""Blas of the chosen backend: numpy's BLAS on the CPU, cuBLAS on CUDA (see PuzzleLib.Kernels.Blas).

    mulMatrixOnMatrix(A, B, out=None, transpA=False, transpB=False, alpha=1.0, beta=0.0)
    sumOnMatrix(A, out=None, cols=True, alpha=1.0, beta=0.0)
    toVectorAddVector(y, x, alpha=1.0)
    addVectorToVector(x, y, out=None, alpha=1.0, beta=1.0)
    dot(x, y)
    broadcastRows(vec, out)          (an addition: out[i, :] = vec)

ops is the backend's operations on arrays already checked (Kernels/Blas.py lists them), for a
module that runs Blas's checks on its first pass and reuses them; real and disjoint are two of
those checks.
"""

from PuzzleLib import Backend
from PuzzleLib.Kernels.Blas import Blas, BlasError, real

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

__all__ = [
	"BlasError", "mulMatrixOnMatrix", "sumOnMatrix", "toVectorAddVector", "addVectorToVector", "dot", "broadcastRows"
]
