"""Where final images go on disk: every one written atomically, with a JSON sidecar.

Each image is saved under a name that sorts by time (:func:`~imagewidgets.naming.image_name`)
beside a sidecar ``<stem>.json`` holding its settings. The same settings also
travel inside the file (:mod:`.metadata`), so an image copied away without its
sidecar still tells them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from ..files import STALE_AFTER, publish, stale_temporaries, sync_folder, temporary_target, write_temporary
from ..imaging import sanitise_svg
from ..keys import holds_key, known_keys
from ..models import PRICES_READ_ON
from ..naming import image_name
from ..results import GeneratedImage
from .metadata import embed_metadata, embedded_metadata, fits_in_jpeg

__all__ = [
    "DEFAULT_FOLDER",
    "DEFAULT_STORE",
    "ImageStore",
    "SavedImage",
    "StoreChoice",
    "sidecar_record",
    "store_from",
]

DEFAULT_FOLDER = "imagewidgets-output"
"""The folder, in the kernel's working directory (the notebook's), used unless told otherwise."""
SIDECAR_VERSION = 1


def _json_text(value: Any, **options: Any) -> str:
    """JSON that encodes to UTF-8 and goes into XML: lone surrogates (which UTF-8 cannot
    carry) and U+FFFE/U+FFFF (which XML forbids) are written as ``\\uXXXX`` escapes. They
    can only stand in strings, where the escape reads back as the same character."""
    text = json.dumps(value, ensure_ascii=False, **options)
    return re.sub("[\ud800-\udfff\ufffe\uffff]", lambda found: f"\\u{ord(found.group()):04x}", text)


def _plain(value: Any) -> Any:
    """What JSON cannot write as it is: a dataclass (``Usage``) as its fields, else its text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def _holds_key(value: Any, secrets: tuple[str, ...]) -> bool:
    """Whether any text in the JSON ``value``, its keys included, holds an API key."""
    if isinstance(value, str):
        return holds_key(value, secrets)
    if isinstance(value, dict):
        return any(_holds_key(key, secrets) or _holds_key(item, secrets) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_key(item, secrets) for item in value)
    return False


COMPANIONS = ("mask", "markup")
"""Files an edit keeps beside its image, as ``<stem>.mask.png`` / ``<stem>.markup.png``."""


def companion_name(image_name: str, kind: str) -> str:
    """The file name of ``kind`` (a :data:`COMPANIONS` entry) kept beside ``image_name``."""
    return f"{image_name.rpartition('.')[0] or image_name}.{kind}.png"


@dataclass(frozen=True)
class SavedImage:
    """Where :meth:`ImageStore.save` put an image and its sidecar.

    Path-like (the image's path): an edit reads it as its input, its sidecar naming it
    as the parent.
    """

    path: Path
    sidecar: Path

    def __fspath__(self) -> str:
        return os.fspath(self.path)


class ImageStore:
    """Every final image on disk, written atomically, with a JSON sidecar and its settings embedded.

    Opening a folder that exists finishes or removes what saves killed there left
    behind (see :meth:`tidy`).

    Parameters
    ----------
    folder : str or path, optional
        Where images go; made (with its parents) on the first save. By default
        ``$IMAGEWIDGETS_DIR`` if set, else :data:`DEFAULT_FOLDER` in the working
        directory, which in a kernel is the notebook's folder.
    embed_metadata : bool
        Whether the settings also go inside each image file; the sidecar is written either way.
    """

    def __init__(self, folder: str | os.PathLike[str] | None = None, *,
                 embed_metadata: bool = True) -> None:
        if folder is None:
            folder = os.environ.get("IMAGEWIDGETS_DIR") or Path.cwd() / DEFAULT_FOLDER
        self.folder = Path(folder).expanduser()
        self.embed_metadata = embed_metadata
        self.tidy()

    def __repr__(self) -> str:
        return f"ImageStore(folder={str(self.folder)!r})"

    def tidy(self, older_than: float = STALE_AFTER) -> int:
        """Finish or remove the temporaries that killed saves left; return how many there were.

        Only this module's hidden temporaries (``.<name>.<8 hex>.tmp``) last written more
        than ``older_than`` seconds ago are touched (:data:`~imagewidgets.files.STALE_AFTER`).
        An image whose sidecar was already published is published too, completing
        the pair (it was billed); any other is removed. A folder that cannot be
        listed or written to is left as it is.
        """
        try:
            stale = stale_temporaries(self.folder, older_than)
        except OSError:  # no folder yet, or not one
            return 0
        for temporary in stale:
            target = self.folder / (temporary_target(temporary.name) or "")
            with contextlib.suppress(OSError):
                # An image whose sidecar names it was whole before that sidecar was published.
                if target.suffix != ".json" and not target.exists() and \
                        (self.read(target) or {}).get("file") == target.name:
                    publish(temporary, target)
            with contextlib.suppress(OSError):
                temporary.unlink()
        if stale:
            sync_folder(self.folder)
        return len(stale)

    def save(self, image: GeneratedImage, record: Mapping[str, Any], *,
             when: float | None = None, secrets: Iterable[str] = (),
             beside: Mapping[str, bytes] | None = None) -> SavedImage:
        """Write ``image`` and its sidecar; both or neither are left, even after a crash.

        Both are written to hidden temporaries and fsynced, then published: the
        sidecar first, then the image, each under a name no file has (never
        overwriting another writer's), then the folder is fsynced. A kill before the
        image is published leaves nothing the gallery shows; :meth:`tidy` finishes
        or removes the rest.

        Parameters
        ----------
        image : GeneratedImage
            Its bytes are written as the server sent them, plus the embedded settings.
        record : mapping
            What the sidecar holds beside the file's facts: params, revised_prompt,
            usage, cost, timings, request_id, server, place. Its ``params`` give the
            name's prompt and model (else ``image.params``).
        when : float, optional
            The time in the name and ``saved_at``; now by default.
        secrets : iterable of str
            Keys the caller knows (its client's), refused wherever they appear, as is
            ``$OPENAI_API_KEY`` and anything shaped like a key (:mod:`imagewidgets.keys`).
        beside : mapping of str to bytes, optional
            An edit's ``mask`` and ``markup`` PNGs (:data:`COMPANIONS`), written first beside
            the image as ``<stem>.mask.png``, named in the sidecar; not listed as images.

        Raises
        ------
        ValueError
            When the record holds an API key, or an SVG cannot be made safe (not
            well-formed XML, a DOCTYPE); nothing is written.
        OSError
            When the folder or a file cannot be written; nothing is left behind.
        """
        plain = json.loads(json.dumps(record, default=_plain))  # what will be written, checked
        if _holds_key(plain, known_keys(secrets)):
            raise ValueError("the record holds what looks like an API key; nothing was written")
        extras = dict(beside or {})
        if unknown := sorted(set(extras) - set(COMPANIONS)):
            raise ValueError(f"beside {unknown[0]!r} is not kept; choose {' or '.join(COMPANIONS)}")
        when = time.time() if when is None else when
        params = record.get("params")
        params = params if isinstance(params, Mapping) else image.params
        prompt, model = str(params.get("prompt") or ""), str(params.get("model") or "")
        # Opened from the folder, an SVG is a document that runs its scripts: the saved copy keeps
        # only what is safe, the sidecar says what went (image.data keeps the server's bytes).
        safe = sanitise_svg(image.data) if image.format == "svg" else None
        removed = list(safe.removed) if safe else None
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:  # a taken name (same second, same id) is never overwritten: a new id
            path = self.folder / image_name(prompt, model, when, uuid4().hex[:8], image.extension)
            sidecar = path.with_suffix(".json")
            if path.exists() or sidecar.exists():
                continue  # taken already: no need to write anything to find out
            kept = {self.folder / companion_name(path.name, kind): data
                    for kind, data in extras.items()}
            if any(companion.exists() for companion in kept):
                continue
            named = {kind: companion_name(path.name, kind) for kind in extras}
            content = self._content(image, path, when, {**plain, **named}, removed)
            data = safe.data if safe else image.data
            if self.embed_metadata:
                data = embed_metadata(data, image.format, self._embedded(image, content))
            text = (_json_text(content, indent=1) + "\n").encode("utf-8")
            if self._publish_pair(path, data, sidecar, text, kept):
                return SavedImage(path, sidecar)

    @staticmethod
    def _content(image: GeneratedImage, path: Path, when: float, plain: dict[str, Any],
                 svg_removed: list[str] | None) -> dict[str, Any]:
        facts = {
            "version": SIDECAR_VERSION,
            "file": path.name,
            "format": image.format,
            "width": image.width,
            "height": image.height,
            "bytes": len(image.data),  # as the server sent it: the file also holds the metadata
            "saved_at": datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds"),
            "id": uuid4().hex,  # what an edit of it names as its parent, with the file
            **({"svg_sanitised": svg_removed} if svg_removed is not None else {}),
        }
        # The file's facts come first and the record cannot change them.
        return facts | {key: value for key, value in plain.items() if key not in facts}

    @staticmethod
    def _embedded(image: GeneratedImage, content: dict[str, Any]) -> str:
        text = _json_text(content, separators=(",", ":"))
        if image.format == "jpeg" and not fits_in_jpeg(text):
            # One JPEG segment holds ~64 KB: the revised prompt, the longest part, is left
            # out (the sidecar keeps it); if still too long, nothing is embedded.
            text = _json_text({key: value for key, value in content.items()
                               if key != "revised_prompt"}, separators=(",", ":"))
        return text

    def _publish_pair(self, path: Path, data: bytes, sidecar: Path, text: bytes,
                      companions: Mapping[Path, bytes]) -> bool:
        """Write all whole, then publish the companions, the sidecar and the image; False
        (nothing of ours left) when another writer took a name in between."""
        temporaries: list[Path] = []
        published: list[Path] = []
        try:
            temporaries.append(write_temporary(path, data))
            temporaries.append(write_temporary(sidecar, text))
            temporaries += [write_temporary(companion, extra) for companion, extra in companions.items()]
            # Companions, then the sidecar: the gallery lists images, so until the image is
            # published nothing shows, and once it is, its record and mask are there.
            try:
                for temporary, target in zip(temporaries[2:], companions, strict=True):
                    publish(temporary, target)
                    published.append(target)
                publish(temporaries[1], sidecar)
                published.append(sidecar)
                publish(temporaries[0], path)
            except BaseException as error:
                # All or nothing: a retry after a warning must not leave a second record.
                for target in published:
                    with contextlib.suppress(OSError):
                        target.unlink()
                if isinstance(error, FileExistsError):
                    return False
                raise
        finally:
            for temporary in temporaries:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
        sync_folder(self.folder)
        return True

    def read(self, path: str | os.PathLike[str]) -> dict[str, Any] | None:
        """The settings of a saved image: its sidecar's, else those embedded in it, else None."""
        path = Path(path)
        extension = path.suffix[1:].lower()
        try:
            found = json.loads(path.with_suffix(".json").read_bytes())
            if isinstance(found, dict):
                return found
        except (OSError, ValueError):  # missing, unreadable, or not JSON: the file may tell
            pass
        try:
            text = embedded_metadata(path.read_bytes(), "jpeg" if extension == "jpg" else extension)
            found = json.loads(text) if text is not None else None
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None


class _DefaultStore:
    """The ``store=`` default: an :class:`ImageStore` in the default folder, made when needed."""

    def __repr__(self) -> str:
        return "DEFAULT_STORE"


DEFAULT_STORE = _DefaultStore()
"""``store=`` left out: images go to the default folder (``None`` keeps nothing on disk)."""

StoreChoice = ImageStore | str | os.PathLike[str] | _DefaultStore | None
"""What ``store=`` takes: a store, a folder, the default, or None for nothing on disk."""


def store_from(choice: StoreChoice) -> ImageStore | None:
    """The store ``store=`` asks for: a folder becomes an :class:`ImageStore`; None stays None."""
    if choice is None or isinstance(choice, ImageStore):
        return choice
    if isinstance(choice, _DefaultStore):
        return ImageStore()
    if isinstance(choice, (str, os.PathLike)):
        return ImageStore(choice)
    raise TypeError(f"store must be an ImageStore, a folder or None, not {type(choice).__name__}")


def sidecar_record(image: GeneratedImage, *, cost: float | None, estimated: float | None,
                   seconds: float | None, server: Mapping[str, Any] | None,
                   place: Mapping[str, Any] | None = None,
                   parents: Sequence[Mapping[str, Any]] | None = None) -> dict[str, Any]:
    """What a sidecar holds beside the file's own facts; built from the request, never the key.

    Parameters
    ----------
    cost, estimated : float or None
        Dollars: actual (from the usage reported) and estimated before sending.
    seconds : float or None
        How long the server took.
    server : mapping or None
        ``{"host": ..., "emulator": ...}``: the host only, never a URL's userinfo.
    place : mapping or None
        Where in a grid: its title, row, column and sample.
    parents : sequence of mappings, optional
        For an edit, each input image (``EditInputs.parents``): a saved image's
        ``{"file", "id"}``, else ``{"file": None, "name": ...}``; the record then says
        ``"endpoint": "edits"``.
    """
    return {
        "endpoint": "generations" if parents is None else "edits",
        **({} if parents is None else {"parents": [dict(parent) for parent in parents]}),
        "params": dict(image.params),
        "revised_prompt": image.revised_prompt,
        "usage": dataclasses.asdict(image.usage) if image.usage else None,
        "cost": {"estimated": estimated, "actual": cost, "prices_read_on": PRICES_READ_ON.isoformat()},
        "timings": {"seconds": seconds, "created": image.created},
        "request_id": image.request_id,
        "server": dict(server) if server else None,
        "place": dict(place) if place else None,
    }
