"""One image's tile, one widget: placeholder, partial renders, the final image, its facts and actions.

A tile fills itself from ``client.stream(body)``; the panel and the
comparison grid both use :meth:`ImageTile.run`, so there is one code path for
every model, streaming or not. :meth:`ImageTile.show` fills a tile from an
image at hand (one loaded from disk) and :meth:`ImageTile.fail` marks one
failed before anything is sent. Thumbnails are made on a worker thread; the
tile's traits are changed only on the event loop's thread.

The whole tile is one anywidget (``ui/js/tile.js``, its code held once for the kernel:
:mod:`.shared`). Its thumbnail is never widget state: it goes to each view as a binary
buffer when made and when a view asks (it renders), so a notebook saved with widget state
holds no picture; the full image goes only on Download or Enlarge (:mod:`.delivery`).
Once the final image is saved the kernel keeps none of its bytes: :attr:`ImageTile.result`
reads them back from the file. The thumbnail is a JPEG, PNG or WEBP, an animated GIF, or an
SVG (wrapped; see ``imaging.thumbnail``) shown by an ``<img>``, where a ``<script>`` or
``onload`` in it cannot run and nothing it references is fetched.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ipywidgets import Layout, widget_serialization
from traitlets import Bool, Bytes, Instance, Int, Unicode

from ..errors import ParamsError
from ..imaging import Thumbnail, sanitise_svg, thumbnail_off_loop
from ..params import ImageParams
from ..results import GeneratedImage, PartialImage, Usage, billed_cost
from ..spending import Reservation, Spending, reserve_all
from ..storage import ImageStore, SavedImage, download_name, open_inside, read_inside, sidecar_record
from .captions import error_caption, image_caption
from .delivery import Delivery, Found
from .placeholder import box_size as _box_size
from .saving import Saving
from .shared import LOADER, Declared, shared_code

if TYPE_CHECKING:
    from ..api import ImagesClient

__all__ = ["ACTIONS", "MIN_TILE_WIDTH", "STATUSES", "ImageTile"]

logger = logging.getLogger("imagewidgets")

MIN_TILE_WIDTH = 224
"""A tile is at least this wide (pixels, inside its border): its buttons fit on two rows."""

STATUSES = ("queued", "running", "partial", "done", "failed", "cancelled")

ACTIONS = ("download", "enlarge", "reuse", "retry_save", "edit")
"""What a tile's buttons do: each a message from the browser, or :meth:`ImageTile.click`."""


class ImageTile(Declared):
    """A tile in a grid: status, image (thumbnail), caption and actions.

    Attributes
    ----------
    status : str
        One of ``queued``, ``running``, ``partial``, ``done``, ``failed``, ``cancelled``.
    result : GeneratedImage or None
        The final image, once done; once saved, its ``data`` is read back from the file
        (the server's image with its settings embedded) each time it is asked for.
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
    thumbnail, thumbnail_format : bytes, str
        The picture shown (encoded) and its format (``jpeg``, ``png``, ``gif``, ``svg+xml``...).
    """

    # Declared, not added per instance by anywidget: no class of its own per tile.
    _esm = Unicode(LOADER).tag(sync=True)
    _anywidget_id = Unicode(f"{__module__}.ImageTile").tag(sync=True)
    # No Layout model per tile (tile.js sizes it): one model a tile, in the kernel and the notebook.
    layout = Instance(Layout, allow_none=True, help="None: sized by its own view.").tag(
        sync=True, **widget_serialization)
    _code = Unicode("", help="The shared model holding tile.js (anywidget:<id>).").tag(sync=True)
    status = Unicode("queued", help="queued, running, partial, done, failed or cancelled").tag(sync=True)
    status_text = Unicode("queued", help="What the status line says: 'done in 3.1 s'.").tag(sync=True)
    label = Unicode("", help="Shown above the status, bold (plain text).").tag(sync=True)
    caption = Unicode("", help="The facts or the error, as escaped HTML.").tag(sync=True)
    save_note = Unicode("", help="Why the image was not saved, as escaped HTML.").tag(sync=True)
    save_failed = Bool(False, help="Offer Retry save.").tag(sync=True)
    reuse_note = Unicode("", help="What Use settings did, as escaped HTML.").tag(sync=True)
    can_reuse = Bool(False, help="Offer Use settings.").tag(sync=True)
    can_edit = Bool(False, help="Offer Edit (room for it: no editor yet).").tag(sync=True)
    alt = Unicode("", help="The picture's alt text: prompt, model, compared value, status.").tag(sync=True)
    subject = Unicode("", help="Which image each button acts on: 'image 3: prompt (model)'.").tag(sync=True)
    box_width = Int(1, help="Pixel width of the picture's box.").tag(sync=True)
    box_height = Int(1, help="Pixel height of the placeholder (the asked aspect).").tag(sync=True)
    tile_width = Int(MIN_TILE_WIDTH + 16, help="Pixel width of the tile.").tag(sync=True)
    progress = Unicode("", help="What a delivery of the full image is doing.").tag(sync=True)
    thumbnail = Bytes(b"", help="The picture shown: sent to views as a buffer, never state.")
    thumbnail_format = Unicode("png", help="Its format, for the image/<format> type.")

    def __init__(self, params: ImageParams, *, label: str = "", thumbnail_size: int = 384,
                 on_reuse: Callable[[ImageTile], None] | None = None,
                 store: ImageStore | None = None, place: Mapping[str, Any] | None = None,
                 spending: Sequence[Spending] = (), description: str = "",
                 on_saved: Callable[[ImageTile, SavedImage], None] | None = None,
                 on_edit: Callable[[ImageTile], None] | None = None) -> None:
        super().__init__(label=label, can_reuse=on_reuse is not None, can_edit=on_edit is not None,
                         _code=shared_code("tile.js", "tile.css"))
        self.params = params
        self.store = store
        self.place = dict(place or {})  # where in a grid, for the sidecar
        self.spending = tuple(spending)  # ledgers a request is reserved on, and settled
        self.description = description  # what a grid compares here, said in the alt text
        self.on_saved = on_saved
        self._server: dict[str, Any] = {}
        self.thumbnail_size = thumbnail_size
        self.last_partial: PartialImage | None = None
        self.started: float | None = None
        self.elapsed: float | None = None
        self.error: BaseException | None = None
        self._image: GeneratedImage | None = None  # its data b"" once saved: read from the file
        self._on_reuse, self._on_edit = on_reuse, on_edit
        self._partials_expected = params.partial_images if params.supports("partial_images") else 0
        self._saving = Saving(self._saving_changed)
        self._delivery = Delivery(lambda: self.send, self._show_progress)
        self.number: int | None = None  # its place in its row, from 1, once run
        self._fit_box()
        self.add_class("iw-tile")
        self.add_class("iw-status-queued")
        self._describe()
        self.observe(self._send_thumbnail, names="thumbnail")
        self.on_msg(self._on_message)

    @property
    def result(self) -> GeneratedImage | None:
        """The final image, once done (see the class docstring)."""
        image, saved = self._image, self._saving.saved
        if image is None or image.data or saved is None:
            return image
        return dataclasses.replace(image, data=self._read_saved())

    @property
    def saved(self) -> SavedImage | None:
        """Where the final image was written, once it was (see the class docstring)."""
        return self._saving.saved

    @property
    def save_error(self) -> Exception | None:
        """Why writing the final image failed, if it did."""
        return self._saving.error

    # -- actions ----------------------------------------------------------------

    def click(self, action: str) -> bool:
        """Do what the button ``action`` does (one of :data:`ACTIONS`), as a click in the browser.

        Returns False when the action cannot be done now (no final image yet, or no
        handler): the browser shows such a button disabled or not at all.
        """
        if action not in ACTIONS:
            raise ValueError(f"action {action!r} is not a tile's; choose one of {', '.join(ACTIONS)}")
        if self._image is None:
            return False
        if action in ("download", "enlarge"):
            try:
                found = self._full_image()
                self._delivery.send_now(found, {"action": action})
            except OSError as error:  # the file was moved or deleted since
                self.progress = f"could not read the image: {error}"
                logger.error("could not send the image: %s", error)
                return False
            self.progress = ""
            return True
        if action == "retry_save":
            if self.store is None or self.saved is not None:
                return False
            self._saving.retry(self.store, self._image, self.record())
            return True
        handler = self._on_reuse if action == "reuse" else self._on_edit
        if handler is None:
            return False
        handler(self)
        return True

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict):
            return
        event = content.get("event")
        if event == "ready":
            self._send_thumbnail()
        elif event == "received":
            self._delivery.received(content)
        elif event == "action" and content.get("action") in ACTIONS:
            try:
                self.click(content["action"])
            except Exception as error:  # a click's failure must not vanish in a comm handler
                logger.error("the tile's %s failed: %s", content["action"], error, exc_info=error)

    def _send_thumbnail(self, _change: Any = None) -> None:
        if self.thumbnail and self.comm is not None:
            self.send({"event": "thumbnail", "format": self.thumbnail_format},
                      buffers=[self.thumbnail])

    def _show_progress(self, text: str) -> None:
        self.progress = text

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
            self.status_text = "queued"
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
            if self._image is None:
                self._finish_with("failed", "failed")
                self.caption = '<span class="iw-error">the server sent no image</span>'
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
        self._image = image
        if self.last_partial is not None:  # superseded: its bytes would double what a tile holds
            self.last_partial = dataclasses.replace(self.last_partial, data=b"")
        interrupted = self.store is not None and await self._saving.write(self.store, image,
                                                                          self.record())
        with self.hold_sync():
            self._set_image(thumb)
            self.caption = image_caption(image, self.params.to_dict(), seconds=self.elapsed,
                                         tokens=self.tokens, cost=self.cost, emulated=self.emulated)
            self._finish_with("done", "done" if self.elapsed is None
                              else f"done in {self.elapsed:.1f} s")
        if interrupted:
            raise asyncio.CancelledError

    def record(self) -> dict[str, Any]:
        """What the sidecar beside the saved image holds: never the key."""
        if self._image is None:
            raise ValueError("no final image yet")
        estimate = self.params.estimate()
        return sidecar_record(self._image, cost=self.cost,
                              estimated=estimate.per_image if estimate else None,
                              seconds=self.elapsed, server=self._server, place=self.place)

    def _saving_changed(self) -> None:
        """A write ended: say why it failed, or, saved, keep none of the image's bytes."""
        with self.hold_sync():
            self.save_note = self._saving.note
            self.save_failed = self._saving.error is not None
        saved = self._saving.saved
        if saved is None or self._image is None:
            return
        self._image = dataclasses.replace(self._image, data=b"")  # on disk: read back when asked
        if self.on_saved is not None:
            self.on_saved(self, saved)

    @property
    def tokens(self) -> int | None:
        """The tokens the final image used, as the server reported them; None if unknown."""
        usage = self._image.usage if self._image is not None else None
        return usage.total_tokens if usage is not None else None

    @property
    def emulated(self) -> bool:
        """Whether the image came from the emulator: its cost was not billed."""
        return bool(self._server.get("emulator"))

    @property
    def cost(self) -> float | None:
        """Dollars for the final image (from usage when reported); None if unknown or not done."""
        image = self._image
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
        self.caption = error_caption(error)

    def tick(self) -> None:
        """Refresh the elapsed seconds shown while running."""
        if self.status not in ("running", "partial") or self.started is None:
            return
        seconds = time.monotonic() - self.started
        if self.status == "running":
            self.status_text = f"generating… {seconds:.0f} s"
        else:
            index = (self.last_partial.partial_index + 1) if self.last_partial else 0
            self.status_text = f"partial {index} of {self._partials_expected} · {seconds:.0f} s"

    def note_reuse(self, problem: str | None = None, *, shown: bool = True) -> None:
        """Say next to "Use settings" that the settings went into the controls, or why not.

        ``shown=False`` takes the note away (another tile's settings were loaded since).
        """
        if not shown:
            self.reuse_note = ""
        elif problem is None:
            self.reuse_note = '<span class="iw-reuse-done" role="status">' \
                              "\u2713 settings loaded into the controls</span>"
        else:
            self.reuse_note = (f'<span class="iw-error" role="status">not loaded: '
                               f"{html.escape(problem)}</span>")

    async def resize(self, longest: int) -> None:
        """Show this tile's picture at ``longest`` pixels on its longest side.

        A final image's thumbnail is made again (on a worker thread) when the
        new size is larger than the one it was made at, so it stays sharp.
        """
        grown = longest > self.thumbnail_size
        self.thumbnail_size = longest
        self._fit_box()
        if grown and self._image is not None:
            data = self._image.data or await asyncio.to_thread(self._read_saved)
            thumb = await thumbnail_off_loop(data, longest)
            if self.thumbnail_size == longest:  # not resized again meanwhile
                self._set_image(thumb)

    def _fit_box(self) -> None:
        """Size the picture and the tile for ``thumbnail_size`` (the asked size's aspect)."""
        width, height = _box_size(self.params.size, self.thumbnail_size)
        with self.hold_sync():
            self.box_width, self.box_height = width, height
            self.tile_width = max(width, MIN_TILE_WIDTH) + 16

    def _show_partial(self, partial: PartialImage, thumb: Thumbnail) -> None:
        self.last_partial = partial
        self._set_image(thumb)
        self._set_status("partial")
        self.tick()

    def _set_image(self, thumb: Thumbnail) -> None:
        # In place, format and bytes in one message: no new widget per chunk, and the
        # browser never reads GIF or SVG bytes under the previous image's type.
        self.thumbnail_format = thumb.format  # before the bytes: sent with them, in one message
        self.thumbnail = thumb.data

    def _finish_with(self, status: str, text: str) -> None:
        self._set_status(status)
        self.status_text = text

    def _set_status(self, status: str) -> None:
        self.remove_class(f"iw-status-{self.status}")
        self.status = status
        self.add_class(f"iw-status-{status}")
        self._describe()

    # -- what is shown ----------------------------------------------------------

    @property
    def alt_text(self) -> str:
        """The thumbnail's alt text: prompt, model, what a grid compares here, and status."""
        compared = f" — {self.description}" if self.description else ""
        return f"{self.params.prompt or 'no prompt'} — {self.params.model}{compared} — {self.status}"

    def _describe(self) -> None:
        """Name the image on the thumbnail (alt) and on each button acting on it."""
        prompt = self.params.prompt or "no prompt"
        if len(prompt) > 80:
            prompt = prompt[:79].rstrip() + "…"
        which = f"image {self.number}" if self.number is not None else "image"
        with self.hold_sync():
            self.subject = f"{which}: {prompt} ({self.params.model})"
            self.alt = self.alt_text

    def _full_image(self) -> Found:
        """The bytes, name and type a download gets: the saved file's, named as the store named it."""
        image, saved = self._image, self._saving.saved
        assert image is not None
        if saved is not None:  # its settings embedded, an SVG's safe copy: what the store keeps
            path = Path(saved.path)  # read through no link, as every read of the store's folder
            return open_inside(path.parent, path.name), path.name, image.mime_type
        prompt = str((image.params or {}).get("prompt", self.params.prompt))
        model = str((image.params or {}).get("model", self.params.model))
        name = download_name(prompt, model, image.created or time.time(), image.extension)
        data = image.data
        if image.format == "svg":
            # Opened from the Downloads folder, an SVG is a document that runs its scripts: the
            # safe copy the store saves (image.data and image.save(path) keep the server's bytes).
            data = sanitise_svg(data).data
        return data, name, image.mime_type

    def _read_saved(self) -> bytes:
        saved = self._saving.saved
        assert saved is not None
        return read_inside(Path(saved.path).parent, Path(saved.path).name)

    def close(self) -> None:
        """Close this tile (one model); its bytes and thumbnail let go."""
        self.thumbnail = b""
        self._image = self.last_partial = None
        super().close()

    def __repr__(self) -> str:
        return f"ImageTile(status={self.status!r}, model={self.params.model!r})"
