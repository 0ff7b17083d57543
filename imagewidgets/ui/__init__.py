"""The widgets: controls, tiles, grids, panel, gallery, and the jobs that run them. Imported lazily."""

from .compare import CompareGrid
from .gallery import Gallery
from .panel import ImagePanel
from .tile import ImageTile

__all__ = ["CompareGrid", "Gallery", "ImagePanel", "ImageTile"]
