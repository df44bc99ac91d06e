from PuzzleLib.Cost.Cost import Cost, CostError
from PuzzleLib.Cost.CrossEntropy import CrossEntropy
from PuzzleLib.Cost.MSE import MSE
from PuzzleLib.Cost.BCE import BCE

__all__ = ["Cost", "CostError", "CrossEntropy", "MSE", "BCE"]
