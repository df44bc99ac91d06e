from PuzzleLib.Modules.Module import Module, ModuleError, MemoryUnit
from PuzzleLib.Modules.InitScheme import InitScheme, FactorType
from PuzzleLib.Modules.Activation import (
	Activation, ActivationType, sigmoid, tanh, relu, leakyRelu, elu, softPlus, clip
)
from PuzzleLib.Modules.Linear import Linear
from PuzzleLib.Modules.Flatten import Flatten
from PuzzleLib.Modules.Identity import Identity
from PuzzleLib.Modules.Dropout import Dropout
from PuzzleLib.Modules.SoftMax import SoftMax

__all__ = [
	"Module", "ModuleError", "MemoryUnit", "InitScheme", "FactorType",
	"Activation", "ActivationType", "sigmoid", "tanh", "relu", "leakyRelu", "elu", "softPlus", "clip",
	"Linear", "Flatten", "Identity", "Dropout", "SoftMax"
]
