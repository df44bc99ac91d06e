from PuzzleLib.Datasets.MnistLoader import MnistLoader, DatasetError

__all__ = ["MnistLoader", "DatasetError"]
