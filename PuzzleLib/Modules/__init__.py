from PuzzleLib.Modules.Module import Module, ModuleError
from PuzzleLib.Modules.Activation import Activation
from PuzzleLib.Modules.Interim import Linear, Dropout, Flatten     # INTERIM until the real modules land

__all__ = ["Module", "ModuleError", "Activation", "Linear", "Dropout", "Flatten"]
