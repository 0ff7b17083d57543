"""Writing a tile's final image to its store: once, through a cancel, a failure said with Retry save."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Mapping
from typing import Any

from ..results import GeneratedImage
from ..storage import ImageStore, SavedImage

__all__ = ["Saving"]


class Saving:
    """A tile's writes of its final image.

    A write once started finishes even when the tile's task is cancelled meanwhile
    (the image is billed and made: it is kept, never left on disk unshown). An image
    saved is never written again, nor written twice at once. After each write,
    ``changed`` is called: the tile shows :attr:`note` and offers "Retry save" while
    :attr:`error` is set, and learns of :attr:`saved`.

    Attributes
    ----------
    saved : SavedImage or None
        Where the image was written, once it was.
    error : Exception or None
        Why the last write failed.
    note : str
        Why, as escaped HTML for the tile; empty once saved.
    """

    def __init__(self, changed: Callable[[], None]) -> None:
        self.saved: SavedImage | None = None
        self.error: Exception | None = None
        self.note = ""
        self._changed = changed
        self._writing: asyncio.Future[SavedImage] | None = None  # the write under way, if any
        self._retrying: asyncio.Task[bool] | None = None  # held: the loop keeps weak references

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
            self.note = (f'<span class="iw-error">not saved to {html.escape(str(store.folder))}: '
                         f"{html.escape(str(error))}. The image is still here: Download it, or "
                         "Retry save.</span>")
        else:
            self.error, self.note = None, ""
        self._changed()
        return interrupted

    def retry(self, store: ImageStore, image: GeneratedImage, record: Mapping[str, Any]) -> None:
        """Write again after a failure, on the running loop (or now, in a script)."""
        if self.saved is not None:
            return
        try:
            self._retrying = asyncio.get_running_loop().create_task(self.write(store, image, record))
        except RuntimeError:  # no loop here (a script): save in this thread
            asyncio.run(self.write(store, image, record))
