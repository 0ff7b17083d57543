"""Moved: what each model accepts is ``imagewidgets.models`` now. This name stays for notebooks
that import it (an earlier lesson did); it warns and gives the same objects."""

from __future__ import annotations

import warnings

from .models import *  # noqa: F403 - the same names as the package it moved to
from .models import __all__ as __all__

warnings.warn("imagewidgets.capabilities moved to imagewidgets.models; import from there",
              DeprecationWarning, stacklevel=2)
