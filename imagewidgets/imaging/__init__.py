"""Pillow, bounded: untrusted image bytes checked, thumbnails made of them, contact sheets.

- :mod:`.untrusted`: format, size and completeness of bytes from a server, nothing decoded;
- :mod:`.thumbnails`: small images for tiles and the gallery, on one worker thread;
- :mod:`.contact_sheet`: a grid of results drawn as one labelled PNG;
- :mod:`.svg`: an SVG's safe copy, for files a browser may open.
"""

from .contact_sheet import (
    SHEET_GAP as SHEET_GAP,
    SHEET_LABEL_WIDTH as SHEET_LABEL_WIDTH,
    SheetCell as SheetCell,
    SheetFile as SheetFile,
    contact_sheet as contact_sheet,
    sheet_png as sheet_png,
)
from .svg import SafeSvg as SafeSvg, sanitise_svg as sanitise_svg
from .thumbnails import (
    Thumbnail as Thumbnail,
    on_thumbnail_thread as on_thumbnail_thread,
    thumbnail as thumbnail,
    thumbnail_off_loop as thumbnail_off_loop,
)
from .untrusted import (
    MAX_BASE64_CHARS as MAX_BASE64_CHARS,
    MAX_PIXELS as MAX_PIXELS,
    MAX_SIDE as MAX_SIDE,
    MAX_SVG_BYTES as MAX_SVG_BYTES,
    decode_base64 as decode_base64,
    inspect as inspect,
    inspect_off_loop as inspect_off_loop,
    svg_root as svg_root,
    svg_text as svg_text,
)
