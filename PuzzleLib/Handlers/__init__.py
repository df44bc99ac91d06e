from PuzzleLib.Handlers.Handler import Handler, HandlerError
from PuzzleLib.Handlers.Trainer import Trainer
from PuzzleLib.Handlers.Validator import Validator
from PuzzleLib.Handlers.Calculator import Calculator

__all__ = ["Handler", "HandlerError", "Trainer", "Validator", "Calculator"]
