"""The widgets: controls, tiles, grid, panel. Imported lazily by ``imagewidgets``."""

from .panel import ImagePanel
from .tile import ImageTile

__all__ = ["ImagePanel", "ImageTile"]
