"""File names safe on every OS, made of a prompt's first words, the model and the time.

Two kinds: the name a download (or :meth:`GeneratedImage.save` into a folder) gets,
``<prompt-slug>_<model>_YYYYMMDD-HHMMSS.<ext>``, and the name the store gives,
``YYYYMMDD-HHMMSS_<model>_<prompt-slug>_<short-id>.<ext>``, which sorts by time.
Below both ``results`` and ``storage``: it imports nothing of the package.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["download_name", "image_name"]


def _slug(prompt: str) -> str:
    """The prompt's first five words, letters and digits only, lower case; ``image`` if none."""
    words = re.findall(r"[a-z0-9]+", prompt.lower())[:5]
    return ("-".join(words) or "image")[:60]


def _model_part(model: str) -> str:
    return re.sub(r"[^a-z0-9.-]+", "-", model.lower()).strip("-.") or "model"


def _stamp(when: float) -> str:
    return datetime.fromtimestamp(when).strftime("%Y%m%d-%H%M%S")


def download_name(prompt: str, model: str, when: float, extension: str) -> str:
    """A file name safe on every OS, from the prompt's first words, the model and the time.

    Parameters
    ----------
    prompt : str
        Its first five words (letters and digits only, lower case) make the stem;
        ``image`` when none is left.
    model : str
        Kept to letters, digits, dots and dashes.
    when : float
        Seconds since the epoch, shown in local time.
    extension : str
        Without the dot: ``png``, ``jpeg``, ``webp``.

    Examples
    --------
    >>> download_name("A lighthouse at dusk", "gpt-image-1", 1795616553, "png")  # doctest: +SKIP
    'a-lighthouse-at-dusk_gpt-image-1_20261125-142233.png'
    """
    return f"{_slug(prompt)}_{_model_part(model)}_{_stamp(when)}.{extension}"


def image_name(prompt: str, model: str, when: float, short_id: str, extension: str) -> str:
    """A stored image's file name: the time first, so names sort as the images were made.

    The prompt and model are cleaned as :func:`download_name` cleans them (the
    model cut to 60 characters); ``short_id`` is kept to letters and digits.

    Examples
    --------
    >>> image_name("A lighthouse at dusk", "gpt-image-1", 1795616553, "1a2b3c4d", "png")  # doctest: +SKIP
    '20261125-142233_gpt-image-1_a-lighthouse-at-dusk_1a2b3c4d.png'
    """
    short = re.sub(r"[^a-z0-9]+", "", short_id.lower())[:16] or "0"
    return f"{_stamp(when)}_{_model_part(model)[:60]}_{_slug(prompt)}_{short}.{extension}"

