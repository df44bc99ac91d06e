from PuzzleLib.Containers.Container import Container, ContainerError
from PuzzleLib.Containers.Sequential import Sequential

__all__ = ["Container", "ContainerError", "Sequential"]
