"""Where final images go on disk: every one written atomically, with a JSON sidecar.

Each image is saved under a name that sorts by time
(``YYYYMMDD-HHMMSS_<model>_<prompt-slug>_<short-id>.<ext>``) beside a sidecar
``<stem>.json`` holding its settings. The same settings also travel inside the
file, so an image copied away without its sidecar still tells them:

- PNG: an ``iTXt`` chunk, keyword ``imagewidgets``, before ``IEND``;
- JPEG: an XMP packet in an ``APP1`` segment after ``SOI`` (and ``APP0``);
- WEBP: an ``XMP`` chunk, the file made extended (``VP8X``) if it was simple;
- GIF: a comment extension after the global colour table, its text after ``imagewidgets:``;
- SVG: a ``<metadata id="imagewidgets">`` element first in the root.

Embedding works on the bytes: pixels are never decoded or encoded again, so it
is lossless and fast. Reading it back walks the same structures, bounded, and
never raises on junk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import html
import json
import os
import re
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

from .. import imaging
from ..errors import ImageDecodeError
from ..models import PRICES_READ_ON
from ..results import GeneratedImage

__all__ = [
    "DEFAULT_FOLDER",
    "DEFAULT_STORE",
    "ImageStore",
    "SavedImage",
    "download_name",
    "embed_metadata",
    "embedded_metadata",
    "image_name",
    "sidecar_record",
    "store_from",
]

DEFAULT_FOLDER = "imagewidgets-output"
"""The folder, in the kernel's working directory (the notebook's), used unless told otherwise."""
SIDECAR_VERSION = 1


# -- names ------------------------------------------------------------------------------------

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


# -- metadata inside the file -----------------------------------------------------------------

_KEYWORD = b"imagewidgets"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_XMP_NAMESPACE = b"http://ns.adobe.com/xap/1.0/\x00"  # what marks an APP1 segment as XMP
_JPEG_SEGMENT_ROOM = 65_535 - 2  # a segment's length field counts itself
_SETTINGS_OPEN, _SETTINGS_CLOSE = b"<imagewidgets:settings>", b"</imagewidgets:settings>"
_SVG_OPEN, _SVG_CLOSE = '<metadata id="imagewidgets">', "</metadata>"
# A GIF comment has no keyword: this prefix tells ours from another program's.
_GIF_PREFIX = b"imagewidgets:"
# Characters XML 1.0 forbids in text: dropped from what goes into XMP and SVG.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _xmp_packet(text: str) -> bytes:
    """An XMP packet holding ``text`` in one element of a namespace of ours."""
    # html.escape without quotes is xml.sax.saxutils.escape (& < >), which would import
    # urllib.request, http.client and email (~10 ms) with the panel.
    escaped = html.escape(_NOT_XML.sub("", text), quote=False)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:imagewidgets="urn:imagewidgets:ns:1/">'
        f"{_SETTINGS_OPEN.decode()}{escaped}{_SETTINGS_CLOSE.decode()}"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="r"?>'
    ).encode()


def _from_xmp(packet: bytes) -> str | None:
    start = packet.find(_SETTINGS_OPEN)
    end = packet.find(_SETTINGS_CLOSE, start)
    if start < 0 or end < 0:
        return None
    return html.unescape(packet[start + len(_SETTINGS_OPEN):end].decode("utf-8"))


def _png_chunks(data: bytes) -> list[tuple[int, bytes, bytes]]:
    """Where each chunk starts, its type and its data, up to ``IEND``; ``[]`` if not a PNG."""
    if not data.startswith(_PNG_SIGNATURE):
        return []
    chunks = []
    pos = 8
    while pos + 12 <= len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), data[pos + 4:pos + 8]
        if pos + 12 + length > len(data):
            break  # cut off: no part of a chunk is read
        chunks.append((pos, kind, data[pos + 8:pos + 8 + length]))
        if kind == b"IEND":
            break
        pos += 12 + length
    return chunks


def _embed_png(data: bytes, text: str) -> bytes:
    ends = [pos for pos, kind, _ in _png_chunks(data) if kind == b"IEND"]
    if not ends:
        return data
    # iTXt: keyword, NUL, not compressed (0, 0), no language, NUL, no translated keyword, NUL.
    body = b"iTXt" + _KEYWORD + b"\x00\x00\x00\x00\x00" + text.encode("utf-8", "replace")
    chunk = (len(body) - 4).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")
    return data[:ends[0]] + chunk + data[ends[0]:]


def _read_png(data: bytes) -> str | None:
    for _, kind, body in _png_chunks(data):
        keyword, _, rest = body.partition(b"\x00")
        if kind == b"iTXt" and keyword == _KEYWORD and rest[:2] == b"\x00\x00":
            _language, _, rest = rest[2:].partition(b"\x00")
            _translated, _, text = rest.partition(b"\x00")
            return text.decode("utf-8")
    return None


def _jpeg_xmp(data: bytes) -> bytes | None:
    """The XMP packet of a JPEG, from the segments before its first scan; None if none."""
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF and data[pos + 1] not in (0xDA, 0xD9):
        end = pos + 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
        if end > len(data):
            break  # cut off
        if data[pos + 1] == 0xE1 and data.startswith(_XMP_NAMESPACE, pos + 4):
            return data[pos + 4 + len(_XMP_NAMESPACE):end]
        pos = end
    return None


def _embed_jpeg(data: bytes, text: str) -> bytes:
    # A second XMP packet is not allowed: a JPEG that has one keeps it, and ours is not added.
    if not data.startswith(b"\xff\xd8") or _jpeg_xmp(data) is not None:
        return data
    payload = _XMP_NAMESPACE + _xmp_packet(text)
    if len(payload) > _JPEG_SEGMENT_ROOM:
        return data  # one segment holds ~64 KB; the store shortens the record before this
    pos = 2
    if data[2:4] == b"\xff\xe0":  # JFIF's APP0 must stay first
        pos = 4 + int.from_bytes(data[4:6], "big")
    if data[pos:pos + 1] != b"\xff" or pos + 4 > len(data):
        return data  # no marker where one must be: not a JPEG we understand
    segment = b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload
    return data[:pos] + segment + data[pos:]


def _read_jpeg(data: bytes) -> str | None:
    packet = _jpeg_xmp(data)
    return None if packet is None else _from_xmp(packet)


def _riff_chunks(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """A WEBP's chunks (type, data); None unless the RIFF size is the file's exactly."""
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP" or int.from_bytes(data[4:8], "little") + 8 != len(data):
        return None
    chunks = []
    pos = 12
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos + 4:pos + 8], "little")
        if pos + 8 + size > len(data):
            return None  # a chunk runs past the end
        chunks.append((data[pos:pos + 4], data[pos + 8:pos + 8 + size]))
        pos += 8 + size + (size & 1)  # odd chunks are padded to even length
    return chunks


def _riff_chunk(kind: bytes, body: bytes) -> bytes:
    return kind + len(body).to_bytes(4, "little") + body + b"\x00" * (len(body) & 1)


def _embed_webp(data: bytes, text: str) -> bytes:
    chunks = _riff_chunks(data)
    if not chunks or any(kind == b"XMP " for kind, _ in chunks):
        return data  # not a WEBP we understand, or one that has its own XMP (only one is allowed)
    head = data[:12]
    kind, first = chunks[0]
    if kind == b"VP8X":
        # Flag 0x04: an XMP chunk follows.
        head += _riff_chunk(b"VP8X", bytes([first[0] | 0x04]) + first[1:])
        rest = data[12 + 8 + len(first) + (len(first) & 1):]
    elif kind in (b"VP8 ", b"VP8L"):
        # A simple file cannot hold metadata: made extended, its image chunk kept as it is.
        try:
            _, width, height = imaging.inspect(data)
        except ImageDecodeError:
            return data
        # VP8L says whether it uses alpha (bit 28 after its signature byte); VP8 has none.
        alpha = kind == b"VP8L" and len(first) >= 5 and first[4] & 0x10
        canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
        head += _riff_chunk(b"VP8X", bytes([0x04 | (0x10 if alpha else 0), 0, 0, 0]) + canvas)
        rest = data[12:]
    else:
        return data
    body = head[8:] + rest + _riff_chunk(b"XMP ", _xmp_packet(text))
    return b"RIFF" + len(body).to_bytes(4, "little") + body


def _read_webp(data: bytes) -> str | None:
    for kind, body in _riff_chunks(data) or []:
        if kind == b"XMP ":
            return _from_xmp(body)
    return None


def _gif_start(data: bytes) -> int:
    """Where the blocks after a GIF's screen descriptor and global colour table start; 0 if no GIF."""
    if data[:6] not in (b"GIF87a", b"GIF89a") or len(data) < 14:
        return 0
    packed = data[10]
    start = 13 + (3 << ((packed & 0x07) + 1) if packed & 0x80 else 0)
    return start if start < len(data) else 0


def _embed_gif(data: bytes, text: str) -> bytes:
    pos = _gif_start(data)
    if not pos:
        return data
    comment = _GIF_PREFIX + text.encode("utf-8", "replace")
    blocks = b"".join(bytes([len(part)]) + part
                      for part in (comment[at:at + 255] for at in range(0, len(comment), 255)))
    # The comment extension is GIF89a's: a GIF87a that gets one says 89a.
    header = b"GIF89a" + data[6:pos]
    return header + b"\x21\xfe" + blocks + b"\x00" + data[pos:]


def _read_gif(data: bytes) -> str | None:
    """Our comment, from the extensions before the first frame (where it is put)."""
    pos = _gif_start(data)
    while pos and pos + 2 <= len(data) and data[pos] == 0x21:
        label, pos = data[pos + 1], pos + 2
        parts = []
        while size := data[pos]:
            parts.append(data[pos + 1:pos + 1 + size])
            pos += size + 1
        pos += 1
        text = b"".join(parts)
        if label == 0xFE and text.startswith(_GIF_PREFIX):
            return text[len(_GIF_PREFIX):].decode("utf-8")
    return None


def _svg_root_end(data: bytes) -> tuple[str, int, int] | None:
    """The SVG's text, where its root start tag ends in it, and the bytes before the text (a BOM)."""
    try:
        text = imaging.svg_text(data)
        _attributes, closed, end = imaging.svg_root(text)
    except ImageDecodeError:
        return None
    # A self-closed root has no inside to put an element in: such an SVG is left as it is.
    return None if closed else (text, end, 3 if data.startswith(b"\xef\xbb\xbf") else 0)


def _embed_svg(data: bytes, text: str) -> bytes:
    found = _svg_root_end(data)
    if found is None:
        return data
    source, end, bom = found
    at = bom + len(source[:end].encode("utf-8"))
    escaped = html.escape(_NOT_XML.sub("", text), quote=False)  # & < >, as in _xmp_packet
    element = f"{_SVG_OPEN}{escaped}{_SVG_CLOSE}".encode("utf-8", "replace")
    if len(data) + len(element) > imaging.MAX_SVG_BYTES:
        return data  # it would no longer open as an image here
    return data[:at] + element + data[at:]


def _read_svg(data: bytes) -> str | None:
    found = _svg_root_end(data)
    if found is None or not found[0].startswith(_SVG_OPEN, found[1]):
        return None
    source, end, _ = found
    close = source.find(_SVG_CLOSE, end)
    return html.unescape(source[end + len(_SVG_OPEN):close]) if close >= 0 else None


_EMBED = {"png": _embed_png, "jpeg": _embed_jpeg, "webp": _embed_webp, "gif": _embed_gif,
          "svg": _embed_svg}
_READ = {"png": _read_png, "jpeg": _read_jpeg, "webp": _read_webp, "gif": _read_gif, "svg": _read_svg}


def embed_metadata(data: bytes, format: str, text: str) -> bytes:
    """``data`` with ``text`` inside it, the image itself untouched (see the module's text).

    Parameters
    ----------
    data : bytes
        An encoded image.
    format : str
        ``png``, ``jpeg``, ``webp``, ``gif`` or ``svg``.
    text : str
        What to embed; in XMP and SVG, characters XML forbids are dropped.

    Returns
    -------
    bytes
        The image with the text added, or ``data`` unchanged when it cannot be
        added: an unknown format or structure, a JPEG or WEBP with XMP of its own,
        a JPEG packet over one segment (~64 KB), a self-closed SVG root.
    """
    embed = _EMBED.get(format)
    return embed(data, text) if embed else data


def embedded_metadata(data: bytes, format: str) -> str | None:
    """The text :func:`embed_metadata` put in ``data``; None when there is none or on junk."""
    read = _READ.get(format)
    try:
        return read(data) if read else None
    except (IndexError, ValueError):  # junk: cut off, or not UTF-8 (UnicodeDecodeError)
        return None


# -- the store ----------------------------------------------------------------------------------

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


def _holds_key(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("sk-") or "Bearer " in value
    if isinstance(value, dict):
        return any(_holds_key(key) or _holds_key(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_holds_key(item) for item in value)
    return False


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` at ``path`` whole or not at all: a temporary file, then a rename.

    The temporary file's name starts with ``.`` and ends with ``.tmp``, so a
    listing of images skips it; on any error it is removed and the error raised.
    """
    temporary = path.with_name(f".{path.name}.{uuid4().hex[:8]}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0),
                         0o666)  # the umask applies, as to any file the user makes
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it visible
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@dataclass(frozen=True)
class SavedImage:
    """Where :meth:`ImageStore.save` put an image and its sidecar."""

    path: Path
    sidecar: Path


class ImageStore:
    """Every final image on disk, written atomically, with a JSON sidecar and its settings embedded.

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

    def __repr__(self) -> str:
        return f"ImageStore(folder={str(self.folder)!r})"

    def save(self, image: GeneratedImage, record: Mapping[str, Any], *,
             when: float | None = None) -> SavedImage:
        """Write ``image`` and its sidecar, each atomically; both or neither are left.

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

        Raises
        ------
        ValueError
            When the record holds what looks like an API key; nothing is written.
        OSError
            When the folder or a file cannot be written; nothing is left behind.
        """
        plain = json.loads(json.dumps(record, default=_plain))  # what will be written, checked
        if _holds_key(plain):
            raise ValueError("the record holds what looks like an API key; nothing was written")
        when = time.time() if when is None else when
        params = record.get("params")
        params = params if isinstance(params, Mapping) else image.params
        prompt, model = str(params.get("prompt") or ""), str(params.get("model") or "")
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:  # a taken name (same second, same id) is never overwritten: a new id
            path = self.folder / image_name(prompt, model, when, uuid4().hex[:8], image.extension)
            sidecar = path.with_suffix(".json")
            if not path.exists() and not sidecar.exists():
                break
        facts = {
            "version": SIDECAR_VERSION,
            "file": path.name,
            "format": image.format,
            "width": image.width,
            "height": image.height,
            "bytes": len(image.data),  # as the server sent it: the file also holds the metadata
            "saved_at": datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds"),
        }
        # The file's facts come first and the record cannot change them.
        content = facts | {key: value for key, value in plain.items() if key not in facts}
        data = image.data
        if self.embed_metadata:
            text = _json_text(content, separators=(",", ":"))
            if image.format == "jpeg" and len(_XMP_NAMESPACE + _xmp_packet(text)) > _JPEG_SEGMENT_ROOM:
                # One JPEG segment holds ~64 KB: the revised prompt, the longest part, is left
                # out (the sidecar keeps it); if still too long, nothing is embedded.
                text = _json_text({key: value for key, value in content.items()
                                   if key != "revised_prompt"}, separators=(",", ":"))
            data = embed_metadata(data, image.format, text)
        _write_atomically(path, data)
        try:
            _write_atomically(sidecar, (_json_text(content, indent=1) + "\n").encode("utf-8"))
        except BaseException:
            # Both or neither: a retry after a warning must not leave a second copy.
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        return SavedImage(path, sidecar)

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
                   place: Mapping[str, Any] | None = None) -> dict[str, Any]:
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
    """
    return {
        "params": dict(image.params),
        "revised_prompt": image.revised_prompt,
        "usage": dataclasses.asdict(image.usage) if image.usage else None,
        "cost": {"estimated": estimated, "actual": cost, "prices_read_on": PRICES_READ_ON.isoformat()},
        "timings": {"seconds": seconds, "created": image.created},
        "request_id": image.request_id,
        "server": dict(server) if server else None,
        "place": dict(place) if place else None,
    }
