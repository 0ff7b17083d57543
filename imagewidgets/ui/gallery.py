"""Gallery: the images saved in a folder, newest first, to filter, open, reuse, delete and zip.

It reads the folder, not the kernel's memory, so it opens after a kernel
restart or in a new notebook. Thumbnails are made (and cached on disk by
:class:`~imagewidgets.storage.index.ImageIndex`) only for the items shown; the full
file crosses to the browser only when Open or Download is clicked. Every
string from a file or its record is escaped before it goes into HTML, and
images are only ever shown by ``Image`` widgets.
"""

from __future__ import annotations

import html
import os
import tempfile
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any, BinaryIO

import ipywidgets as widgets

from ..params import ImageParams
from ..storage import MAX_ZIP_BYTES, SORTS, Entry, ImageIndex, ImageStore, read_inside
from .captions import dollars
from .download import FullImageButton
from .frontend import stylesheet
from .liveness import KernelWatch, folder_hint
from .widgets import STYLE, close_tree, shown_html

__all__ = ["Gallery", "GalleryItem"]

ALL_MODELS = "all models"
TOTAL_DAYS = 7
"""How many days (the latest with images) the per-day totals line names."""

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


class GalleryItem(widgets.VBox):
    """One saved image: thumbnail, caption, select, Open, Download, Use settings, Delete.

    Parameters
    ----------
    entry : Entry
        The saved image.
    index : ImageIndex
        Makes its thumbnail (cached on disk).
    thumbnail_size : int
        Longest side of the thumbnail, in pixels.
    on_use, on_delete : callable, optional
        Told of this item when "Use settings" or the confirming Delete is clicked;
        without ``on_use`` the button is hidden.
    on_error : callable, optional
        Told of an error making the file for Open or Download.

    Attributes
    ----------
    image : Image
        The thumbnail.
    placeholder : HTML or None
        "unreadable image" in the thumbnail's place when it cannot be made, else None.
    select : Checkbox
        Ticked to put the image in the gallery's zip.
    enlarge, download : FullImageButton
        Open (full size, over the page) and Download: the file as it is on disk.
    use, delete : Button
        Use settings; Delete, which shows ``confirm`` (``confirm_yes``: Delete, ``confirm_no``:
        Keep) first.
    """

    def __init__(self, entry: Entry, index: ImageIndex, *, thumbnail_size: int = 160,
                 on_use: Callable[[GalleryItem], None] | None = None,
                 on_delete: Callable[[GalleryItem], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None) -> None:
        self.entry = entry
        name = entry.path.name
        side = f"{thumbnail_size}px"
        self.image = widgets.Image(format="png", layout=widgets.Layout(width=side, height=side,
                                                                       object_fit="contain"))
        self.image.add_class("iw-gallery-image")
        self.placeholder: widgets.HTML | None = None  # made only for an image that cannot be read
        try:
            thumb = index.thumbnail(entry, thumbnail_size)
        except Exception:  # a broken or vanished file must not stop the rest of the page
            self.image.layout.display = "none"
            self.placeholder = widgets.HTML("unreadable image")
            self.placeholder.add_class("iw-gallery-unreadable")
        else:
            with self.image.hold_sync():  # format and bytes in one message
                self.image.format = thumb.format
                self.image.value = thumb.data
        self.caption = widgets.HTML(self._caption_html(), layout=widgets.Layout(width=side))
        self.caption.add_class("iw-gallery-caption")
        self.select = widgets.Checkbox(False, description="", indent=False, tooltip=f"Select {name}",
                                       layout=widgets.Layout(width="auto"))
        self.select.add_class("iw-gallery-select")
        # Named as on a tile: ``open`` is taken (``Widget.open`` makes the comm).
        self.enlarge = FullImageButton(action="enlarge", label="Open", tooltip_text="Show the full image",
                                       off_loop=True, on_error=on_error)
        self.enlarge.source = lambda: _file(entry)
        self.enlarge.add_class("iw-gallery-open")
        self.download = FullImageButton(action="download", label="Download",
                                        tooltip_text=f"Save {name}", off_loop=True, on_error=on_error)
        self.download.source = lambda: _file(entry)
        self.download.add_class("iw-gallery-download")
        self.use = widgets.Button(description="Use settings", layout=widgets.Layout(width="auto"),
                                  tooltip="Load this image's settings into the panel")
        self.use.add_class("iw-gallery-use")
        if on_use is None:
            self.use.layout.display = "none"  # nowhere to put the settings: no dead button
        else:
            self.use.on_click(lambda _button: on_use(self))
        self.delete = widgets.Button(description="Delete", layout=widgets.Layout(width="auto"),
                                     tooltip=f"Delete {name} and its settings")
        self.delete.add_class("iw-gallery-delete")
        self.delete.on_click(lambda _button: self._ask())
        self._on_delete = on_delete
        self._confirm: widgets.HBox | None = None  # made on the first Delete: most items never ask
        actions = widgets.HBox([self.select, self.enlarge, self.download, self.use, self.delete],
                               layout=widgets.Layout(flex_flow="row wrap", align_items="center",
                                                     width=side))
        super().__init__([self.image, *([self.placeholder] if self.placeholder else []),
                          self.caption, actions])
        self.add_class("iw-gallery-item")

    @property
    def confirm(self) -> widgets.HBox:
        """The row that asks again (Delete or Keep), hidden until Delete is clicked.

        Made when first needed: a page of 24 items had about 200 widget models for rows
        nobody opened, a sixth of opening a large gallery.
        """
        if self._confirm is None:
            name = self.entry.path.name
            yes = widgets.Button(description="Delete", button_style="danger",
                                 layout=widgets.Layout(width="auto"))
            no = widgets.Button(description="Keep", layout=widgets.Layout(width="auto"))
            on_delete = self._on_delete
            if on_delete is not None:
                yes.on_click(lambda _button: on_delete(self))
            no.on_click(lambda _button: self._keep())
            self._confirm = widgets.HBox(
                [widgets.HTML(f"Delete {html.escape(name)}?"), yes, no],
                layout=widgets.Layout(display="none", flex_flow="row wrap", align_items="center"))
            self._confirm.add_class("iw-gallery-confirm")
            self.children = (*self.children, self._confirm)  # type: ignore[has-type]
        return self._confirm

    @property
    def confirm_yes(self) -> widgets.Button:
        """The confirming Delete."""
        return self.confirm.children[1]

    @property
    def confirm_no(self) -> widgets.Button:
        """Keep: hides the row again."""
        return self.confirm.children[2]

    def _ask(self) -> None:
        self.confirm.layout.display = "flex"

    def _keep(self) -> None:
        if self._confirm is not None:
            self._confirm.layout.display = "none"

    def _caption_html(self) -> str:
        entry = self.entry
        facts = [entry.model, datetime.fromtimestamp(entry.created).strftime("%Y-%m-%d %H:%M")]
        cost = dollars(entry.cost)
        if cost is not None:
            facts.append(cost)
        prompt = entry.prompt if len(entry.prompt) <= 60 else entry.prompt[:59] + "…"
        if prompt:
            facts.append(prompt)
        return " · ".join(html.escape(fact) for fact in facts)

    def close(self) -> None:
        """Close this item and every widget it made."""
        close_tree(self)

    def __repr__(self) -> str:
        return f"GalleryItem({self.entry.path.name!r})"


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

        self.model = widgets.Dropdown(options=[ALL_MODELS], value=ALL_MODELS, description="Model",
                                      layout=widgets.Layout(width="220px"))
        self.text = widgets.Text("", placeholder="prompt contains…", continuous_update=False,
                                 description="Prompt", layout=widgets.Layout(width="260px"))
        self.since = widgets.DatePicker(description="From", layout=widgets.Layout(width="200px"))
        self.until = widgets.DatePicker(description="To", layout=widgets.Layout(width="200px"))
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
        self.grid = widgets.Box([])
        self.grid.add_class("iw-gallery-grid")
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
                          bar, self.totals, self.message, self.grid, self.more_button])
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
        """Read the folder again and show the same number of items, filters kept."""
        self.index.refresh()
        models = [ALL_MODELS, *self.index.models()]
        current = self.model.value if self.model.value in models else ALL_MODELS
        # New options reset a Dropdown's value: one render below, not one per change.
        self._quiet = True
        try:
            self.model.options = models
            self.model.value = current
        finally:
            self._quiet = False
        self._render(max(len(self.items), self.page_size))

    def show_more(self) -> None:
        """Add the next page of items below those shown."""
        self._add(self._matches[len(self.items):len(self.items) + self.page_size])

    def close(self) -> None:
        """Close every widget the gallery made."""
        if self.comm is None:
            return  # already closed (ipywidgets calls close() again from __del__)
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
        old, self.items = self.items, []
        self.grid.children = ()
        for item in old:
            item.close()
        self.message.value = ""
        self._add(self._matches[:count])

    def _add(self, entries: Sequence[Entry]) -> None:
        new = [GalleryItem(entry, self.index, thumbnail_size=self.thumbnail_size,
                           on_use=self._use if self.on_use is not None else None,
                           on_delete=self._delete, on_error=self._show_error)
               for entry in entries]
        for item in new:
            item.select.observe(lambda _change: self._update(), names="value")
        self.items.extend(new)
        self.grid.children = tuple(self.items)
        self._update()

    def _update(self) -> None:
        """The count line, the per-day totals, Show more and the zip button, as things are."""
        total, matching, shown = len(self.index.entries), len(self._matches), len(self.items)
        text = f"{matching} image{'' if matching == 1 else 's'} · shown {shown}"
        if matching != total:
            text += f" · {total} in the folder"
        self.count_line.value = html.escape(text)
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
        self.more_button.layout.display = "flex" if shown < matching else "none"
        self._chosen = [item.entry for item in self.items if item.select.value]
        self.zip_button.disabled = not self._chosen

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
        self.grid.children = tuple(self.items)
        item.close()
        self.message.value = f"deleted {html.escape(item.entry.path.name)}"
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
