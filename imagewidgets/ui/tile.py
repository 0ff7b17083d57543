"""One image's tile: placeholder, partial renders, the final image, its facts and actions.

A tile fills itself from ``client.stream(body)``; the panel and the
comparison grid both use :meth:`ImageTile.run`, so there is one code path for
every model, streaming or not. :meth:`ImageTile.show` fills a tile from an
image at hand (one loaded from disk) and :meth:`ImageTile.fail` marks one
failed before anything is sent. Thumbnails are made on a worker thread; the
tile's widgets are changed only on the event loop's thread.

Every image is shown by an ``Image`` widget, in the browser an ``<img>``: a JPEG,
PNG or WEBP thumbnail (a JPEG for an opaque PNG), an animated GIF thumbnail, or an SVG
(wrapped; see ``imaging.thumbnail``), where a ``<script>`` or ``onload`` in it cannot run and
nothing it references is fetched. No image ever goes into an HTML widget.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import ipywidgets as widgets
from traitlets import Any as AnyTrait, Unicode

from ..errors import ParamsError
from ..imaging import Thumbnail, sanitise_svg, thumbnail_off_loop
from ..params import ImageParams
from ..results import GeneratedImage, PartialImage, Usage, billed_cost
from ..spending import Reservation, Spending, reserve_all
from ..storage import ImageStore, SavedImage, download_name, sidecar_record
from .captions import error_caption, image_caption
from .download import FullImageButton
from .placeholder import BLANK as _BLANK, box_size as _box_size
from .saving import Saving
from .widgets import close_tree

if TYPE_CHECKING:
    from ..api import ImagesClient

__all__ = ["MIN_TILE_WIDTH", "STATUSES", "ImageTile"]

MIN_TILE_WIDTH = 224
"""A tile is at least this wide (pixels, inside its border): its buttons fit on two rows."""

STATUSES = ("queued", "running", "partial", "done", "failed", "cancelled")

class ImageTile(widgets.VBox):
    """A tile in a grid: status, image (thumbnail), caption and actions.

    Attributes
    ----------
    status : str
        One of ``queued``, ``running``, ``partial``, ``done``, ``failed``, ``cancelled``.
    result : GeneratedImage or None
        The final image, once done.
    error : BaseException or None
        What went wrong, once failed.
    params : ImageParams
        The parameters this tile asked for (its own copy).
    last_partial : PartialImage or None
        The last partial render shown, if the image streamed. Once the final
        image is shown its ``data`` is ``b""`` (the final image supersedes it:
        a panel keeps hundreds of tiles); a failed or cancelled tile keeps it whole.
    saved : SavedImage or None
        Where the final image was written, once done with a ``store``.
    save_error : Exception or None
        Why writing it failed; the image stays shown and downloadable, and
        "Retry save" tries again.
    """

    status = Unicode("queued", help="queued, running, partial, done, failed or cancelled")
    result = AnyTrait(None, allow_none=True, help="The GeneratedImage, once done.")
    error = AnyTrait(None, allow_none=True, help="The error, once failed.")
    children: tuple[widgets.Widget, ...]  # VBox's trait, for mypy: read and set in _insert

    def __init__(self, params: ImageParams, *, label: str = "", thumbnail_size: int = 384,
                 on_reuse: Callable[[ImageTile], None] | None = None,
                 store: ImageStore | None = None, place: Mapping[str, Any] | None = None,
                 spending: Sequence[Spending] = ()) -> None:
        self.params = params
        self.store = store
        self.place = dict(place or {})  # where in a grid, for the sidecar
        self.spending = tuple(spending)  # ledgers a request is reserved on, and settled
        self._server: dict[str, Any] = {}
        self.thumbnail_size = thumbnail_size
        self.last_partial: PartialImage | None = None
        self.started: float | None = None
        self.elapsed: float | None = None
        self._on_reuse = on_reuse
        self._partials_expected = params.partial_images if params.supports("partial_images") else 0
        # Made only when needed (the label when given, the notes when there is something to
        # say): a panel keeps hundreds of tiles, and each widget is three models in the kernel.
        self._label: widgets.HTML | None = None
        self._reuse_note: widgets.HTML | None = None
        self._saving = Saving(self._insert, self._retry_saving)  # its note and button made when needed
        self.header = widgets.HTML("queued")
        self.header.add_class("iw-tile-status")
        self.image = widgets.Image(
            value=_BLANK, format="png",  # a real (transparent) picture: no broken-image icon
            layout=widgets.Layout(object_fit="contain"))  # sized by _fit_box below
        self.image.add_class("iw-tile-image")
        self.caption = widgets.HTML("")
        self.caption.add_class("iw-tile-caption")
        self.download = FullImageButton(action="download", label="Download", disabled=True,
                                        tooltip_text="Save the full image")
        self.enlarge = FullImageButton(action="enlarge", label="Enlarge", disabled=True,
                                       tooltip_text="Show the full image")
        self.download.source = self._full_image
        self.enlarge.source = self._full_image
        self.download.add_class("iw-download")
        self.enlarge.add_class("iw-enlarge")
        self.reuse = widgets.Button(description="Use settings", disabled=True,
                                    tooltip="Load this tile's settings into the controls",
                                    layout=widgets.Layout(width="auto"))
        self.reuse.add_class("iw-reuse")
        self.reuse.on_click(lambda _button: self._on_reuse and self._on_reuse(self))
        if on_reuse is None:
            self.reuse.layout.display = "none"  # nowhere to put the settings: no dead button
        self.actions = widgets.HBox([self.download, self.enlarge, self.reuse],
                                    layout=widgets.Layout(display="none", flex_flow="row wrap",
                                                          align_items="center"))
        super().__init__([self.header, self.image, self.caption, self.actions],
                         layout=widgets.Layout(margin="4px", padding="6px", border="1px solid #ddd"))
        if label:
            self.label.value = f"<b>{html.escape(label)}</b>"
        self._fit_box()
        self.add_class("iw-tile")
        self.add_class("iw-status-queued")
        self.number: int | None = None  # its place in its row, from 1, once run
        self._describe()

    @property
    def label(self) -> widgets.HTML:
        """The label above the status (made, and shown, on first use)."""
        if self._label is None:
            self._label = widgets.HTML("")
            self._insert(self._label, 0)
        return self._label

    @property
    def reuse_note(self) -> widgets.HTML:
        """Says, next to "Use settings", what it did (made on first use)."""
        if self._reuse_note is None:
            self._reuse_note = widgets.HTML("")
            self._reuse_note.add_class("iw-reuse-note")
            self.actions.children = (*self.actions.children, self._reuse_note)
        return self._reuse_note

    @property
    def saved(self) -> SavedImage | None:
        """Where the final image was written, once it was (see the class docstring)."""
        return self._saving.saved

    @property
    def save_error(self) -> Exception | None:
        """Why writing the final image failed, if it did."""
        return self._saving.error

    @property
    def save_note(self) -> widgets.HTML:
        """Says why writing the image failed (made on first use, with :attr:`retry_save`)."""
        return self._saving.row()[0]

    @property
    def retry_save(self) -> widgets.Button:
        """"Retry save", shown after a failed write (made on first use, with :attr:`save_note`)."""
        return self._saving.row()[1]

    def _insert(self, widget: widgets.Widget, at: int) -> None:
        children = list(self.children)
        children.insert(at, widget)
        self.children = tuple(children)

    # -- filling ----------------------------------------------------------------

    async def run(self, client: ImagesClient,
                  body: Mapping[str, Any] | ImageParams | None = None, *,
                  image_index: int = 0, variation: int = 0,
                  reservation: Reservation | None = None) -> None:
        """Fill this tile from ``client.stream(body)``; errors are shown in place.

        Parameters
        ----------
        client : ImagesClient
            Where the request goes.
        body : RequestBody, ImageParams or None
            The request: best a checked body (``ImageParams.to_request()``,
            asking for one image), sent as it is; parameters are checked here
            when given instead; None means this tile's own ``params``.
        image_index : int
            This tile's place in its row: the request is tagged with it.
        variation : int
            Which picture the emulator draws for this request (Generate again
            gives another); the API ignores it.
        reservation : Reservation, optional
            What a panel or grid reserved (None: reserved on ``spending`` here); settled
            once the image arrives (billed), released on a failure or cancel before.

        Cancelling the task marks the tile cancelled and propagates. The
        response is closed as soon as the tile stops reading (the final
        image, a cancel, an error), not when the garbage collector runs.
        """
        try:
            if body is None or isinstance(body, ImageParams):
                body = (self.params if body is None else body).to_request()
            estimate = self.params.estimate()
            reservation = reservation or reserve_all(
                self.spending, [estimate.dollars if estimate else None])[0]
        except ParamsError as error:  # a budget's refusal too: nothing sent
            self.fail(error)
            if reservation is not None:
                reservation.release()
            return

        def on_billed(usage: Usage | None, said: Mapping[str, Any]) -> None:
            # The server finished: billed, whatever comes next (a cancel, a bad image). Settled
            # now, before any await, so no cancel or release can come in between.
            reservation.settle(billed_cost(self.params.to_dict(), usage, said),
                               emulated=bool(getattr(client, "is_emulator", False)))
        try:
            self.number = image_index + 1
            self._describe()
            host = urlsplit(getattr(client, "base_url", "")).hostname  # never the URL's userinfo
            self._server = {"host": host, "emulator": bool(getattr(client, "is_emulator", False))}
            # Queued until sent (it may wait for a free slot): the time shown is the server's.
            self.started = None
            self.header.value = "queued"
            async with contextlib.aclosing(client.stream(body, image_index=image_index,
                                                         on_sent=self._sent, variation=variation,
                                                         on_billed=on_billed)) as events:
                async for event in events:
                    if isinstance(event, GeneratedImage):  # settled already, by on_billed
                        self._server["emulator"] = bool(getattr(client, "is_emulator", False))
                        await self.show(event)
                        break
                    # Pillow work off the loop: the kernel stays responsive while tiles fill.
                    thumb = await thumbnail_off_loop(event.data, self.thumbnail_size)
                    self._show_partial(event, thumb)
        except asyncio.CancelledError:
            if self.status != "done":  # a cancel during the save lets it finish: saved and done
                self._finish_with("cancelled", "cancelled")
            raise
        except Exception as error:  # every failure is shown in its own tile
            self.fail(error)
        else:
            if self.result is None:
                self._finish_with("failed", "failed")
                self.caption.value = '<span class="iw-error">the server sent no image</span>'
        finally:
            reservation.release()  # nothing once settled: a failure or a cancel before billing

    def _sent(self) -> None:
        """The request went out (a retry sends it again: the clock keeps its first start)."""
        if self.started is None:
            self.started = time.monotonic()
        self._set_status("running")
        self.tick()

    async def show(self, image: GeneratedImage) -> None:
        """Show ``image`` as this tile's final result: thumbnail, caption, actions, done.

        For an image at hand (one loaded from disk) as much as for one just
        generated. The thumbnail is made on a worker thread. With a ``store``
        the image is written to disk before the tile says done; a failed write
        is shown on the tile, the image kept. A cancel once the write started
        lets it finish (the image is billed and made): the tile says done, then
        the cancel is raised.
        """
        thumb = await thumbnail_off_loop(image.data, self.thumbnail_size)
        if self.started is not None:
            self.elapsed = time.monotonic() - self.started
        self.result = image
        if self.last_partial is not None:  # superseded: its bytes would double what a tile holds
            self.last_partial = dataclasses.replace(self.last_partial, data=b"")
        interrupted = self.store is not None and await self._saving.write(self.store, image,
                                                                          self.record())
        with self.hold_sync():
            self._set_image(thumb)
            self.image.layout.height = "auto"
            self.caption.value = image_caption(image, self.params.to_dict(), seconds=self.elapsed,
                                               tokens=self.tokens, cost=self.cost,
                                               emulated=self.emulated)
            for action in (self.download, self.enlarge, self.reuse):
                action.disabled = False
            self.actions.layout.display = "flex"
        self._finish_with("done", "done" if self.elapsed is None else f"done in {self.elapsed:.1f} s")
        if interrupted:
            raise asyncio.CancelledError

    def record(self) -> dict[str, Any]:
        """What the sidecar beside the saved image holds: never the key."""
        if self.result is None:
            raise ValueError("no final image yet")
        estimate = self.params.estimate()
        return sidecar_record(self.result, cost=self.cost,
                              estimated=estimate.per_image if estimate else None,
                              seconds=self.elapsed, server=self._server, place=self.place)

    def _retry_saving(self) -> None:
        if self.result is not None and self.store is not None:
            self._saving.retry(self.store, self.result, self.record())

    @property
    def tokens(self) -> int | None:
        """The tokens the final image used, as the server reported them; None if unknown."""
        usage = self.result.usage if self.result is not None else None
        return usage.total_tokens if usage is not None else None

    @property
    def emulated(self) -> bool:
        """Whether the image came from the emulator: its cost was not billed."""
        return bool(self._server.get("emulator"))

    @property
    def cost(self) -> float | None:
        """Dollars for the final image (from usage when reported); None if unknown or not done."""
        image: GeneratedImage | None = self.result
        if image is None:
            return None
        return image.cost(self.params.to_dict())

    def fail(self, error: BaseException) -> None:
        """Mark this tile failed, ``error`` shown (escaped) in its caption.

        :meth:`run` calls it for any failure; call it directly for a request
        that is never sent (parameters that cannot succeed).
        """
        self.error = error
        self._finish_with("failed", "failed")
        self.caption.value = error_caption(error)

    def tick(self) -> None:
        """Refresh the elapsed seconds shown while running."""
        if self.status not in ("running", "partial") or self.started is None:
            return
        seconds = time.monotonic() - self.started
        if self.status == "running":
            self.header.value = f"generating… {seconds:.0f} s"
        else:
            index = (self.last_partial.partial_index + 1) if self.last_partial else 0
            self.header.value = f"partial {index} of {self._partials_expected} · {seconds:.0f} s"

    def note_reuse(self, problem: str | None = None, *, shown: bool = True) -> None:
        """Say next to "Use settings" that the settings went into the controls, or why not.

        ``shown=False`` takes the note away (another tile's settings were loaded since).
        """
        if not shown:
            if self._reuse_note is not None:
                self._reuse_note.value = ""
        elif problem is None:
            self.reuse_note.value = '<span class="iw-reuse-done" role="status">' \
                                    "\u2713 settings loaded into the controls</span>"
        else:
            self.reuse_note.value = (f'<span class="iw-error" role="status">not loaded: '
                                     f"{html.escape(problem)}</span>")

    async def resize(self, longest: int) -> None:
        """Show this tile's picture at ``longest`` pixels on its longest side.

        A final image's thumbnail is made again (on a worker thread) when the
        new size is larger than the one it was made at, so it stays sharp.
        """
        grown = longest > self.thumbnail_size
        self.thumbnail_size = longest
        self._fit_box()
        if grown and self.result is not None:
            thumb = await thumbnail_off_loop(self.result.data, longest)
            if self.thumbnail_size == longest:  # not resized again meanwhile
                self._set_image(thumb)

    def _fit_box(self) -> None:
        """Size the picture and the tile for ``thumbnail_size`` (the asked size's aspect)."""
        width, height = _box_size(self.params.size, self.thumbnail_size)
        with self.hold_sync():
            self.image.layout.width = f"{width}px"
            self.image.layout.height = "auto" if self.result is not None else f"{height}px"
            self.layout.width = f"{max(width, MIN_TILE_WIDTH) + 16}px"

    def _show_partial(self, partial: PartialImage, thumb: Thumbnail) -> None:
        self.last_partial = partial
        self._set_image(thumb)
        self._set_status("partial")
        self.tick()

    def _set_image(self, thumb: Thumbnail) -> None:
        # In place, format and bytes in one message: no new widget per chunk, and the
        # browser never reads GIF or SVG bytes under the previous image's type.
        with self.image.hold_sync():
            self.image.format = thumb.format
            self.image.value = thumb.data

    def _finish_with(self, status: str, text: str) -> None:
        self._set_status(status)
        self.header.value = html.escape(text)

    def _set_status(self, status: str) -> None:
        self.remove_class(f"iw-status-{self.status}")
        self.status = status
        self.add_class(f"iw-status-{status}")
        self._describe()

    # -- what is shown ----------------------------------------------------------

    @property
    def alt_text(self) -> str:
        """The thumbnail's alt text: prompt, model and status."""
        return f"{self.params.prompt or 'no prompt'} — {self.params.model} — {self.status}"

    def _describe(self) -> None:
        """Name the image on the thumbnail (alt) and on each button acting on it."""
        prompt = self.params.prompt or "no prompt"
        if len(prompt) > 80:
            prompt = prompt[:79].rstrip() + "…"
        which = f"image {self.number}" if self.number is not None else "image"
        what = f"{which}: {prompt} ({self.params.model})"
        for button, verb in ((self.download, "Download"), (self.enlarge, "Enlarge")):
            with button.hold_sync():
                button.aria_label = f"{verb} {what}"
                button.image_alt = self.alt_text
        # ipywidgets shows the tooltip as the title (the button's description), not its name.
        self.reuse.tooltip = f"Use the settings of {what}: load them into the controls"

    def _full_image(self) -> tuple[bytes, str, str] | None:
        image = self.result
        if image is None:
            return None
        prompt = str((image.params or {}).get("prompt", self.params.prompt))
        model = str((image.params or {}).get("model", self.params.model))
        name = download_name(prompt, model, image.created or time.time(), image.extension)
        data = image.data
        if image.format == "svg":
            # Opened from the Downloads folder, an SVG is a document that runs its scripts: the
            # safe copy the store saves (image.data and image.save(path) keep the server's bytes).
            data = sanitise_svg(data).data
        return data, name, image.mime_type

    def close(self) -> None:
        """Close this tile and every widget it made (layouts and styles too)."""
        close_tree(self)

    def __repr__(self) -> str:
        return f"ImageTile(status={self.status!r}, model={self.params.model!r})"
