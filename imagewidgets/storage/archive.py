"""A zip of saved images and their sidecars, written to a file a bounded piece at a time.

The gallery's "Download selected (zip)" writes it to a temporary file, never to
memory: a selection of a gigabyte costs the kernel a megabyte. Each file is read
through :func:`~.inside.open_inside`, so a link in the folder never puts another
file's bytes in the zip.
"""

from __future__ import annotations

import os
import stat
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, BinaryIO

from .inside import OutsideFolderError, open_inside

__all__ = ["MAX_ZIP_BYTES", "ZipTooLargeError", "write_zip"]

MAX_ZIP_BYTES = 1024 * 1024 * 1024
"""Largest selection zipped: the browser holds the whole zip in memory to save it."""
_COPY = 1024 * 1024  # what is read at once from a file into the zip
_LATEST = (2107, 12, 31, 23, 59, 58)  # a zip's dates run from 1980 to 2107


class ZipTooLargeError(ValueError):
    """The selection is larger than a zip may be."""


def _megabytes(size: int) -> str:
    return f"{size / 1e6:,.1f} MB"


def _stamp(mtime: float) -> tuple[int, int, int, int, int, int]:
    try:
        found = time.localtime(mtime)[:6]
    except (OverflowError, OSError, ValueError):
        found = _LATEST
    return max((1980, 1, 1, 0, 0, 0), min(found, _LATEST))


def _size(path: Path) -> int:
    """A regular file's size; 0 for a link, a folder, or one missing (left out of the zip)."""
    try:
        facts = os.lstat(path)
    except OSError:
        return 0
    return facts.st_size if stat.S_ISREG(facts.st_mode) else 0


def _copy(source: BinaryIO, target: IO[bytes], size: int) -> None:
    """Copy ``size`` bytes at most, a bounded piece at a time: a growing file is cut where it was measured."""
    while size > 0 and (piece := source.read(min(_COPY, size))):
        target.write(piece)
        size -= len(piece)


def _add(archive: zipfile.ZipFile, name: str, file: BinaryIO, facts: os.stat_result) -> None:
    info = zipfile.ZipInfo(name, _stamp(facts.st_mtime))
    info.external_attr = (facts.st_mode & 0xFFFF) << 16
    # Images are compressed already; sidecars are text.
    info.compress_type = zipfile.ZIP_DEFLATED if name.endswith(".json") else zipfile.ZIP_STORED
    info.file_size = facts.st_size  # decides whether the entry needs zip64
    with archive.open(info, "w") as into:
        _copy(file, into, facts.st_size)


def _too_large(count: int, size: int, limit: int) -> ZipTooLargeError:
    return ZipTooLargeError(
        f"the selection ({count} image{'' if count == 1 else 's'}) holds {_megabytes(size)}; "
        f"a zip may hold at most {_megabytes(limit)}: select fewer images")


def write_zip(folder: str | os.PathLike[str], images: Sequence[str], target: BinaryIO, *,
              limit: int = MAX_ZIP_BYTES, progress: Callable[[int, int], object] | None = None) -> int:
    """Write a zip of each image (stored: compressed already) and its sidecar (deflated) to ``target``.

    Parameters
    ----------
    folder : str or path
        The store's folder.
    images : sequence of str
        Image names in it; each goes in once, with ``<stem>.json`` beside it when there is one.
        Missing files and links are left out.
    target : binary file
        Where the zip is written, from its current position.
    limit : int
        Most bytes the selection may hold.
    progress : callable, optional
        Called with (images done, images in all) after each image.

    Returns
    -------
    int
        The bytes written.

    Raises
    ------
    ZipTooLargeError
        When the files hold more than ``limit`` bytes; nothing is written.
    """
    folder = Path(folder)
    chosen = list(dict.fromkeys(images))
    pairs = [(name, f"{name.rpartition('.')[0] or name}.json") for name in chosen]
    size = sum(_size(folder / name) for pair in pairs for name in pair)
    if size > limit:
        raise _too_large(len(chosen), size, limit)
    start, copied, written = target.tell(), 0, set()
    with zipfile.ZipFile(target, "w", allowZip64=True) as archive:
        for done, pair in enumerate(pairs, 1):
            for name in pair:
                if name in written:
                    continue  # two images sharing a sidecar: it goes in once
                try:
                    file = open_inside(folder, name)
                except (FileNotFoundError, OutsideFolderError):
                    continue  # deleted since the refresh, or a link: left out
                with file:
                    facts = os.fstat(file.fileno())
                    copied += facts.st_size
                    if copied > limit:  # grown since it was measured
                        raise _too_large(len(chosen), copied, limit)
                    _add(archive, name, file, facts)
                    written.add(name)
            if progress is not None:
                progress(done, len(chosen))
    return target.tell() - start
