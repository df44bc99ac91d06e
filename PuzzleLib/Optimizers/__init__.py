from PuzzleLib.Optimizers.Optimizer import Optimizer, OptimizerError
from PuzzleLib.Optimizers.SGD import SGD
from PuzzleLib.Optimizers.MomentumSGD import MomentumSGD
from PuzzleLib.Optimizers.NesterovSGD import NesterovSGD
from PuzzleLib.Optimizers.RMSProp import RMSProp
from PuzzleLib.Optimizers.Adam import Adam
from PuzzleLib.Optimizers.Hooks import Hook, WeightDecay

__all__ = [
	"Optimizer", "OptimizerError", "SGD", "MomentumSGD", "NesterovSGD", "RMSProp", "Adam", "Hook", "WeightDecay"
]
