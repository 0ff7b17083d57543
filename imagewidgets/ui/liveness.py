"""What a panel leaves behind when its kernel is gone: a saved record and buttons that say why.

Two parts, because a notebook outlives its kernel:

* :class:`SavedRecord` is a plain output beside the widget, updated as images
  are saved, naming each file by its path relative to the notebook. When the
  notebook is reopened without a kernel (and without saved widget state, the
  default) the widget cannot be drawn, but this output still shows the images,
  fetched from the files on disk: nothing but paths is stored in the notebook.
  While the widget is live it hides that output (no picture shown twice).
* :class:`KernelWatch` is a small front-end part inside the widget: on any
  button click it asks the kernel for an answer, and when none comes it says
  so in the widget instead of leaving buttons that silently do nothing: that
  the kernel is busy (a cell runs; the click is answered when it ends) when
  the kernel says it is, else that it restarted or stopped, with where the
  images are. A restart seen by the page (the widget's connection dropped) is
  said at once, click or not. It also carries the record's current output
  (:meth:`KernelWatch.record_html`), by message: a reload of the page shows the notebook
  as last saved, and the record's updates sent before the reload are lost (JupyterLab
  routes an ``update_display`` only to outputs this page displayed), so each view
  asks for that output when drawn, is sent it whenever it changes, and puts it back
  into its notebook. Not in the widget's state: the output holds it already, and a
  notebook saved with widget state would hold it twice.
"""

from __future__ import annotations

import html
import os
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from .frontend import esm
from .widgets import plain

__all__ = ["RECORD_CLASS", "KernelWatch", "SavedRecord", "display_with_record", "folder_hint"]

RECORD_CLASS = "iw-saved-record"
"""The class of a saved record's outer element; the live widget hides outputs holding it."""


class KernelWatch(anywidget.AnyWidget):
    """Says so in the widget when a click gets no answer from the kernel.

    Parameters
    ----------
    folder : str
        Where the images are, named in the message.
    timeout_ms : int
        How long a click waits for the kernel's answer before the message shows.
    """

    _esm = esm("liveness.js")
    record_class = traitlets.Unicode(RECORD_CLASS, help="The class of the record hidden while live.").tag(
        sync=True)
    silent_text = traitlets.Unicode("", help="Shown when the kernel does not answer and is not busy.").tag(
        sync=True)
    busy_text = traitlets.Unicode("", help="Shown when the kernel does not answer while busy.").tag(sync=True)
    timeout_ms = traitlets.Int(4000, help="Milliseconds to wait for the kernel.").tag(sync=True)
    record_id = traitlets.Unicode("", help="The display id of the record this widget keeps up to date.").tag(
        sync=True)

    def __init__(self, folder: str = "", *, timeout_ms: int = 4000) -> None:
        where = f"; your images are in {folder}" if folder else ""
        super().__init__(
            silent_text=("The kernel did not answer: it restarted or stopped, and this widget is "
                         f"no longer connected to it. Run the cell again{where}."),
            busy_text=("The kernel is busy running a cell: this click is answered when the cell "
                       "finishes (interrupt the kernel to stop it sooner)."),
            timeout_ms=timeout_ms, **plain(KernelWatch))
        self._record: SavedRecord | None = None
        self.on_msg(self._answer)

    def _answer(self, _widget: Any, content: Any, _buffers: Any) -> None:
        event = content.get("event") if isinstance(content, dict) else None
        if event == "ping":
            self.send({"event": "pong"})
        elif event == "record":  # a view drawn (after a reload of the page too) asks for it
            self.send_record()

    def record_html(self) -> str:
        """The current output of the record this widget follows (paths only, escaped), or empty."""
        return self._record.html() if self._record is not None else ""

    def send_record(self, html: str | None = None) -> None:
        """Send the record's current output (``html``, made by its caller, or made here) to
        every view, to put into its notebook."""
        if self._record is not None:
            self.send({"event": "record", "html": self.record_html() if html is None else html})

    def follow(self, record: SavedRecord) -> None:
        """Keep ``record``'s output in the page's notebook up to date, a reload of the page too."""
        record.watches.append(self)
        self._record = record
        self.record_id = record.display_id

    def __repr__(self) -> str:
        return f"KernelWatch(timeout_ms={self.timeout_ms})"


class SavedRecord:
    """A plain output naming the saved images by relative path: what a reopened notebook shows.

    Parameters
    ----------
    title : str
        Said above the images (escaped).
    thumbnail_width : int
        Pixels each image is drawn wide.
    """

    def __init__(self, title: str, thumbnail_width: int = 128,
                 busy: Callable[[], bool] = lambda: False) -> None:
        self.title = title
        self.thumbnail_width = thumbnail_width
        self.busy = busy
        self.display_id = f"imagewidgets-{uuid.uuid4().hex}"
        self.entries: list[tuple[str, str]] = []  # (relative path, alt text)
        self.watches: list[KernelWatch] = []  # each also carries the output to its views
        self._shown = False
        self._sent = 0  # entries in the output last sent

    def add(self, path: Path, alt: str) -> None:
        """Name one more saved image; the output, once shown, is updated in place.

        While ``busy()`` says more images are coming, the update waits until they are
        (:meth:`flush`) or until the unsent entries are as many as the sent ones: each
        update carries the whole record, and one an image made 200 images cost the page
        200 redraws of up to 200 images; this way a run of n images costs O(n).
        """
        self.entries.append((_relative(path), alt))
        if not self.busy() or len(self.entries) - self._sent >= max(8, self._sent):
            self.flush()

    def flush(self) -> None:
        """Send the record to its output and its watches' views, if an image was added since."""
        if self._sent == len(self.entries):
            return
        self._sent = len(self.entries)
        output = self.html()  # made once for the output and every watch
        for watch in self.watches:
            watch.send_record(output)
        if self._shown:
            _ipython("update_display")({"text/html": output}, raw=True, display_id=self.display_id)

    def show(self) -> None:
        """Display the record as an output of the current cell (under the widget)."""
        _ipython("display")({"text/html": self.html()}, raw=True, display_id=self.display_id)
        self._shown = True

    def html(self) -> str:
        """The record: a line of text, then each image from its file (nothing inline)."""
        # The display id marks the output, for a view to find it in its notebook.
        start = f'<div class="{RECORD_CLASS}" data-iw-record="{self.display_id}">'
        if not self.entries:
            return start + "</div>"
        # Lazy: hidden while the widget is live, each update's images are never fetched (an
        # <img> still loading is kept by the browser, so every update's copies piled up).
        images = "".join(
            f'<img src="{html.escape(path)}" alt="{html.escape(alt)}" title="{html.escape(path)}" '
            f'width="{self.thumbnail_width}" loading="lazy" style="margin:2px">'
            for path, alt in self.entries)
        return (f'{start}<div>{html.escape(self.title)}: '
                f"{len(self.entries)} image{'s' if len(self.entries) != 1 else ''} saved (run the "
                f"cell again for the live panel)</div>{images}</div>")

    def __repr__(self) -> str:
        return f"SavedRecord({len(self.entries)} images)"


def _ipython(name: str) -> Callable[..., Any]:
    """``IPython.display.<name>``, imported when first needed (IPython's own types are loose)."""
    from IPython import display

    found: Callable[..., Any] = getattr(display, name)
    return found


def _relative(path: Path) -> str:
    """``path`` as the notebook names it: relative to the kernel's folder, which is the notebook's."""
    try:
        return Path(os.path.relpath(path, Path.cwd())).as_posix()
    except ValueError:  # another drive on Windows: only the absolute path names it
        return path.as_posix()


def display_with_record(widget: Any, record: SavedRecord) -> None:
    """Display ``widget`` and, as a second output of the cell, its saved record.

    What a widget's ``_ipython_display_`` does: a widget's own output cannot
    fall back to anything when its model is gone, a plain output can.
    """
    watch = getattr(widget, "watch", None)  # the panel's and the grid's KernelWatch
    if isinstance(watch, KernelWatch) and watch not in record.watches:
        watch.follow(record)
    _ipython("display")(widget._repr_mimebundle_(), raw=True)
    record.show()


def folder_hint(folder: Path | None) -> str:
    """How a message names the folder: relative to the notebook when inside it."""
    return "" if folder is None else _relative(folder) + "/"
