"""Gallery: the images saved in a folder, newest first, to filter, open, reuse, delete and zip.

It reads the folder, not the kernel's memory, so it opens after a kernel
restart or in a new notebook. Thumbnails are made (and cached on disk, see
:mod:`~imagewidgets.storage.thumbnail_cache`) only for the items shown; the full
file crosses to the browser only when Open or Download is clicked. Every
string from a file or its record is escaped before it goes into HTML; the items
are drawn by one widget (:class:`~.gallery_grid.GalleryGrid`), which sets them as text.

Nothing slow waits on the kernel's event loop: in a running loop (a notebook), the
folder is listed on a worker thread, and missing thumbnails are made on the thumbnail
thread, a few at a time, each batch shown as it is made. A page's kept thumbnails (a few
kilobytes each) are read on the loop for at most :data:`READ_BUDGET`, the rest on a
worker thread. With no running loop (a script), all of it is done before the call returns.
"""

from __future__ import annotations

import asyncio
import html
import os
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from datetime import date
from typing import Any, BinaryIO

import ipywidgets as widgets

from ..imaging import Thumbnail, on_thumbnail_thread
from ..params import ImageParams
from ..storage import MAX_ZIP_BYTES, SORTS, Entry, ImageIndex, ImageStore, read_inside
from .captions import dollars
from .download import FullImageButton
from .frontend import stylesheet
from .gallery_grid import ACTIONS, GalleryGrid, GalleryItem
from .liveness import KernelWatch, folder_hint
from .widgets import STYLE, close_tree, shown_html

__all__ = ["Gallery", "GalleryItem"]

ALL_MODELS = "all models"
TOTAL_DAYS = 7
"""How many days (the latest with images) the per-day totals line names."""
BATCH = 4
"""Thumbnails made (not cached) per trip to the thumbnail thread; each batch is shown when made."""
READ_BUDGET = 0.005
"""Seconds the event loop may spend reading a page's kept thumbnails; the rest go to a worker thread."""

_MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".webp": "image/webp",
         ".gif": "image/gif", ".svg": "image/svg+xml"}

_GALLERY_STYLE = stylesheet("gallery.css")


def _file(entry: Entry) -> tuple[bytes, str, str]:
    """The saved file as it is on disk, its name and type: what Open and Download send.

    Read as every file of the folder is (:func:`read_inside`): a link is refused, never followed.
    """
    return read_inside(entry.folder, entry.name), entry.name, _MIME.get(entry.path.suffix.lower(),
                                                                        "application/octet-stream")


def _day_total(total: float | None, unknown: int) -> str:
    """``$0.26``, ``$0.26 + 2 of unknown cost`` or ``2 of unknown cost``: unknown is never added as 0."""
    parts = [dollars(total, 2) or ""] if total is not None else []
    if unknown:
        parts.append(f"{unknown} of unknown cost")
    return " + ".join(parts)


class Gallery(widgets.VBox):
    """Saved images of a folder, newest first: filter, open, download, reuse, delete, zip.

    Parameters
    ----------
    folder : str, path, ImageStore or None
        Where the images are; None is the default store's folder
        (``$IMAGEWIDGETS_DIR``, else ``imagewidgets-output/`` beside the notebook),
        so the gallery opens after a kernel restart or in a new notebook.
    page_size : int
        How many items are shown first, and how many more "Show more" adds.
    thumbnail_size : int
        Longest side of each thumbnail, in pixels.
    on_use : callable, optional
        Given an image's saved :class:`ImageParams` when its "Use settings" is
        clicked (``panel.use_settings``); without it the button is hidden.
    zip_limit : int
        Most bytes "Download selected (zip)" zips; a larger selection is refused, saying
        its size (the browser holds the whole zip in memory to save it).

    Examples
    --------
    >>> gallery = Gallery()                                     # doctest: +SKIP
    >>> gallery = Gallery(on_use=panel.use_settings)            # into a panel
    >>> gallery.text.value = "lighthouse"                       # what the filter box does
    >>> await gallery.loaded()                                  # doctest: +SKIP

    Attributes
    ----------
    items : list of GalleryItem
        The images shown, in order; each one's thumbnail is None until made.
    grid : GalleryGrid
        Draws them; ``grid.selected`` names the ticked ones.
    opener, downloader : FullImageButton
        Hidden: they send the file an item's Open or Download asks for.
    """

    def __init__(self, folder: str | os.PathLike[str] | ImageStore | None = None, *,
                 page_size: int = 24, thumbnail_size: int = 160,
                 on_use: Callable[[ImageParams], object] | None = None,
                 zip_limit: int = MAX_ZIP_BYTES) -> None:
        store = folder if isinstance(folder, ImageStore) else ImageStore(folder)
        self.zip_limit = zip_limit
        self.index = ImageIndex(store.folder)
        self.page_size = page_size
        self.thumbnail_size = thumbnail_size
        self.on_use = on_use
        self.items: list[GalleryItem] = []
        self._matches: list[Entry] = []
        self._chosen: list[Entry] = []  # the ticked entries, as plain data for the zip's thread
        self._quiet = False  # set while refresh() changes the model choices itself
        self._generation = 0  # a new listing or filter: what was being filled is no longer shown
        self._tasks: set[asyncio.Task[None]] = set()  # held: the loop keeps only weak references

        self.model = widgets.Dropdown(options=[ALL_MODELS], value=ALL_MODELS, description="Model",
                                      layout=widgets.Layout(width="220px"))
        self.text = widgets.Text("", placeholder="prompt contains…", continuous_update=False,
                                 description="Prompt", layout=widgets.Layout(width="260px"))
        # Wide enough for "mm/dd/yyyy" and the calendar button beside "From" (seen in Chromium).
        self.since = widgets.DatePicker(description="From", layout=widgets.Layout(width="250px"))
        self.until = widgets.DatePicker(description="To", layout=widgets.Layout(width="250px"))
        for picker in (self.since, self.until):
            picker.add_class("iw-gallery-date")
        self.sort = widgets.Dropdown(options=SORTS, value="newest", description="Sort",
                                     layout=widgets.Layout(width="180px"))
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh",
                                             tooltip="Read the folder again")
        self.refresh_button.add_class("iw-gallery-refresh")
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.zip_button = FullImageButton(action="download", label="Download selected (zip)",
                                          disabled=True, off_loop=True, on_error=self._show_error,
                                          tooltip_text="The selected images and their settings, zipped")
        self.zip_button.source = self._zip_file
        self.zip_button.add_class("iw-gallery-zip")
        self.count_line = widgets.HTML("")
        self.count_line.add_class("iw-gallery-count")
        self.totals = widgets.HTML("", tooltip=f"Spent per day, the last {TOTAL_DAYS} days with images: "
                                               "actual where the server reported usage, else estimated; "
                                               "the emulator's apart (nothing billed)")
        self.totals.add_class("iw-gallery-totals")
        self.message = widgets.HTML("")
        self.message.add_class("iw-gallery-message")
        self.last_error: BaseException | None = None  # the last one shown, whole
        self.grid = GalleryGrid(self._act, side=thumbnail_size, can_use=on_use is not None)
        self.grid.observe(lambda _change: self._update(), names="selected")
        # Open and Download of every item: one hidden button each sends the file asked for.
        self.opener = FullImageButton(action="enlarge", label="Open", off_loop=True,
                                      on_error=self._show_error)
        self.downloader = FullImageButton(action="download", label="Download", off_loop=True,
                                          on_error=self._show_error)
        senders = widgets.Box([self.opener, self.downloader], layout=widgets.Layout(display="none"))
        self._sending: asyncio.Task[bool] | None = None
        self.more_button = widgets.Button(description="Show more", tooltip="Show the next page",
                                          layout=widgets.Layout(display="none"))
        self.more_button.add_class("iw-gallery-more")
        self.more_button.on_click(lambda _button: self.show_more())

        filters = widgets.HBox([self.model, self.text, self.since, self.until, self.sort],
                               layout=widgets.Layout(flex_flow="row wrap"))
        bar = widgets.HBox([self.refresh_button, self.zip_button, self.count_line],
                           layout=widgets.Layout(flex_flow="row wrap", align_items="center"))
        self.watch = KernelWatch(folder_hint(store.folder))  # no silently dead buttons
        super().__init__([widgets.HTML(STYLE), widgets.HTML(_GALLERY_STYLE), self.watch, filters,
                          bar, self.totals, self.message, self.grid, self.more_button, senders])
        self.add_class("iw-gallery")
        self.add_class("iw-root")  # the shared stylesheet's scope
        for control in (self.model, self.text, self.since, self.until, self.sort):
            control.observe(self._filtered, names="value")
        self.refresh()

    # -- public -------------------------------------------------------------------

    @property
    def selected(self) -> list[Entry]:
        """The entries whose checkbox is ticked, in the order shown."""
        return list(self._chosen)

    def refresh(self) -> None:
        """Read the folder again and show the same number of items, filters kept.

        In a running event loop the folder is read on a worker thread (:meth:`loaded` waits).
        """
        self._generation += 1
        self._start(self._refresh_off_loop(self._generation), lambda: self._refreshed(self.index.refresh()))

    async def loaded(self) -> None:
        """Wait until the listing is read and every item shown has its thumbnail (or is unreadable)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)  # each said in the message line

    async def _refresh_off_loop(self, generation: int) -> None:
        self.count_line.value = "reading the folder…"
        entries = await asyncio.to_thread(self.index.refresh)
        if generation == self._generation:
            self._refreshed(entries)

    def _refreshed(self, _entries: list[Entry]) -> None:
        models = [ALL_MODELS, *self.index.models()]
        current = self.model.value if self.model.value in models else ALL_MODELS
        # New options reset a Dropdown's value: one render below, not one per change.
        self._quiet = True
        try:
            self.model.options = models
            self.model.value = current
        finally:
            self._quiet = False
        self._show_totals()
        self._render(max(len(self.items), self.page_size))

    def show_more(self) -> None:
        """Add the next page of items below those shown."""
        self._add(self._matches[len(self.items):len(self.items) + self.page_size])

    def close(self) -> None:
        """Close every widget the gallery made, and stop filling thumbnails."""
        if self.comm is None:
            return  # already closed (ipywidgets calls close() again from __del__)
        for task in self._tasks:
            task.cancel()
        close_tree(self)

    def __repr__(self) -> str:
        return f"Gallery(folder={str(self.index.folder)!r}, shown={len(self.items)})"

    # -- internals ----------------------------------------------------------------

    def _filtered(self, _change: Any) -> None:
        if not self._quiet:
            self._render(self.page_size)

    def _render(self, count: int) -> None:
        """Show the first ``count`` entries matching the filters; the old items are closed."""
        model = self.model.value
        self._matches = self.index.select(model=None if model == ALL_MODELS else model,
                                          text=self.text.value, since=self.since.value,
                                          until=self.until.value, sort=self.sort.value)
        self._generation += 1  # thumbnails still being made for the old items are not shown
        self.items = []
        self.message.value = ""
        self._add(self._matches[:count])

    def _add(self, entries: Sequence[Entry]) -> None:
        """Show ``entries`` after those shown: at once those with kept thumbnails, then the rest.

        In a running loop the kept thumbnails are read here, until :data:`READ_BUDGET` is spent:
        24 files of a few kilobytes take less time than a trip to a worker thread and back (through
        one, a page took 3.3 to 3.9 times as long as reading its files). A slow disk leaves the
        rest to a worker thread, so the loop waits at most the budget and one file.
        """
        new = [GalleryItem(entry) for entry in entries]
        self.items.extend(new)
        self._update()
        if not new:
            self.grid.show(self.items)
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a script: every thumbnail, here and now
            self._fill(new)
            return
        kept = self.index.cached_thumbnails([item.entry for item in new], self.thumbnail_size,
                                            deadline=time.monotonic() + READ_BUDGET)
        missing = self._kept(new, kept)
        unread = new[len(kept):]
        if missing or unread:
            self._start(self._fill_off_loop(unread, missing, self._generation),
                        lambda: self._fill([*unread, *missing]))

    def _start(self, work: Coroutine[Any, Any, None], here: Callable[[], None]) -> None:
        """``work`` as a task of the running loop; with none (a script), ``here()`` instead."""
        try:
            task = asyncio.get_running_loop().create_task(work)
        except RuntimeError:
            work.close()
            here()
            return
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        error = None if task.cancelled() else task.exception()
        if error is not None:
            self._show_error(error)

    def _fill(self, items: list[GalleryItem]) -> None:
        """Every item's thumbnail, here and now: kept ones read, the others made."""
        missing = self._kept(items, self.index.cached_thumbnails([item.entry for item in items],
                                                                 self.thumbnail_size))
        self._made(missing, self._make(missing))

    async def _fill_off_loop(self, unread: list[GalleryItem], missing: list[GalleryItem],
                             generation: int) -> None:
        """The rest of :meth:`_add` with the loop free: ``unread`` kept thumbnails read on a
        worker thread, those still ``missing`` made on the thumbnail thread, a batch at a time."""
        if unread:
            kept = await asyncio.to_thread(self.index.cached_thumbnails, [item.entry for item in unread],
                                           self.thumbnail_size)
            if generation != self._generation:
                return
            for item, thumb in zip(unread, kept, strict=True):
                item.thumbnail = thumb
            self.grid.arrived(unread)
            missing = [*missing, *(item for item in unread if item.thumbnail is None)]
        for start in range(0, len(missing), BATCH):
            batch = missing[start:start + BATCH]
            made = await on_thumbnail_thread(self._make, batch)
            if generation != self._generation:
                return
            self._made(batch, made)

    def _kept(self, items: list[GalleryItem], kept: list[Thumbnail | None]) -> list[GalleryItem]:
        """Give the first ``len(kept)`` items their kept thumbnails and show every one of ``items``.

        Returns those of the first ``len(kept)`` that have none.
        """
        for item, thumb in zip(items, kept, strict=False):
            item.thumbnail = thumb
        self.grid.show(self.items, self.items.index(items[0]) if items[0] in self.items else 0)
        return [item for item, thumb in zip(items, kept, strict=False) if thumb is None]

    def _make(self, items: list[GalleryItem]) -> list[Thumbnail | None]:
        # On the thumbnail thread: reads plain entries, changes no widget. None: unreadable.
        made: list[Thumbnail | None] = []
        for item in items:
            try:
                made.append(self.index.thumbnail(item.entry, self.thumbnail_size))
            except Exception:  # a broken or vanished file must not stop the rest of the page
                made.append(None)
        return made

    def _made(self, items: list[GalleryItem], made: list[Thumbnail | None]) -> None:
        if not items:
            return
        for item, thumb in zip(items, made, strict=True):
            item.thumbnail, item.unreadable = thumb, thumb is None
        self.grid.arrived(items)

    def _update(self) -> None:
        """The count line, Show more and the zip button, as things are."""
        total, matching, shown = len(self.index.entries), len(self._matches), len(self.items)
        text = f"{matching} image{'' if matching == 1 else 's'} · shown {shown}"
        if matching != total:
            text += f" · {total} in the folder"
        self.count_line.value = html.escape(text)
        self.more_button.layout.display = "flex" if shown < matching else "none"
        ticked = set(self.grid.selected)
        self._chosen = [item.entry for item in self.items if item.entry.name in ticked]
        self.zip_button.disabled = not self._chosen

    def _show_totals(self) -> None:
        """The per-day totals of the folder: after a listing or a delete, not every page."""
        lines = []
        for emulated, heading in ((False, "spent per day"),
                                  (True, "emulated per day, $0 billed (would cost)")):
            totals = self.index.totals_per_day(emulated=emulated)
            unknown = self.index.unknown_per_day(emulated=emulated)
            days = sorted(totals.keys() | unknown.keys(), reverse=True)[:TOTAL_DAYS]
            if days:  # the emulator's apart, never added to what was spent
                lines.append(f"{heading}: " + " · ".join(
                    f"{day.isoformat()}: {_day_total(totals.get(day), unknown.get(day, 0))}" for day in days))
        self.totals.value = "<br>".join(html.escape(line) for line in lines)

    def click(self, item: GalleryItem, action: str) -> None:
        """What a click on one of ``item``'s buttons does: ``open``, ``download``, ``use`` or ``delete``.

        Delete here deletes at once: the browser asks first. In a running loop, the file for
        Open and Download is read on a worker thread.

        Raises
        ------
        ValueError
            For an action not in :data:`~.gallery_grid.ACTIONS`.
        """
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(map(repr, ACTIONS))}, not {action!r}")
        self._act(action, item.entry.name)

    def _act(self, action: str, name: str) -> None:
        """What an item's button asked for (see :data:`~.gallery_grid.ACTIONS`)."""
        item = next((shown for shown in self.items if shown.entry.name == name), None)
        if item is None:
            return  # gone since the browser drew it
        if action == "use" and self.on_use is not None:
            self._use(item)
        elif action == "delete":
            self._delete(item)
        elif action in ("open", "download"):
            self._send_file(self.opener if action == "open" else self.downloader, item.entry)

    def _send_file(self, button: FullImageButton, entry: Entry) -> None:
        """The file to the browser, read on a worker thread in a running loop."""
        if self._sending is not None and not self._sending.done():
            return  # one at a time, as a FullImageButton takes its own clicks
        button.source = lambda: _file(entry)
        try:
            self._sending = asyncio.get_running_loop().create_task(button.deliver_off_loop())
        except RuntimeError:  # no loop (a script): sent now
            try:
                button.deliver()
            except Exception as error:
                self._show_error(error)

    def _use(self, item: GalleryItem) -> None:
        assert self.on_use is not None
        try:
            problem = self.on_use(ImageParams.from_dict(item.entry.params))
        except Exception as error:  # settings a model no longer takes: said, not raised in a comm
            self._show_error(error)
            return
        if isinstance(problem, str):  # a panel's use_settings says why it took nothing
            self.message.value = f'<span class="iw-error">not loaded: {html.escape(problem)}</span>'
        else:
            self.message.value = (f"\u2713 the settings of {html.escape(item.entry.path.name)} "
                                  "are in the controls")

    def _delete(self, item: GalleryItem) -> None:
        try:
            self.index.delete(item.entry)
        except OSError as error:
            self._show_error(error)
            return
        self.items.remove(item)
        self._matches = [entry for entry in self._matches if entry.path != item.entry.path]
        self.grid.show(self.items)
        self.message.value = f"deleted {html.escape(item.entry.path.name)}"
        self._show_totals()
        self._update()

    def _zip_file(self) -> tuple[BinaryIO, str, str] | None:
        # Runs on a worker thread: it reads the plain list kept by _update, never a widget.
        # Written to a temporary file (gone when closed, or if the kernel dies), then sent in parts.
        entries, button = self._chosen, self.zip_button
        if not entries:
            return None
        file = tempfile.TemporaryFile(prefix="imagewidgets-zip-")  # noqa: SIM115 - the button closes it
        try:
            self.index.zip_to(entries, file, limit=self.zip_limit,
                              progress=lambda done, total: button.show_progress(f"zipping {done}/{total}"))
            file.seek(0)
        except BaseException:
            file.close()
            raise
        return file, f"imagewidgets-{date.today().isoformat()}.zip", "application/zip"

    def _show_error(self, error: BaseException) -> None:
        self.last_error = error  # whole: the message shows only its start
        kind = type(error).__name__
        self.message.value = (f'<span class="iw-error"><b>{html.escape(kind)}</b>: '
                              f"{shown_html(str(error), 'gallery.last_error')}</span>")
