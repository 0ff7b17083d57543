"""The widgets: controls, tiles, grid, panel, comparison grid, and the jobs that run them. Imported lazily."""

from .compare import CompareGrid
from .panel import ImagePanel
from .tile import ImageTile

__all__ = ["CompareGrid", "ImagePanel", "ImageTile"]
