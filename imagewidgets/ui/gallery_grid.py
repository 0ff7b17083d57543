"""The gallery's items: one front-end widget draws every image shown, its caption and its buttons.

A widget per item (image, caption, checkbox, five buttons, their layouts) cost about 21
widget models and 5.7 ms of the kernel's time each: a page of 24 took 280 times as long
as reading its 24 cached thumbnails. Here the items are one list of text in one widget's
state; their thumbnails go to the browser as binary buffers in messages (never base64), a
page's worth at a time, and again to a view that asks (a reload, a second view). So they
are not in a saved notebook's widget state: the images are on disk, and a gallery shows
them again when its cell runs. A click comes back as a message naming the action and the
image. Every string is set as text in the browser (``gallery.js``), never as HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anywidget
import traitlets

from ..imaging import Thumbnail
from ..storage import Entry
from .captions import dollars
from .frontend import esm

__all__ = ["ACTIONS", "GalleryGrid", "GalleryItem", "alt_text", "caption_text"]

_ESM = esm("gallery.js")
ACTIONS = ("open", "download", "use", "delete")
"""What the browser asks of an item; Delete only once confirmed there."""
PER_MESSAGE = 24
"""Most thumbnails sent in one message."""
_ALT_PROMPT = 250
"""Most characters of the prompt read out as alt text: the rest is in the file's settings."""


def _texts(entry: Entry) -> tuple[str, str]:
    """The caption and the alt text: one reading of the record for both (24 a page)."""
    params = entry.record.get("params")
    quality, size = (params.get("quality"), params.get("size")) if isinstance(params, dict) else (None, None)
    settings = [entry.model] if entry.model else []
    if isinstance(quality, str) and quality:
        settings.append(f"{quality} quality")
    if isinstance(size, str) and size:
        settings.append(size)
    # isoformat, not strftime("%Y-%m-%d %H:%M"): the same text in a tenth of the time (24 a page).
    when = datetime.fromtimestamp(entry.created).isoformat(" ", "minutes")
    facts = [*settings, when]
    cost = dollars(entry.cost)
    if cost is not None:
        facts.append(cost)
    prompt = entry.prompt
    if prompt:
        facts.append(prompt if len(prompt) <= 60 else prompt[:59] + "…")
    told = prompt if len(prompt) <= _ALT_PROMPT else prompt[:_ALT_PROMPT - 1] + "…"
    settings.append(f"saved {when}")
    return " · ".join(facts), f"{told or f'image {entry.name}'} — {', '.join(settings)}"


def caption_text(entry: Entry) -> str:
    """``gpt-image-1 · low quality · 1024x1024 · 2026-11-25 14:22 · $0.011 · A lighthouse…``."""
    return _texts(entry)[0]


def alt_text(entry: Entry) -> str:
    """What the image is for someone who cannot see it: its prompt, then the caption's facts."""
    return _texts(entry)[1]


@dataclass(eq=False)
class GalleryItem:
    """One saved image shown: its entry, and its thumbnail once made.

    Attributes
    ----------
    entry : Entry
        The saved image.
    thumbnail : Thumbnail or None
        None while it is being made, or when it cannot be (see ``unreadable``).
    unreadable : bool
        The image is broken, too large or gone: "unreadable image" shows in its place.
    caption, alt : str
        As shown under the image, and as its ``alt`` text.
    key : str
        Names the image as it is now: a file replaced gets a new key, and a new thumbnail.
    """

    entry: Entry
    thumbnail: Thumbnail | None = None
    unreadable: bool = False
    # Made with the item: every item made is shown (and a cached_property takes a lock per read).
    caption: str = field(init=False, repr=False)
    alt: str = field(init=False, repr=False)
    key: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.caption, self.alt = _texts(self.entry)
        self.key = f"{self.entry.name}:{self.entry.stamp}"

    @property
    def state(self) -> str:
        """``loading``, ``shown`` or ``unreadable``."""
        return "unreadable" if self.unreadable else "loading" if self.thumbnail is None else "shown"

    def shown(self) -> dict[str, str]:
        """What the browser draws of it, but the thumbnail (sent apart)."""
        return {"name": self.entry.name, "key": self.key, "caption": self.caption, "alt": self.alt}

    def __repr__(self) -> str:
        return f"GalleryItem({self.entry.name!r}, {self.state})"


class GalleryGrid(anywidget.AnyWidget):
    """Every item of the gallery shown, in one widget; clicks come back to ``on_action``.

    What is shown goes to the browser in messages, a page at a time (a trait would send every
    item again with each page): the items' text, then their thumbnails as they arrive. A view
    drawn anew (a reload, a second view) asks for all of it again.

    Parameters
    ----------
    on_action : callable
        Called with (action, image name) when an item's Open, Download, Use settings or
        confirmed Delete is clicked; action is one of :data:`ACTIONS`.
    """

    _esm = traitlets.Unicode(_ESM).tag(sync=True)
    _anywidget_id = traitlets.Unicode(f"{__module__}.GalleryGrid").tag(sync=True)
    selected = traitlets.List(traitlets.Unicode(), help="The names of the ticked images.").tag(sync=True)
    side = traitlets.Int(160, help="A thumbnail's longest side, in CSS pixels.").tag(sync=True)
    can_use = traitlets.Bool(False, help="Whether Use settings shows.").tag(sync=True)

    def __init__(self, on_action: Callable[[str, str], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_action = on_action
        self.shown: list[GalleryItem] = []
        """The items drawn, in order."""
        self._drawn = 0
        self.on_msg(self._on_message)

    def show(self, items: Sequence[GalleryItem], start: int = 0) -> None:
        """Draw ``items``, in order: those before ``start`` are drawn already, as they were.

        Their thumbnails (those made) go too; ticks of images no longer shown are dropped.
        """
        start = min(start, self._drawn)  # an earlier page still being read is not drawn yet
        self.shown = list(items)
        self._drawn = len(self.shown)
        added = self.shown[start:]
        self.send({"event": "items", "start": start, "items": [item.shown() for item in added]})
        self.arrived(added)
        if start == 0:
            names = {item.entry.name for item in items}
            self.selected = [name for name in self.selected if name in names]

    def arrived(self, items: Sequence[GalleryItem]) -> None:
        """Send the thumbnails of ``items`` that have one, and say which cannot be shown."""
        ready = [(item.key, item.thumbnail) for item in items if item.thumbnail is not None]
        for at in range(0, len(ready), PER_MESSAGE):
            part = ready[at:at + PER_MESSAGE]
            self.send({"event": "thumbnails", "keys": [key for key, _ in part],
                       "formats": [thumb.format for _, thumb in part]},
                      buffers=[thumb.data for _, thumb in part])
        broken = [item.key for item in items if item.unreadable]
        if broken:
            self.send({"event": "unreadable", "keys": broken})

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        if content.get("event") == "ready":  # a view drawn anew has none of it
            self.show(self.shown, 0)
        elif content.get("event") in ACTIONS and isinstance(content.get("name"), str):
            self._on_action(content["event"], content["name"])

    def __repr__(self) -> str:
        return f"GalleryGrid(shown={len(self.shown)})"
