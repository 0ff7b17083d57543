"""Where final images go on disk. For now: the file-naming rule.

The store (every final image and its JSON sidecar, written atomically) comes
next; the download button already names files by the rule it will use, so a
downloaded image and a stored one share a name.
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["download_name"]


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
    words = re.findall(r"[a-z0-9]+", prompt.lower())[:5]
    stem = "-".join(words) or "image"
    model_part = re.sub(r"[^a-z0-9.-]+", "-", model.lower()).strip("-.") or "model"
    stamp = datetime.fromtimestamp(when).strftime("%Y%m%d-%H%M%S")
    return f"{stem[:60]}_{model_part}_{stamp}.{extension}"
