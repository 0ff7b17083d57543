"""Files written whole or not at all, under a name no other writer holds.

A file is first written under a hidden temporary name beside its final one
(``.<final name>.<8 hex>.tmp``) and fsynced; it is then published under the
final name with a hard link, which fails if the name exists, so two writers
given one name never overwrite each other. After a publish the folder itself is
fsynced, so the new name survives a power cut. A crash therefore leaves at
most a hidden temporary, which :func:`stale_temporaries` finds by its name.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import time
from collections.abc import Iterable
from pathlib import Path
from uuid import uuid4

__all__ = ["STALE_AFTER", "publish", "stale_temporaries", "sync_folder", "temporary_target",
           "write_new", "write_replacing", "write_temporary"]

STALE_AFTER = 600.0
"""Seconds after its last write when a temporary is taken as a dead writer's. A save
writes and publishes its temporaries within a second; should a writer still be alive
after this long (a hung network disk), removing its temporary makes that save fail
with an error, never leaves a damaged file."""

# What os.link raises where the file system has no hard links (FAT, exFAT, some shares).
_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL})
_TEMPORARY = re.compile(r"\.(?P<target>.+)\.[0-9a-f]{8}\.tmp")


def temporary_target(name: str) -> str | None:
    """The final name a temporary of this module's naming was for; None for any other name."""
    found = _TEMPORARY.fullmatch(name)
    return found.group("target") if found else None


def write_temporary(path: Path, data: bytes) -> Path:
    """Write ``data`` to a new hidden temporary beside ``path`` and fsync it; return its path.

    On any error the temporary is removed and the error raised.
    """
    temporary = path.with_name(f".{path.name}.{uuid4().hex[:8]}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)  # the umask applies, as to any file the user makes
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # on disk before a publish makes it visible
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return temporary


def publish(temporary: Path, path: Path) -> None:
    """Give the written ``temporary`` the name ``path`` too, only if no file has it.

    Raises
    ------
    FileExistsError
        When ``path`` exists: it is left as it was.
    """
    try:
        os.link(temporary, path)  # fails if the name is taken: taking it and filling it are one step
    except FileExistsError:
        raise
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise
        # No hard links here: reserve the name, then fill it. A crash between the two
        # leaves an empty file under it, never another writer's bytes overwritten.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        os.replace(temporary, path)


def sync_folder(folder: Path) -> None:
    """Fsync ``folder``, so the names just made in it survive a crash; quietly skipped
    where the system cannot (Windows opens no folder as a file)."""
    if os.name == "nt":
        return
    with contextlib.suppress(OSError):
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def write_new(path: Path, data: bytes, names: Iterable[Path] = ()) -> Path:
    """Write ``data`` whole under ``path``, or the first free name of ``names`` when it is taken.

    Raises
    ------
    FileExistsError
        When every name is taken.
    """
    temporary = write_temporary(path, data)
    try:
        for target in (path, *names):
            try:
                publish(temporary, target)
            except FileExistsError:
                continue
            sync_folder(target.parent)
            return target
        raise FileExistsError(f"no free name for {path.name} in {path.parent}")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(temporary)


def write_replacing(path: Path, data: bytes) -> None:
    """Write ``data`` whole at ``path``, replacing the file there if any."""
    temporary = write_temporary(path, data)
    try:
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    sync_folder(path.parent)


def stale_temporaries(folder: Path, older_than: float = STALE_AFTER) -> list[Path]:
    """The temporaries in ``folder`` last written more than ``older_than`` seconds ago."""
    limit = time.time() - older_than
    found = []
    with os.scandir(folder) as listing:
        for item in listing:
            if temporary_target(item.name) is None:
                continue
            with contextlib.suppress(OSError):  # gone since the listing: its writer finished
                if item.is_file(follow_symlinks=False) and item.stat(follow_symlinks=False).st_mtime < limit:
                    found.append(Path(item.path))
    return found
