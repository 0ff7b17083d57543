"""The widgets: controls, tiles, grids, panel, gallery, and the jobs that run them. Imported lazily."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - names for type checkers and IDEs
    from .compare import CompareGrid as CompareGrid
    from .gallery import Gallery as Gallery
    from .panel import ImagePanel as ImagePanel
    from .tile import ImageTile as ImageTile

# Each loads on first access, so importing one (``imagewidgets.ui.panel``) does not import
# the others: the panel needs the comparison grid's modules only when a comparison is opened.
_MODULES = {"CompareGrid": "compare", "Gallery": "gallery", "ImagePanel": "panel", "ImageTile": "tile"}

__all__ = ["CompareGrid", "Gallery", "ImagePanel", "ImageTile"]


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return getattr(importlib.import_module(f".{_MODULES[name]}", __name__), name)
    raise AttributeError(f"module 'imagewidgets.ui' has no attribute {name!r}")
