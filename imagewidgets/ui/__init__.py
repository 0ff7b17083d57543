"""The widgets: controls, tiles, grid, panel, and the jobs that run them. Imported lazily."""

from .panel import ImagePanel
from .tile import ImageTile

__all__ = ["ImagePanel", "ImageTile"]
