from PuzzleLib.Modules.Module import Module, ModuleError
from PuzzleLib.Modules.Activation import Activation
from PuzzleLib.Modules.Dropout import Dropout
from PuzzleLib.Modules.SoftMax import SoftMax

__all__ = ["Module", "ModuleError", "Activation", "Dropout", "SoftMax"]
