"""The facade user code imports. Importing it binds every name to one backend, chosen once."""

from PuzzleLib import Config
from PuzzleLib.Backend import Selection

current = Selection.select()
isCuda = current is Config.Backend.cuda
