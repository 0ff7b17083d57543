"""Settings inside an image file, so one copied away without its sidecar still tells them.

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

import html
import re
import zlib

from .. import imaging
from ..errors import ImageDecodeError

__all__ = ["embed_metadata", "embedded_metadata", "fits_in_jpeg"]

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


def fits_in_jpeg(text: str) -> bool:
    """Whether ``text``, as an XMP packet, fits in the one JPEG segment that holds it (~64 KB)."""
    return len(_XMP_NAMESPACE + _xmp_packet(text)) <= _JPEG_SEGMENT_ROOM


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

