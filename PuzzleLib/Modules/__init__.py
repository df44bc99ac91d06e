from PuzzleLib.Modules.Module import Module, ModuleError, MemoryUnit
from PuzzleLib.Modules.Activation import (
	Activation, ActivationType, sigmoid, tanh, relu, leakyRelu, elu, softPlus, clip
)
from PuzzleLib.Modules.Dropout import Dropout
from PuzzleLib.Modules.SoftMax import SoftMax

__all__ = [
	"Module", "ModuleError", "MemoryUnit",
	"Activation", "ActivationType", "sigmoid", "tanh", "relu", "leakyRelu", "elu", "softPlus", "clip",
	"Dropout", "SoftMax"
]
