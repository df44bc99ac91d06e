from PuzzleLib.Modules.Module import Module, ModuleError, MemoryUnit
from PuzzleLib.Modules.Activation import (
	Activation, ActivationType, sigmoid, tanh, relu, leakyRelu, elu, softPlus, clip
)

__all__ = [
	"Module", "ModuleError", "MemoryUnit",
	"Activation", "ActivationType", "sigmoid", "tanh", "relu", "leakyRelu", "elu", "softPlus", "clip"
]
