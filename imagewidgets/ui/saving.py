"""Writing a tile's final image to its store: once, through a cancel, a failure shown with Retry save."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Mapping
from typing import Any

import ipywidgets as widgets

from ..results import GeneratedImage
from ..storage import ImageStore, SavedImage

__all__ = ["Saving"]


class Saving:
    """A tile's writes of its final image.

    A write once started finishes even when the tile's task is cancelled meanwhile
    (the image is billed and made: it is kept, never left on disk unshown). An image
    saved is never written again, nor written twice at once. A failed write is said
    in a note, with "Retry save" (both made on first use, placed by ``insert``).

    Attributes
    ----------
    saved : SavedImage or None
        Where the image was written, once it was.
    error : Exception or None
        Why the last write failed.
    """

    def __init__(self, insert: Callable[[widgets.Widget, int], None],
                 retry: Callable[[], None]) -> None:
        self.saved: SavedImage | None = None
        self.error: Exception | None = None
        self._insert, self._retry = insert, retry
        self._row: tuple[widgets.HTML, widgets.Button] | None = None
        self._writing: asyncio.Future[SavedImage] | None = None  # the write under way, if any
        self._retrying: asyncio.Task[bool] | None = None  # held: the loop keeps weak references

    def row(self) -> tuple[widgets.HTML, widgets.Button]:
        """The note and Retry save, made together the first time either is asked for."""
        if self._row is None:
            note = widgets.HTML("")
            note.add_class("iw-save-note")
            button = widgets.Button(description="Retry save", icon="save",
                                    tooltip="Write this image to disk again",
                                    layout=widgets.Layout(width="auto", display="none"))
            button.add_class("iw-retry-save")
            button.on_click(lambda _button: self._retry())
            self._insert(note, -1)  # between the caption and the actions
            self._insert(button, -1)
            self._row = (note, button)
        return self._row

    async def write(self, store: ImageStore, image: GeneratedImage,
                    record: Mapping[str, Any]) -> bool:
        """Write ``image`` and ``record`` to ``store`` on a worker thread, unless saved or
        being written already. True when a cancel came meanwhile: raise it once shown."""
        if self.saved is not None or (self._writing is not None and not self._writing.done()):
            return False
        self._writing = writing = asyncio.ensure_future(asyncio.to_thread(store.save, image, record))
        interrupted = False
        while not writing.done():  # a thread cannot be stopped: wait for it, however cancelled
            try:
                await asyncio.wait([writing])  # its failure is read below, not raised here
            except asyncio.CancelledError:
                interrupted = True
        try:
            self.saved = writing.result()
        except (OSError, ValueError) as error:  # a full disk, a read-only folder
            self.error = error
            note, button = self.row()
            note.value = (f'<span class="iw-error">not saved to {html.escape(str(store.folder))}: '
                          f"{html.escape(str(error))}. The image is still here: Download it, or "
                          "Retry save.</span>")
            button.layout.display = "flex"
        else:
            self.error = None
            if self._row is not None:  # it failed before
                note, button = self._row
                note.value = ""
                button.layout.display = "none"
        return interrupted

    def retry(self, store: ImageStore, image: GeneratedImage, record: Mapping[str, Any]) -> None:
        """Write again after a failure, on the running loop (or now, in a script)."""
        if self.saved is not None:
            return
        try:
            self._retrying = asyncio.get_running_loop().create_task(self.write(store, image, record))
        except RuntimeError:  # no loop here (a script): save in this thread
            asyncio.run(self.write(store, image, record))
