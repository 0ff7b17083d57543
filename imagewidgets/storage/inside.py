"""Reading a file of a store's folder, and never one outside it.

A folder of images is the user's, and anything may be put in it: a link ``a.png``
to ``~/.ssh/id_rsa``, a ``.thumbnails`` link to another folder. Every read of a
saved image, its sidecar or its thumbnail opens it here, one name at a time from
the folder down, refusing links (``O_NOFOLLOW``) and anything that is not a
regular file, so the bytes read are always those of a file inside the folder.
The folder itself may be a link: it is where the user keeps the store.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path, PurePosixPath
from typing import BinaryIO

__all__ = ["OutsideFolderError", "open_inside", "read_inside"]

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
# Non-blocking: a FIFO named a.png must not hang the open; a regular file ignores the flag.
_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
# What opening a link with O_NOFOLLOW says: ELOOP (Linux, macOS), EMLINK (FreeBSD), EFTYPE (NetBSD).
_LINK_ERRORS = {errno.ELOOP, errno.EMLINK, getattr(errno, "EFTYPE", errno.ELOOP)}
_BY_FD = _NOFOLLOW != 0 and _DIRECTORY != 0 and os.open in os.supports_dir_fd


class OutsideFolderError(OSError):
    """A file of the folder is a link, or not a regular file: it is not read."""


def _refused(folder: Path, relative: str, why: str) -> OutsideFolderError:
    return OutsideFolderError(f"{relative!r} in {str(folder)!r} {why}; only the folder's own files are read")


def _open_by_fd(folder: Path, parts: tuple[str, ...], relative: str) -> int:
    """Open each name relative to the one above it, none of them followed if a link."""
    at = os.open(folder, _FLAGS | _DIRECTORY)
    try:
        for depth, part in enumerate(parts):
            last = depth == len(parts) - 1
            try:
                below = os.open(part, _FLAGS | _NOFOLLOW | (0 if last else _DIRECTORY), dir_fd=at)
            except OSError as error:
                if error.errno in _LINK_ERRORS:
                    why = "is a link" if last else "goes through a link"
                    raise _refused(folder, relative, why) from error
                raise
            os.close(at)
            at = below
        opened, at = at, -1
        return opened
    finally:
        if at >= 0:
            os.close(at)


def _open_checked(folder: Path, parts: tuple[str, ...], relative: str) -> int:
    """Where there is no ``O_NOFOLLOW`` or ``dir_fd`` (Windows): check the names, then open."""
    path = folder.joinpath(*parts)
    here = os.path.realpath(folder)
    for depth in range(1, len(parts) + 1):
        if os.path.islink(folder.joinpath(*parts[:depth])):
            raise _refused(folder, relative, "is a link" if depth == len(parts) else "goes through a link")
    if os.path.commonpath([here, os.path.realpath(path)]) != here:
        raise _refused(folder, relative, "resolves outside the folder")
    return os.open(path, _FLAGS | _NOFOLLOW)


def open_inside(folder: str | os.PathLike[str], relative: str) -> BinaryIO:
    """Open ``folder / relative`` for reading, if it is a regular file of the folder reached through no link.

    Parameters
    ----------
    folder : str or path
        The store's folder (which may itself be a link).
    relative : str
        A name in it, or names joined with ``/`` (``.thumbnails/a-192.jpeg``).

    Raises
    ------
    OutsideFolderError
        When a name on the way is a link, the file is not a regular file, or the
        name leaves the folder (``..``, an absolute path).
    OSError
        When the file cannot be opened (missing, no permission).
    """
    folder = Path(folder)
    parts = PurePosixPath(relative).parts
    if not parts or PurePosixPath(relative).is_absolute() or any(
            part in (".", "..") or os.sep in part or (os.altsep or os.sep) in part for part in parts):
        raise _refused(folder, relative, "is not a name inside the folder")
    fd = (_open_by_fd if _BY_FD else _open_checked)(folder, parts, relative)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _refused(folder, relative, "is not a regular file")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_inside(folder: str | os.PathLike[str], relative: str) -> bytes:
    """The bytes of ``folder / relative``, opened as :func:`open_inside` opens it."""
    with open_inside(folder, relative) as file:
        return file.read()
