"""Thumbnails kept in a store's folder: read back with no decoding, made (bounded) when missing.

Kept as ``THUMBNAIL_DIR/<image name>-<size>.<jpeg|png|webp|gif|svg>``: keyed by the image's
whole name (``a.png`` and ``a.jpg`` are two images) and the thumbnail's size, and carrying
the image's own modification time, so an image replaced, even by an older file, gets a new
one. Reading a page's kept thumbnails opens their folder once and each file as cheaply as
``Path.read_bytes`` does; no link is followed, as :mod:`.inside` reads every file.
"""

from __future__ import annotations

import contextlib
import glob
import os
import stat
import time
from collections.abc import Sequence
from pathlib import Path
from uuid import uuid4

from .. import imaging
from ..errors import ImageDecodeError
from .inside import open_inside, read_inside

__all__ = ["MAX_IMAGE_BYTES", "THUMBNAIL_DIR", "forget_thumbnails", "kept_thumbnails", "thumbnail_of",
           "write_whole"]

THUMBNAIL_DIR = ".thumbnails"
"""In the folder: thumbnails, ``<image name>-<size>.<jpeg|png|webp|gif|svg>``."""
MAX_IMAGE_BYTES = imaging.MAX_BASE64_CHARS * 3 // 4
"""Largest file a thumbnail is made of: the largest image accepted from a server."""

# A kept thumbnail is opened as inside.py opens every file: no link followed, a FIFO never waited on.
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_FILE_FLAGS = (os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
               | getattr(os, "O_NONBLOCK", 0) | _NOFOLLOW)
_DIRECTORY_FLAGS = _FILE_FLAGS | getattr(os, "O_DIRECTORY", 0)
_BY_FD = _NOFOLLOW != 0 and _DIRECTORY_FLAGS != _FILE_FLAGS and os.open in os.supports_dir_fd


def write_whole(path: Path, data: bytes, mtime_ns: int | None = None) -> None:
    """Write ``data`` at ``path`` whole or not at all: a temporary file, then a rename.

    The temporary name starts with ``.`` and ends with ``.tmp``, as the store's do. No
    fsync: these are caches, and one lost or damaged in a crash is made again.
    """
    temporary = path.with_name(f".{path.name}.{uuid4().hex[:8]}.tmp")
    try:
        temporary.write_bytes(data)
        if mtime_ns is not None:
            os.utime(temporary, ns=(mtime_ns, mtime_ns))
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


_KINDS = {"gif": ("gif",), "svg": ("svg",), "jpg": ("jpeg",), "jpeg": ("jpeg",), "webp": ("webp",)}


def _kinds(name: str) -> tuple[str, ...]:
    """The suffixes of the thumbnails :func:`~imagewidgets.imaging.thumbnail` makes of ``name``'s kind.

    A PNG's is a JPEG unless it has transparency.
    """
    return _KINDS.get(name.rpartition(".")[2].lower(), ("jpeg", "png"))


def _stamp(folder: Path, name: str) -> int:
    """The image's modification time in ns, opened as every read of it is (a link is refused)."""
    with open_inside(folder, name) as file:
        return os.fstat(file.fileno()).st_mtime_ns


def kept_thumbnails(folder: Path, images: Sequence[tuple[str, int]], size: int, *,
                    deadline: float | None = None) -> list[imaging.Thumbnail | None]:
    """Each image's kept thumbnail, else None: nothing decoded.

    ``images`` holds (name, modification time in ns; 0 to look it up). A kept thumbnail
    counts only while its modification time is the image's. With a ``deadline`` (a
    :func:`time.monotonic` time), no file is opened after it: the list returned is then
    shorter than ``images``, and the caller reads the rest (off the event loop).

    Raises
    ------
    ValueError
        For a size under 1.
    """
    if size < 1:
        raise ValueError(f"a thumbnail's size must be at least 1 pixel, not {size}")
    if not _BY_FD:  # Windows: each opened as inside.py checks them, name by name
        return _each(folder, None, images, size, deadline)
    try:
        directory = os.open(folder / THUMBNAIL_DIR, _DIRECTORY_FLAGS)
    except OSError:  # none kept yet, a link, or not a folder
        return [None] * len(images)
    try:
        return _each(folder, directory, images, size, deadline)
    finally:
        os.close(directory)


def _each(folder: Path, directory: int | None, images: Sequence[tuple[str, int]], size: int,
          deadline: float | None) -> list[imaging.Thumbnail | None]:
    """:func:`_kept` of each image in turn, until the ``deadline`` if there is one."""
    if deadline is None:
        return [_kept(folder, directory, name, stamp, size) for name, stamp in images]
    found: list[imaging.Thumbnail | None] = []
    for name, stamp in images:
        if time.monotonic() > deadline:
            break
        found.append(_kept(folder, directory, name, stamp, size))
    return found


def _kept(folder: Path, directory: int | None, image: str, stamp: int,
          size: int) -> imaging.Thumbnail | None:
    """``image``'s kept thumbnail in the open ``directory`` (None: found by name), else None."""
    try:
        stamp = stamp or _stamp(folder, image)
    except OSError:
        return None  # gone, or a link: making one says why
    for extension in _kinds(image):
        name = f"{image}-{size}.{extension}"
        try:
            data = (_read_at(directory, name, stamp) if directory is not None
                    else _read_named(folder, f"{THUMBNAIL_DIR}/{name}", stamp))
        except OSError:
            continue
        if data is not None:
            return imaging.Thumbnail(data, "svg+xml" if extension == "svg" else extension)
    return None


def _read_at(directory: int, name: str, stamp: int) -> bytes | None:
    """The file ``name`` in ``directory`` if a regular file of modification time ``stamp``.

    Plain os calls: no file object for a few kilobytes read whole.
    """
    fd = os.open(name, _FILE_FLAGS, dir_fd=directory)
    try:
        facts = os.fstat(fd)
        if not stat.S_ISREG(facts.st_mode) or facts.st_mtime_ns != stamp:
            return None
        return _read_all(fd, facts.st_size)
    finally:
        os.close(fd)


def _read_named(folder: Path, relative: str, stamp: int) -> bytes | None:
    """:func:`_read_at` where files cannot be opened relative to a folder (Windows)."""
    with open_inside(folder, relative) as file:
        return file.read() if os.fstat(file.fileno()).st_mtime_ns == stamp else None


def _read_all(fd: int, size: int) -> bytes:
    """The file's bytes, ``size`` of them expected (more if it grew meanwhile)."""
    data = os.read(fd, size + 1)
    if len(data) <= size:
        return data
    parts = [data]
    while part := os.read(fd, 1 << 20):
        parts.append(part)
    return b"".join(parts)


def thumbnail_of(folder: Path, name: str, size: int) -> imaging.Thumbnail:
    """The image's thumbnail whose longest side is at most ``size``: the kept one, else made and kept.

    Made (bounded, as :mod:`~imagewidgets.imaging.untrusted` decodes) only when none is
    kept: call it off the event loop. A folder that cannot be written to still gets its
    thumbnails, made each time.

    Raises
    ------
    ValueError
        For a size under 1.
    ImageDecodeError
        When the image is broken or too large: show a placeholder.
    OSError
        When the image cannot be read (deleted since the refresh), or is a link
        (:class:`~.inside.OutsideFolderError`).
    """
    with open_inside(folder, name) as file:  # refused for a link: its target is not the folder's
        image = os.fstat(file.fileno())
    kept = kept_thumbnails(folder, [(name, image.st_mtime_ns)], size)[0]
    if kept is not None:
        return kept
    if image.st_size > MAX_IMAGE_BYTES:
        raise ImageDecodeError(f"the image is {image.st_size:,} bytes; the limit is {MAX_IMAGE_BYTES:,}")
    made = imaging.thumbnail(read_inside(folder, name), size)
    # Named by what was made: a file whose suffix lies about its format is simply remade each time.
    extension = "svg" if made.format == "svg+xml" else made.format
    made_as = folder / THUMBNAIL_DIR / f"{name}-{size}.{extension}"
    with contextlib.suppress(OSError):
        made_as.parent.mkdir(exist_ok=True)
        if not made_as.parent.is_symlink():  # a linked cache is another folder: never written
            write_whole(made_as, made.data, image.st_mtime_ns)
    return made


def forget_thumbnails(folder: Path, name: str) -> None:
    """Delete the image's kept thumbnails, every size; a linked cache is left alone."""
    thumbnails = folder / THUMBNAIL_DIR
    with contextlib.suppress(OSError):
        for thumbnail in [] if thumbnails.is_symlink() else thumbnails.glob(f"{glob.escape(name)}-*"):
            # Only <name>-<size>: another image's name may start with this one's.
            if thumbnail.stem[len(name) + 1:].isdigit():
                thumbnail.unlink(missing_ok=True)
