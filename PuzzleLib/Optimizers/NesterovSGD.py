"""NesterovSGD: mom = momRate * mom + learnRate * grad; param += momRate * mom + learnRate * grad."""

from PuzzleLib.Backend.Kernels.ElementWise import nesterovSGDKer
from PuzzleLib.Optimizers.MomentumSGD import MomentumSGD


class NesterovSGD(MomentumSGD):
	kernel = staticmethod(nesterovSGDKer)
