from PuzzleLib.Modules.Module import Module, ModuleError
from PuzzleLib.Modules.Activation import Activation

__all__ = ["Module", "ModuleError", "Activation"]
