"""The index of a store's folder: every saved image with its settings, newest first.

No widgets here: the gallery shows what this finds. A refresh lists the folder once
(``os.scandir``); an image's settings come from its sidecar, else from the settings
embedded in the file, else it shows with none. What was read is kept in
:data:`INDEX_FILE` in the folder, keyed by each file's size and modification time,
so reopening a folder of thousands of images reads one file, not thousands; a
missing or damaged index is simply made again. Thumbnails are made when first
asked for and kept under :data:`THUMBNAIL_DIR` (:mod:`.thumbnail_cache`).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import Any, BinaryIO

from .. import imaging
from ..imaging import Thumbnail
from .archive import MAX_ZIP_BYTES, write_zip
from .inside import open_inside, read_inside
from .metadata import embedded_metadata
from .store import COMPANIONS, companion_name
from .thumbnail_cache import THUMBNAIL_DIR, forget_thumbnails, kept_thumbnails, thumbnail_of, write_whole

__all__ = ["IMAGE_SUFFIXES", "INDEX_FILE", "SORTS", "THUMBNAIL_DIR", "Entry", "ImageIndex"]

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif", ".svg")
_COMPANION_SUFFIXES = tuple(f".{kind}.png" for kind in COMPANIONS)
"""An edit's mask and markup beside its image: kept, never listed as images."""
"""What a refresh lists as images (in any case)."""
INDEX_FILE = ".imagewidgets-index.json"
"""In the folder: what every image's sidecar (or embedded settings) said, and when."""
SORTS = ("newest", "oldest", "cost high", "cost low", "model")
"""What :meth:`ImageIndex.select` sorts by."""

INDEX_VERSION = 1
_MAX_SIDECAR_BYTES = 16 * 1024 * 1024  # a sidecar is a few KB; a larger one is not ours
_WHOLE = imaging.MAX_SVG_BYTES  # files read whole for their settings: every SVG the store embeds in
_TAIL = 1024 * 1024  # holds the longest record: prompt and revised prompt are each at most 32,000 characters
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Entry:
    """One saved image and what is known of it.

    Attributes
    ----------
    folder : Path
        The folder it is in.
    name : str
        The image file's name; :attr:`path` is ``folder / name``.
    record : mapping
        Its sidecar's record, else the one embedded in the file, else empty.
    created : float
        Seconds since the epoch: the record's ``saved_at``, else the file's modification time.
    model, prompt : str
        From the record's params; empty when unknown.
    cost : float or None
        In USD: the actual cost, else the estimate, else None (unknown). Never NaN,
        infinite or negative: a record saying so is read as unknown.
    emulated : bool
        Made by the emulator (its cost is what it would have been: nothing billed).
    stamp : int
        The image file's modification time in nanoseconds when the index read it; 0 if unknown.
        Its cached thumbnails carry the same time.
    """

    folder: Path
    name: str
    record: Mapping[str, Any] = field(hash=False)  # a dict cannot be hashed; the path tells entries apart
    created: float
    model: str
    prompt: str
    cost: float | None
    emulated: bool = False
    stamp: int = 0

    @cached_property
    def path(self) -> Path:
        """The image file: made when first asked for, as a page shows few of a folder's entries.

        ``folder / name`` costs 4 µs; 10,000 of them were a quarter of reopening a gallery.
        """
        return self.folder / self.name

    @property
    def day(self) -> date:
        """The local date it was made."""
        return date.fromtimestamp(self.created)

    @property
    def params(self) -> dict[str, Any]:
        """A copy of the record's params; empty when none."""
        params = self.record.get("params")
        return dict(params) if isinstance(params, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _dollars(value: Any) -> float | None:
    """A cost as read from a record: a finite amount of at least 0, else None (unknown).

    A sidecar is a file anyone can edit: NaN would make a day's total ``$nan``.
    """
    if not isinstance(value, int | float) or isinstance(value, bool):
        return None
    try:
        value = float(value)
    except OverflowError:  # an integer of 400 digits
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _created(record: Mapping[str, Any], mtime: float) -> float:
    """``saved_at`` as epoch seconds, else ``mtime``."""
    try:
        stamp = datetime.fromisoformat(_text(record.get("saved_at"))).timestamp()
    except (ValueError, OverflowError, OSError):
        return mtime
    # A date outside this range could not be shown as a local date (Entry.day).
    return stamp if 0 <= stamp < 32_503_680_000 else mtime


def _entry(folder: Path, name: str, record: Mapping[str, Any], created: float, stamp: int = 0) -> Entry:
    # dict, not Mapping: records come from JSON, and an ABC check per field of 10,000
    # entries was a tenth of reopening a gallery.
    params = record.get("params")
    params = params if isinstance(params, dict) else {}
    cost = record.get("cost")
    cost = cost if isinstance(cost, dict) else {}
    actual = _dollars(cost.get("actual"))
    server = record.get("server")
    return Entry(folder, name, record, created, _text(params.get("model")), _text(params.get("prompt")),
                 actual if actual is not None else _dollars(cost.get("estimated")),
                 isinstance(server, dict) and server.get("emulator") is True, stamp)


def _embedded_text(folder: Path, name: str, size: int) -> str | None:
    """The settings embedded in an image file, read from the part of the file they are in."""
    kind = name.rpartition(".")[2].lower().replace("jpg", "jpeg")
    with open_inside(folder, name) as file:
        if size <= _WHOLE or kind in ("jpeg", "gif"):
            # JPEG and GIF: the store puts them before the pixels, so the head holds them.
            return embedded_metadata(file.read(_WHOLE), kind)
        if kind not in ("png", "webp"):
            return None  # an SVG this large holds none: the store leaves SVGs over 4 MB as they are
        # PNG and WEBP: the store puts them in the last chunk (before IEND for a PNG). That
        # chunk is read from the file's tail and handed over inside a minimal file of its kind.
        file.seek(size - _TAIL)
        tail = file.read()
    if kind == "png":
        # Found by its type and keyword; the JSON text after them can hold no NUL byte.
        at = tail.rfind(b"iTXtimagewidgets\x00") - 4
        data = _PNG_SIGNATURE + tail[at:]
    else:
        # Found by the packet's start, which XML escaping keeps out of the text inside it.
        at = tail.rfind(b'<?xpacket begin="') - 8
        body = b"WEBP" + tail[at:]
        data = b"RIFF" + len(body).to_bytes(4, "little") + body
    return embedded_metadata(data, kind) if at >= 0 else None


def _read_record(folder: Path, name: str, size: int, sidecar: str | None,
                 sidecar_size: int) -> dict[str, Any]:
    """The sidecar's record, else the embedded one, else ``{}``; never raises on junk."""
    # Names, not paths: a Path made for each of 10,000 files is a noticeable part of a cold refresh.
    # RecursionError: JSON nested deeper than the parser goes.
    if sidecar is not None and sidecar_size <= _MAX_SIDECAR_BYTES:
        with contextlib.suppress(OSError, ValueError, RecursionError):
            found = json.loads(read_inside(folder, sidecar))
            if isinstance(found, dict):
                return found
    with contextlib.suppress(OSError, ValueError, RecursionError):
        text = _embedded_text(folder, name, size)
        found = json.loads(text) if text is not None else None
        if isinstance(found, dict):
            return found
    return {}


def _reusable(known: Any, key: list[Any]) -> dict[str, Any] | None:
    """An index item, if well formed and made when the files had this ``key`` (sizes, times)."""
    if (isinstance(known, dict) and known.get("stat") == key and isinstance(known.get("record"), dict)
            and isinstance(known.get("created"), int | float)
            and 0 <= known["created"] < 32_503_680_000):  # NaN too is refused: Entry.day needs a date
        return known
    return None


class ImageIndex:
    """Every image in a store's folder, with its settings, newest first.

    Parameters
    ----------
    folder : str or path
        The store's folder; it need not exist yet. Nothing is read until :meth:`refresh`.
    """

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = Path(folder).expanduser()
        self.entries: list[Entry] = []

    def __repr__(self) -> str:
        return f"ImageIndex(folder={str(self.folder)!r}, entries={len(self.entries)})"

    def _load(self) -> dict[str, Any]:
        """The cached records by image name; ``{}`` when the index is missing or damaged."""
        try:
            found = json.loads(read_inside(self.folder, INDEX_FILE))
        except (OSError, ValueError, RecursionError):
            return {}
        if not isinstance(found, dict) or found.get("version") != INDEX_VERSION:
            return {}
        images = found.get("images")
        return images if isinstance(images, dict) else {}

    def refresh(self) -> list[Entry]:
        """List the folder again and return :attr:`entries`, newest first.

        A file whose size and modification time, and its sidecar's, are as the index
        recorded is not read again; any other is, and the index is written back. Names
        starting with ``.`` (the store's temporary files, the index, thumbnails) are
        skipped, and so are links: a link ``a.png`` to a file elsewhere is not the
        folder's, and is never listed, read or sent. A missing folder has no entries;
        an unreadable file shows with an empty record.
        """
        try:
            with os.scandir(self.folder) as listing:
                files = {item.name: item for item in listing
                         if not item.name.startswith(".") and not item.is_symlink()}
        except OSError:  # no folder (yet), or not one
            self.entries = []
            return self.entries
        cached = self._load()
        fresh: dict[str, Any] = {}
        entries = []
        changed = False
        for name, item in files.items():
            stem, dot, suffix = name.rpartition(".")
            if not dot or f".{suffix.lower()}" not in IMAGE_SUFFIXES \
                    or name.lower().endswith(_COMPANION_SUFFIXES):
                continue
            sidecar = files.get(f"{stem}.json")
            try:
                if not item.is_file(follow_symlinks=False):
                    continue
                image = item.stat(follow_symlinks=False)
                side = sidecar.stat(follow_symlinks=False) if sidecar is not None else None
            except OSError:
                continue  # deleted since the listing
            key = [image.st_size, image.st_mtime_ns,
                   side.st_size if side else None, side.st_mtime_ns if side else None]
            known = _reusable(cached.get(name), key)
            if known is None:
                record = _read_record(self.folder, name, image.st_size, sidecar.name if sidecar else None,
                                      side.st_size if side else 0)
                known = {"stat": key, "created": _created(record, image.st_mtime), "record": record}
                changed = True
            fresh[name] = known
            entries.append(_entry(self.folder, name, known["record"], known["created"], image.st_mtime_ns))
        if changed or fresh.keys() != cached.keys():
            text = json.dumps({"version": INDEX_VERSION, "images": fresh}, separators=(",", ":"))
            with contextlib.suppress(OSError):  # a read-only folder: shown all the same, just not cached
                write_whole(self.folder / INDEX_FILE, text.encode())
        entries.sort(key=lambda entry: (entry.created, entry.name), reverse=True)
        self.entries = entries
        return entries

    def select(self, *, model: str | None = None, text: str = "", since: date | None = None,
               until: date | None = None, sort: str = "newest") -> list[Entry]:
        """The entries that match, in the order asked for.

        Parameters
        ----------
        model : str, optional
            Only this model's images (``""``: those whose model is unknown).
        text : str
            Found, in any case, in the prompt or the revised prompt.
        since, until : date, optional
            The first and last local day, both included.
        sort : str
            One of :data:`SORTS`; ties, and images of unknown cost (last), go newest first.

        Raises
        ------
        ValueError
            For a sort not in :data:`SORTS`.
        """
        if sort not in SORTS:
            raise ValueError(f"sort must be one of {', '.join(map(repr, SORTS))}, not {sort!r}")
        needle = text.casefold()
        chosen = [entry for entry in self.entries
                  if (model is None or entry.model == model)
                  and (not needle or needle in entry.prompt.casefold()
                       or needle in _text(entry.record.get("revised_prompt")).casefold())
                  and (since is None or entry.day >= since) and (until is None or entry.day <= until)]
        # self.entries is newest first and sorting is stable: ties stay newest first.
        if sort == "oldest":
            chosen.reverse()
        elif sort == "cost high":
            chosen.sort(key=lambda entry: (entry.cost is None, -(entry.cost or 0.0)))
        elif sort == "cost low":
            chosen.sort(key=lambda entry: (entry.cost is None, entry.cost or 0.0))
        elif sort == "model":
            chosen.sort(key=lambda entry: (entry.model == "", entry.model))
        return chosen

    def models(self) -> list[str]:
        """The models of the entries, each once, sorted; unknown ones left out."""
        return sorted({entry.model for entry in self.entries} - {""})

    def totals_per_day(self, *, emulated: bool = False) -> dict[date, float]:
        """Cost in USD per local day, newest day first; days with no known cost left out.

        Images from the API only, or with ``emulated`` those from the emulator (what they
        would cost, nothing billed): the two are never added together. A record that does
        not say (older sidecars) counts as the API's.
        """
        totals: dict[date, float] = {}
        for entry in self.entries:
            if entry.emulated is emulated and entry.cost is not None:
                day = entry.day  # a date made from a timestamp: only for the entries counted
                totals[day] = totals.get(day, 0.0) + entry.cost
        return totals

    def unknown_per_day(self, *, emulated: bool = False) -> dict[date, int]:
        """How many images of each local day :meth:`totals_per_day` left out: their cost is unknown.

        Unknown: a record that gives none, or one that is not a finite amount of at least 0.
        """
        counts: dict[date, int] = {}
        for entry in self.entries:
            if entry.emulated is emulated and entry.cost is None:
                day = entry.day
                counts[day] = counts.get(day, 0) + 1
        return counts

    def cached_thumbnails(self, entries: Sequence[Entry], size: int = 192, *,
                          deadline: float | None = None) -> list[Thumbnail | None]:
        """Each entry's thumbnail as kept on disk, else None: nothing decoded (:func:`.kept_thumbnails`).

        With a ``deadline`` (:func:`time.monotonic`), those not reached by then are left out.
        """
        return kept_thumbnails(self.folder, [(entry.name, entry.stamp) for entry in entries], size,
                               deadline=deadline)

    def thumbnail(self, entry: Entry, size: int = 192) -> Thumbnail:
        """The kept thumbnail, else one made (bounded decoding) and kept: :func:`.thumbnail_of`."""
        return thumbnail_of(self.folder, entry.name, size)

    def delete(self, entry: Entry) -> None:
        """Delete the image, its sidecar and its thumbnails, and drop it from :attr:`entries`.

        Raises
        ------
        OSError
            When the image cannot be deleted (a read-only folder); nothing else is then touched.
        """
        entry.path.unlink(missing_ok=True)  # first: once it is gone the image no longer shows
        entry.path.with_suffix(".json").unlink(missing_ok=True)
        for kind in COMPANIONS:  # an edit's mask and markup go with it
            (self.folder / companion_name(entry.name, kind)).unlink(missing_ok=True)
        forget_thumbnails(self.folder, entry.name)
        self.entries = [kept for kept in self.entries if kept.path != entry.path]

    def zip(self, entries: Sequence[Entry]) -> bytes:
        """A zip of each entry's image (stored: it is compressed already) and sidecar (deflated).

        Files deleted since the refresh, and links, are left out; each file goes in once.
        Made in memory: the gallery writes a large selection to a file with :meth:`zip_to`.
        """
        buffer = io.BytesIO()
        self.zip_to(entries, buffer)
        return buffer.getvalue()

    def zip_to(self, entries: Sequence[Entry], target: BinaryIO, *, limit: int = MAX_ZIP_BYTES,
               progress: Callable[[int, int], object] | None = None) -> int:
        """:meth:`zip`, written to ``target`` a bounded piece at a time; returns the bytes written.

        ``progress`` is called with (images done, images in all) after each image.

        Raises
        ------
        ZipTooLargeError
            When the selection holds more than ``limit`` bytes; nothing is written.
        """
        return write_zip(self.folder, [entry.name for entry in entries], target, limit=limit,
                         progress=progress)
