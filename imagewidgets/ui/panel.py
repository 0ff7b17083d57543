"""ImagePanel: controls, Generate and Cancel, and a grid of live tiles.

Generation runs as tasks on the kernel's event loop, owned by a
:class:`~imagewidgets.ui.jobs.Jobs` (strong references, one ticker, failures
reported), so the kernel stays responsive (another cell runs while images
stream). A second Generate while one runs starts a new row; Cancel stops every
request in flight. The parameters are checked once per Generate, where the
request body is built; each tile sends that checked body.

A model the API has shut down is named in a note under the controls; against
a server that is not the emulator, Generate refuses it before building a tile
(nothing is sent) unless the client has ``allow_retired``. With
``models="available"`` the model dropdown offers only what ``GET /v1/models``
lists.
"""

from __future__ import annotations

import asyncio
import html
from typing import TYPE_CHECKING, Any, Literal

import ipywidgets as widgets
from traitlets import TraitError

from ..errors import BudgetExceededError, ImagesError, ParamsError
from ..models import MODELS, default_model
from ..params import ImageParams, RequestBody
from ..spending import SESSION, Spending, emulated_text, reserve_all
from ..storage import DEFAULT_STORE, ImageIndex, SavedImage, StoreChoice, store_from
from .assist import PageAssist
from .controls import Controls
from .gallery import Gallery
from .grid import ImageGrid
from .jobs import Jobs
from .liveness import KernelWatch, SavedRecord, display_with_record, folder_hint
from .tile import MIN_TILE_WIDTH, ImageTile
from .widgets import STYLE, banner_html, close_tree, plain, shared_layout, shared_style, shown_html

if TYPE_CHECKING:
    from ..api import ImagesClient
    from .compare import CompareGrid

__all__ = ["IMAGE_MODEL_PREFIXES", "THUMBNAIL_SIZES", "ImagePanel"]

IMAGE_MODEL_PREFIXES = ("gpt-image", "dall-e", "chatgpt-image")
"""How a listed model id looks when it is an image model the table may not know yet."""

NOTE_NAMES = 3
"""Unknown listed image models the note names, each with the way in; the rest are counted."""


THUMBNAIL_SIZES = (96, 1024)
"""The smallest and largest thumbnail (longest side, pixels) the panel's slider offers."""


class ImagePanel(widgets.VBox):
    """A prompt, every option the model takes, and a grid of results.

    Parameters
    ----------
    client : ImagesClient, optional
        Defaults to the API when ``OPENAI_API_KEY`` (or ``OPENAI_BASE_URL``) is
        set, else the built-in emulator, with a banner saying so.
    params : ImageParams, optional
        The parameters the controls edit; defaults to streaming two partials.
    thumbnail_size : int
        Longest side, in pixels, of the thumbnails sent to the browser, from
        96 to 1024; the "Thumbnails" slider changes it for every tile.
    models : {None, "available"}
        None offers every model of the table; ``"available"`` only the image
        models the server lists (``GET /v1/models``), read in a task started
        here when a loop runs, or by ``await panel.load_models()``.
    store : ImageStore, str, path or None
        Where every final image is written with its settings: by default
        ``imagewidgets-output/`` beside the notebook (or ``$IMAGEWIDGETS_DIR``);
        a folder or an ``ImageStore``; None keeps nothing on disk.
    budget : float, optional
        Dollars this panel may spend: Generate refuses a request whose
        estimate, added to what is spent and reserved for requests in flight,
        would pass it (as it does past ``iw.spending.SESSION.budget``). A
        request of unknown price is refused under a budget unless
        ``panel.spending.allow_unpriced`` (and the session's) is True.
    history : bool
        Show the earlier images of the store's folder under the panel, in a
        collapsed gallery (made when opened): a re-run cell does not start empty.

    Examples
    --------
    >>> panel = ImagePanel()            # doctest: +SKIP
    >>> panel                           # shows it as the cell's value
    >>> await panel.generate()          # what the Generate button does
    """

    def __init__(self, client: ImagesClient | None = None, params: ImageParams | None = None,
                 *, thumbnail_size: int = 384,
                 models: Literal["available"] | None = None,
                 store: StoreChoice = DEFAULT_STORE, budget: float | None = None,
                 history: bool = False) -> None:
        if models not in (None, "available"):
            raise ValueError(f"models {models!r} is not allowed; choose None or 'available'")
        low, high = THUMBNAIL_SIZES
        if isinstance(thumbnail_size, bool) or not isinstance(thumbnail_size, int) \
                or not low <= thumbnail_size <= high:
            raise ValueError(f"thumbnail_size {thumbnail_size!r} is not allowed; choose a whole "
                             f"number of pixels from {low} to {high}")
        if client is None:
            from ..api import default_client

            client = default_client()
        self.client = client
        self.params = params if params is not None else ImageParams(stream=True, partial_images=2)
        self.thumbnail_size = thumbnail_size
        self.store = store_from(store)
        self.spending = Spending(budget, name="panel.spending")  # the session's is SESSION
        self.jobs = Jobs(on_change=self._update_status, on_error=self._show_error)
        self._generations = 0  # how many Generates ran: each asks the emulator for a new picture

        self.controls = Controls(self.params)
        self.controls.prompt.on_submit(self._on_generate_click)
        self.generate_button = widgets.Button(description="Generate", button_style="primary",
                                              icon="play", tooltip="Generate (Ctrl+Enter)",
                                              **plain(widgets.Button))
        self.generate_button.add_class("iw-generate")
        self.generate_button.on_click(self._on_generate_click)
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            tooltip="Stop every request in flight", **plain(widgets.Button))
        self.cancel_button.add_class("iw-cancel")
        self.cancel_button.on_click(lambda _button: self.cancel())
        kept_in = f" (the files stay in {folder_hint(self.store.folder)})" if self.store else ""
        self.clear_button = widgets.Button(description="Clear", icon="trash",
                                           tooltip=f"Remove every result from view{kept_in}",
                                           **plain(widgets.Button))
        self.clear_button.add_class("iw-clear")
        self.clear_button.on_click(lambda _button: self.clear())
        self.thumbnail_slider = widgets.IntSlider(
            value=thumbnail_size, min=low, max=high, step=32, description="Thumbnails",
            continuous_update=False, tooltip="Longest side of each picture shown, in pixels",
            style=shared_style(widgets.IntSlider, description_width="auto"),
            layout=shared_layout(width="260px"))
        self.thumbnail_slider.add_class("iw-thumbnail-size")
        self.thumbnail_slider.observe(self._on_thumbnail_size, names="value")
        self._reused: ImageTile | None = None  # the tile whose "Use settings" was clicked last
        self._problems_shown = False  # the status says why the params cannot be sent
        self.assist = PageAssist()  # names the sliders in the page; scrolls to the controls
        self.status = widgets.HTML("", **plain(widgets.HTML))
        self.status.add_class("iw-status")
        self.cost_line = widgets.HTML("", **plain(widgets.HTML))
        self.cost_line.add_class("iw-cost")
        self.grid = ImageGrid(on_dismiss=self.jobs.cancel_tiles)
        self.banner = widgets.HTML(banner_html(client), **plain(widgets.HTML))
        self.banner.add_class("iw-banner-box")
        self.model_note = widgets.HTML("", **plain(widgets.HTML))
        self.model_note.add_class("iw-model-note")
        self._unlisted: tuple[str, ...] = ()  # image models the server lists, the table not
        self._style = widgets.HTML(STYLE, **plain(widgets.HTML))
        folder = self.store.folder if self.store is not None else None
        self.watch = KernelWatch(folder_hint(folder))  # buttons never silently dead
        # What a reopened notebook shows; brought up to date as each run ends (_update_status).
        self.record = SavedRecord("imagewidgets panel", busy=lambda: self.jobs.busy)
        buttons = widgets.HBox([self.generate_button, self.cancel_button, self.clear_button,
                                self.thumbnail_slider, self.status],
                               layout=shared_layout(flex_flow="row wrap", align_items="center"))
        self.history: widgets.Accordion | None = None
        self.gallery: Gallery | None = None
        extra = []
        if history and self.store is not None:
            earlier = len(ImageIndex(self.store.folder).refresh())
            self.history = widgets.Accordion([widgets.VBox([])], selected_index=None)
            self.history.set_title(0, f"Earlier images in {folder_hint(self.store.folder)} "
                                      f"({earlier})")
            self.history.add_class("iw-history")
            self.history.observe(self._open_history, names="selected_index")
            extra.append(self.history)
        super().__init__([self._style, self.assist, self.banner, self.watch, self.controls,
                          self.model_note, buttons, self.cost_line, self.grid, *extra], **plain(widgets.VBox))
        self.add_class("iw-panel")
        self.add_class("iw-root")  # the stylesheet's scope, shared with the grid
        self.params.observe(self._on_model, names="model")
        self.params.observe(self._update_cost)
        self.params.observe(self._recheck_problems)
        self._update_note()
        self._update_cost()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass  # no loop here (a script): ``await panel.load_models()`` does it later
        else:
            if models == "available":
                self.jobs.spawn(self.load_models())
            elif not getattr(client, "is_emulator", False):
                self.jobs.spawn(self._identify_server())

    # -- public -----------------------------------------------------------------

    @property
    def tiles(self) -> list[ImageTile]:
        """Every tile, newest first."""
        return self.grid.tiles

    @property
    def running(self) -> int:
        """How many image requests are in flight."""
        return self.jobs.in_flight

    async def generate(self) -> list[ImageTile]:
        """Start one row of tiles from the current parameters and wait for it.

        Returns the row's tiles. Parameters that cannot be sent are explained
        in the status line and nothing is sent; the controls keep every value.
        """
        try:
            body = self.params.to_request()  # the one check of this request
            # The client would refuse too, but only once tiles exist; asking it here leaves none.
            self.client.check_model(body)
            snapshot = self.params.copy()  # later edits to the controls don't touch this row
            count = snapshot.n or 1
            one = snapshot.copy(n=1)
            estimate = one.estimate()  # each tile is a request of its own
            # The whole row or nothing, held before anything is sent: Generate clicked
            # again while this runs sees it.
            held = reserve_all((self.spending, SESSION),
                               [estimate.dollars if estimate else None] * count,
                               what="this request" if count == 1 else f"these {count} requests")
        except ParamsError as error:
            self._show_problems(error)
            return []
        try:  # until the requests start (they settle or release each its own), nothing may leak
            tiles = [
                ImageTile(one.copy(), thumbnail_size=self.thumbnail_size,
                          on_reuse=self._reuse, store=self.store, spending=(self.spending, SESSION),
                          on_saved=self._on_saved)
                for _ in range(count)
            ]
            self.grid.add_row(tiles, f"{snapshot.model} · {snapshot.prompt}")
            # One image per tile; each its own body, so nothing a request does to it is shared.
            bodies = [RequestBody({**body, "n": 1}) if "n" in body else RequestBody(body)
                      for _ in tiles]
            # Generate again draws another picture on the emulator; the first is the raw request's.
            variation, self._generations = self._generations, self._generations + 1
            running = self.jobs.run_tiles(tiles, self.client, bodies, variation=variation,
                                          reservations=held)
        except BaseException:
            for reservation in held:
                reservation.release()
            raise
        await running
        return tiles

    async def load_models(self) -> tuple[str, ...]:
        """Offer in the model dropdown only the image models the server lists.

        Listed image models the table does not know are named in the note with
        the way in (``register_model``). When the current model is not offered,
        the params switch to the default model if offered, else the first one.
        Returns the names offered; when the server lists none the table knows,
        every model stays offered and the note says so.
        """
        listed = [info.id for info in await self.client.list_models()]
        offered = tuple(name for name in MODELS if name in listed)
        self._unlisted = tuple(dict.fromkeys(
            name for name in listed
            if name not in MODELS and name.startswith(IMAGE_MODEL_PREFIXES)))
        if not offered:
            self.controls.set_models(None)
            self._update_note(nothing_offered=True)
            return tuple(MODELS)
        if self.params.model not in offered:
            fallback = default_model()
            self.params.model = fallback if fallback in offered else offered[0]
        self.controls.set_models(offered)
        self._update_note()
        return offered

    def compare(self, rows: Any = None, columns: Any = None, *, repeats: int = 1,
                title: str | None = None, adapt: bool = True) -> CompareGrid:
        """A :class:`~imagewidgets.ui.compare.CompareGrid` from the current settings, not yet run.

        Same client; each sample's "Use settings" puts its settings back into
        this panel. ``rows`` and ``columns`` as in ``CompareGrid``; show the
        grid as the cell's value, with its estimate: its Run button (or
        ``await grid.run()``) sends it.
        """
        from .compare import CompareGrid  # the grid imports this module

        return CompareGrid(self.params, rows, columns, repeats=repeats, client=self.client,
                           title=title, adapt=adapt, on_use=self.use_settings)

    def use_settings(self, params: ImageParams) -> str | None:
        """Put ``params`` into the controls (the model first) and scroll them into view.

        The panel's image count stays. Returns None when the settings were
        loaded, else why not (also shown in the status line; nothing changed).
        """
        settings = params.to_dict()
        settings.pop("n", None)  # a tile made one image; keep the panel's count
        try:
            self.params.update(settings)
        except TraitError as error:
            shown = shown_html(str(error), "what use_settings returns")
            self.status.value = f'<span class="iw-error">{shown}</span>'
            return str(error)
        self.assist.show(".iw-controls")  # the controls may be far above the tile clicked
        return None

    def clear(self) -> None:
        """Remove every row of results from view; requests still running are cancelled.

        The images saved on disk stay there (``iw.Gallery()`` shows them).
        """
        self.grid.clear()
        self._reused = None

    def cancel(self) -> None:
        """Stop every request in flight; their tiles show cancelled."""
        self.jobs.cancel_all()

    def close(self) -> None:
        """Cancel what runs, stop observing, and close every widget the panel made."""
        if self.comm is None:
            return  # already closed (ipywidgets calls close() again from __del__)
        self.cancel()
        self.params.unobserve(self._on_model, names="model")
        self.params.unobserve(self._update_cost)
        self.params.unobserve(self._recheck_problems)
        self.controls.close()
        self.grid.close()
        if self.gallery is not None:
            self.gallery.close()
        close_tree(self)

    def _ipython_display_(self) -> None:
        display_with_record(self, self.record)

    def __repr__(self) -> str:
        return f"ImagePanel(model={self.params.model!r}, tiles={len(self.tiles)})"

    # -- internals --------------------------------------------------------------

    def _on_model(self, _change: Any) -> None:
        self._update_note()

    async def _identify_server(self) -> None:
        """Ask a server started elsewhere once whether it is the emulator: banner and notes follow."""
        try:
            await self.client.identify()  # the API itself is known and never asked
        except ImagesError:  # unreachable now: the first Generate says so, in place
            return
        self.banner.value = banner_html(self.client)
        self._update_note()
        self._update_cost()

    def _update_note(self, *, nothing_offered: bool = False) -> None:
        lines = []
        spec = self.params.spec
        note = spec.retirement_note()
        if note is not None:
            if not spec.retired():
                lines.append(f"{spec.name}: {note}.")
            elif getattr(self.client, "is_emulator", False):
                lines.append(f"{spec.name}: {note}; the built-in emulator still serves it.")
            elif getattr(self.client, "allow_retired", False):
                lines.append(f"{spec.name}: {note}. ImagesClient(allow_retired=True) sends it "
                             "anyway; expect the API to refuse it.")
            else:
                lines.append(f"{spec.name}: {note}. Nothing is sent "
                             "(ImagesClient(allow_retired=True) sends it anyway).")
        if nothing_offered:
            lines.append("The server lists no image model the table knows; every model is "
                         "offered.")
        for name in self._unlisted[:NOTE_NAMES]:  # a server may list thousands: the note stays short
            lines.append(f"The server offers {name}, which the table does not know; to use it: "
                         f'iw.register_model(iw.ModelSpec.like("{default_model()}", '
                         f'name="{name}")), then make a new panel.')
        if len(self._unlisted) > NOTE_NAMES:
            lines.append(f"... and {len(self._unlisted) - NOTE_NAMES:,} more image models the "
                         "table does not know (client.list_models() lists them).")
        self.model_note.value = "<br>".join(html.escape(line) for line in lines)

    def _update_cost(self, _change: Any = None) -> None:
        """The estimate of what Generate would cost, and what was spent: before, not after."""
        estimate = self.params.estimate()
        parts = [str(estimate) if estimate else "price unknown for these settings"]
        # Billed and emulated apart, never added: the emulator bills nothing.
        emulator = getattr(self.client, "is_emulator", False)
        if SESSION.total or not emulator:
            parts.append(f"spent this session: ${SESSION.total:.3f}")
        if SESSION.emulated or emulator:
            parts.append(f"{emulated_text(SESSION.emulated)} this session")
        for name, ledger in (("panel", self.spending), ("session", SESSION)):
            if ledger.budget is not None:
                parts.append(f"{name} budget ${ledger.budget:.2f}")
        self.cost_line.value = html.escape(" · ".join(parts))

    def _show_problems(self, error: ParamsError) -> None:
        self.status.value = '<span class="iw-error">' + "<br>".join(
            html.escape(problem) for problem in error.problems) + "</span>"
        # A budget's refusal is not the params' alone: said until the next Generate.
        self._problems_shown = not isinstance(error, BudgetExceededError)

    def _recheck_problems(self, _change: Any = None) -> None:
        """Said again as the params change, so a fixed problem goes ("prompt is empty", then typed)."""
        if not self._problems_shown:
            return
        try:
            self.client.check_model(self.params.to_request())
        except ParamsError as error:
            self._show_problems(error)
        else:
            self._problems_shown = False
            self.status.value = ""

    def _on_generate_click(self, _button: Any = None) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.status.value = ('<span class="iw-error">no running event loop here; '
                                 "use <code>await panel.generate()</code></span>")
            return
        self.jobs.spawn(self.generate())

    def _show_error(self, error: BaseException) -> None:
        # A tile shows its own error; anything else must not vanish silently.
        self.status.value = (f'<span class="iw-error">'
                             f'{shown_html(str(error), "panel.jobs.last_error")}</span>')

    def _update_status(self) -> None:
        self._update_cost()  # a finished image adds to what was spent
        self.cancel_button.disabled = not self.jobs.busy
        if not self.jobs.busy:
            self.record.flush()
        running = self.jobs.in_flight
        if running:
            self.status.value = f"{running} image{'s' if running != 1 else ''} in progress…"
        elif self.status.value.endswith("in progress…"):
            self.status.value = ""

    def _open_history(self, change: Any) -> None:
        if change["new"] != 0 or self.history is None:
            return
        if self.gallery is None:
            self.gallery = Gallery(self.store, on_use=self.use_settings)
            self.history.children = (self.gallery,)
        else:
            self.gallery.refresh()  # images made since it was last opened

    def _on_saved(self, tile: ImageTile, saved: SavedImage) -> None:
        # Every save, a Retry save's too: the record a reopened notebook shows stays whole.
        self.record.add(saved.path, f"{tile.params.prompt} ({tile.params.model})")

    def _reuse(self, tile: ImageTile) -> None:
        if self._reused is not None and self._reused is not tile:
            self._reused.note_reuse(shown=False)  # only the latest tile says its settings are in
        self._reused = tile
        tile.note_reuse(self.use_settings(tile.params))

    def _on_thumbnail_size(self, change: Any) -> None:
        self.thumbnail_size = change["new"]
        resizing = self._resize_tiles(self.thumbnail_size)
        try:
            self.jobs.spawn(resizing)
        except RuntimeError:  # no loop here (a script): resize in this thread
            asyncio.run(self._resize_tiles(self.thumbnail_size))

    async def _resize_tiles(self, longest: int) -> None:
        self.grid.fit(max(longest, MIN_TILE_WIDTH) + 16)  # a tile's width: the rows' columns
        await asyncio.gather(*(tile.resize(longest) for tile in self.tiles))
