"""CompareGrid: two settings side by side, every cell filled concurrently, cost shown up front.

Each cell is the base parameters plus its row's and its column's value
(planned in :mod:`imagewidgets.comparison`), filled by the same
:class:`~imagewidgets.ui.tile.ImageTile` the panel uses, run by a
:class:`~imagewidgets.ui.jobs.Jobs`: there is no second code path for
generating. All cells run at once, bounded by the client's ``max_concurrency``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
from PIL import Image
from traitlets import TraitError

from ..comparison import (
    CONFIRM_OVER,
    MAX_REPEATS,
    Axis,
    CellPlan,
    base_params,
    check_size,
    default_axes,
    dollars_text,
    estimate_text,
    mark_best,
    plan_cells,
    summary_lines,
)
from ..errors import ImagesError, ParamsError
from ..imaging import SheetFile
from ..params import ImageParams, RequestBody
from ..spending import SESSION, Reservation, Spending, emulated_text, reserve_all
from ..storage import DEFAULT_STORE, StoreChoice, store_from
from .cell import GridCell, grid_table
from .compare_bar import RunBar
from .compare_sheet import grid_sheet, save_sheet, sheet_file
from .frontend import stylesheet
from .jobs import Jobs
from .liveness import KernelWatch, SavedRecord, display_with_record, folder_hint
from .tile import ImageTile
from .widgets import STYLE, banner_html, close_tree, shown_html

if TYPE_CHECKING:
    from ..api import ImagesClient

__all__ = ["CompareGrid", "GridCell", "compare"]

_STYLE = STYLE + stylesheet("compare.css")


class CompareGrid(widgets.VBox):
    """Two settings side by side: rows × columns of cells, each the base parameters plus its values.

    Parameters
    ----------
    prompt_or_params : str or ImageParams
        A prompt (streaming two partial images, the default model), or
        parameters to start from (copied; later edits don't reach the grid).
    rows, columns : (field, values), optional
        Any request field (``model``, ``quality``, ``size``, ``style``,
        ``background``, ``output_format``, ``moderation``, ``complexity`` ...)
        or ``"prompt"``, with the values to compare. Defaults: the models of
        the newest family as rows, qualities low, medium and high as columns;
        with one axis given, the other is whichever of those two it does not vary.
    repeats : int
        Samples per cell (1 to 10), to show how much one setting varies.
    client : ImagesClient, optional
        Defaults as the panel's (the API with a key, else the built-in emulator).
        Its ``max_concurrency`` bounds how many cells run at once.
    title : str, optional
        Shown above the grid and on the contact sheet; default: the prompt.
    adapt : bool
        Map a value a cell's model does not take to the nearest one it does
        (default), and say so in the cell; False leaves such cells not available.
    thumbnail_size : int
        Longest side of each sample's thumbnail, in pixels (the Thumbnails
        slider changes it); the grid fits the notebook's width either way,
        a cell's samples wrapping under each other.
    on_use : callable, optional
        Called with a sample's parameters by its "Use settings" button
        (``panel.compare`` passes the panel's); returns None when they were
        taken, else why not, said next to the button. Without it the button
        is hidden.
    store : ImageStore, str, path or None
        Where every final image is written, as the panel's; its sidecar names
        the grid, the row, the column and the sample.
    budget : float, optional
        Dollars this grid may spend: Run refuses when the estimate of what it
        would send, added to what is spent and reserved, passes it (as it does
        past ``iw.spending.SESSION.budget``); a cell of unknown price is refused
        under a budget unless ``grid.spending.allow_unpriced`` is True.

    Nothing is sent until Run is clicked or :meth:`run` awaited; Run on a grid of
    more than ``CONFIRM_OVER`` (50) requests asks first, naming their number and estimate.

    Raises
    ------
    ParamsError
        An unknown field, an empty axis, a value no model in the grid takes,
        or more than ``MAX_REQUESTS`` (400) requests: nothing is made or sent.

    Examples
    --------
    >>> grid = CompareGrid("a lighthouse", rows=("model", ["gpt-image-2", "gpt-image-2.6-flare"]),
    ...                    columns=("quality", ["low", "high"]))       # doctest: +SKIP
    >>> grid                                  # shows it, with the cost estimate
    >>> await grid.run()                      # or click Run
    >>> grid.summary()                        # one dict per cell
    """

    def __init__(self, prompt_or_params: str | ImageParams = "", rows: Any = None,
                 columns: Any = None, *, repeats: int = 1, client: ImagesClient | None = None,
                 title: str | None = None, adapt: bool = True, thumbnail_size: int = 224,
                 on_use: Callable[[ImageParams], str | None] | None = None,
                 store: StoreChoice = DEFAULT_STORE, budget: float | None = None) -> None:
        if isinstance(repeats, bool) or not isinstance(repeats, int) or not (
                1 <= repeats <= MAX_REPEATS):
            raise ParamsError([f"repeats {repeats!r} is out of range; choose 1 to {MAX_REPEATS}"])
        base = base_params(prompt_or_params)
        rows, columns = default_axes(rows, columns, base)
        self.rows, self.columns = Axis.read(rows, "rows"), Axis.read(columns, "columns")
        check_size(base, self.rows, self.columns, repeats, adapt=adapt)  # before planning a cell
        plans = plan_cells(base, self.rows, self.columns, adapt=adapt)  # refuses bad axes first
        if client is None:
            from ..api import default_client

            client = default_client()
        self.client = client
        self.store = store_from(store)
        self.spending = Spending(budget, name="grid.spending")  # the session's is SESSION
        plans = [[self._refused_by_client(plan) for plan in row] for row in plans]
        if not any(plan.available for row in plans for plan in row):
            raise ParamsError([f"no cell of this grid can be sent: {plans[0][0].reason}"])
        self.base = base
        self.repeats = repeats
        self.thumbnail_size = thumbnail_size
        self.title = title if title is not None else base.prompt
        self._on_use = on_use
        self.last_error: BaseException | None = None
        self._running: asyncio.Task[None] | None = None  # the run a second Run or run() joins
        self.jobs = Jobs(on_change=self._refresh, on_error=self._show_error)
        self.cells = [GridCell(plan, index, lambda i: self._clicked(
            lambda: self.jobs.spawn(self.rerun(i)), "await grid.rerun(i)"), thumbnail_size)
                      for index, plan in enumerate(cell for row in plans for cell in row)]
        for cell in self.cells:  # placeholders now: the plan's shape shows before Run
            if cell.available:
                self._new_tiles(cell, "not run yet")

        self.heading = widgets.HTML(f'<div class="iw-compare-title">{html.escape(self.title)}</div>')
        self.estimate_line = widgets.HTML(html.escape(estimate_text(
            len(self.cells), [cell.estimate for cell in self.cells if cell.available], self.repeats)
            + " · nothing is sent until Run"))
        self.estimate_line.add_class("iw-compare-estimate")
        self.bar = RunBar(on_run=lambda: self._clicked(self.start, "await grid.run()"),
                          on_cancel=self.cancel, on_error=self._show_error,
                          thumbnail_size=thumbnail_size, on_thumbnail_size=self._on_thumbnail_size)
        self.bar.requests, self.bar.estimate = self.requests, dollars_text(self.estimated)
        self.run_button, self.cancel_button = self.bar.run_button, self.bar.cancel_button
        self.sheet_button, self.thumbnail_slider = self.bar.sheet_button, self.bar.thumbnail_slider
        self.progress, self.progress_text = self.bar.progress, self.bar.progress_text
        self.sheet_button.source = lambda: sheet_file(self)
        self.summary_line = widgets.HTML("")
        self.summary_line.add_class("iw-compare-summary")
        self.table = grid_table(self.rows, self.columns, self.cells)
        self.watch = KernelWatch(folder_hint(self.store.folder if self.store else None))
        self.record = SavedRecord(f"imagewidgets grid: {self.title}", busy=lambda: self.jobs.busy)
        self.banner = widgets.HTML(banner_html(client))
        super().__init__([widgets.HTML(_STYLE), self.banner, self.watch, self.heading,
                          self.estimate_line, self.bar, self.table, self.summary_line])
        self.add_class("iw-compare")
        self.add_class("iw-root")  # the stylesheet's scope, shared with the panel
        self._refresh()
        if not getattr(client, "is_emulator", False):  # a workshop's emulator: say so
            with contextlib.suppress(RuntimeError):  # no loop here (a script): nothing to ask
                self.jobs.spawn(self._identify_server())

    # -- running -----------------------------------------------------------------

    @property
    def requests(self) -> int:
        """How many requests a run sends: one per sample of each available cell."""
        return self._total()

    @property
    def estimated(self) -> float | None:
        """Dollars a run is estimated at before it is sent; None when no cell's price is known."""
        priced = [cell.estimate for cell in self.cells if cell.estimate is not None]
        return sum(priced) * self.repeats if priced else None

    async def run(self) -> None:
        """Run every available cell at once (again, if it ran) and wait for all of them.

        While a run is going (Run was clicked, or :meth:`start` called) this
        waits for that one: nothing is sent twice.

        Raises
        ------
        BudgetExceededError
            When the estimate of the whole grid would pass a budget: nothing is sent.
        """
        await self.start()

    def start(self) -> asyncio.Task[None]:
        """Start :meth:`run` as a task on the running loop (what Run does); the running one, if any.

        Raises
        ------
        RuntimeError
            When no event loop runs in this thread.
        """
        if self._running is None or self._running.done():
            self._running = self.jobs.spawn(self._run_all())
        return self._running

    async def _run_all(self) -> None:
        self.last_error = None
        cells = [cell for cell in self.cells if cell.available]
        held = self._reserve(cells)
        try:
            ended = await asyncio.gather(*(self._run_cell(cell, held[i * self.repeats:(i + 1) * self.repeats])
                                           for i, cell in enumerate(cells)), return_exceptions=True)
            for outcome in ended:  # every cell ran to its end first: none was left running
                if isinstance(outcome, BaseException):
                    raise outcome
        finally:  # what none of them took is let go (billed work settled as it was billed)
            for reservation in held:
                reservation.release()

    async def rerun(self, index: int) -> None:
        """Run cell ``index`` of :attr:`cells` again; its running samples are cancelled first."""
        cell = self.cells[index]
        if not cell.available:
            raise ParamsError([f"cell {cell.title} is not available: {cell.reason}"])
        held = self._reserve([cell])
        try:
            await self._run_cell(cell, held)
        finally:
            for reservation in held:
                reservation.release()

    def cancel(self) -> None:
        """Stop every request in flight; their tiles show cancelled."""
        self.jobs.cancel_all()

    # -- reading it ----------------------------------------------------------------

    def summary(self) -> list[dict[str, Any]]:
        """One dict per cell, row by row: what the summary under the grid is made of.

        Keys: ``row``, ``column``, ``model``, ``status``, ``images``, ``failed``,
        ``seconds`` (mean per image), ``tokens``, ``cost`` (dollars, from usage
        when reported), ``estimate`` (dollars per image before running),
        ``notes``, ``reason``, ``error``, and ``fastest`` / ``cheapest`` (True
        for the cells that were).
        """
        rows = [cell.summary() for cell in self.cells]
        mark_best(rows)
        return rows

    def contact_sheet(self, image_size: int = 256) -> Image.Image:
        """The grid as one picture: title, row and column labels, each cell's images and caption.

        A grid too wide for ``image_size`` gets smaller images, so the sheet
        stays within the size limits of decoded images.
        """
        return grid_sheet(self, image_size)

    def save_contact_sheet(self, path: str | os.PathLike[str] | None = None,
                           image_size: int = 256) -> SheetFile:
        """Write :meth:`contact_sheet` as PNG (saying what it compares) and name the file.

        Default ``path``: a new file in the grid's store folder. A notebook shows the
        result by its path, never the PNG itself: a saved notebook stays small.
        """
        return save_sheet(self, path, image_size)

    def close(self) -> None:
        """Cancel what runs and close every widget the grid made."""
        if self.comm is None:
            return  # already closed
        self.cancel()
        for cell in self.cells:
            cell.close()
        close_tree(self)

    def _ipython_display_(self) -> None:
        display_with_record(self, self.record)

    def __repr__(self) -> str:
        return (f"CompareGrid(rows={self.rows.field!r} × {len(self.rows.values)}, "
                f"columns={self.columns.field!r} × {len(self.columns.values)}, "
                f"repeats={self.repeats})")

    # -- internals ---------------------------------------------------------------

    async def _run_cell(self, cell: GridCell, held: list[Reservation]) -> None:
        if cell.ran:  # a second run: fresh tiles, the old ones cancelled and closed
            self.jobs.cancel_tiles(cell.tiles)
            self._new_tiles(cell, "queued")
        else:
            for tile in cell.tiles:
                tile.status_text = "queued"
        cell.ran = True
        try:
            body = cell.params.to_request()  # planned cells have no problems: this cannot raise
            self.client.check_model(body)
        except Exception as error:  # whatever it is, the cell shows it: no tile left queued
            for tile in cell.tiles:
                tile.fail(error)
            self._refresh()
            return
        # A rerun draws other samples on the emulator; the first run is the raw requests'.
        variation, cell.runs = cell.runs, cell.runs + 1
        await self.jobs.run_tiles(cell.tiles, self.client, [RequestBody(body) for _ in cell.tiles],
                                  variation=variation, reservations=held)

    def _reserve(self, cells: list[GridCell]) -> list[Reservation]:
        """The run's estimates held, one per request, on this grid's and the session's ledgers."""
        return reserve_all((self.spending, SESSION),
                           [cell.estimate for cell in cells for _ in range(self.repeats)],
                           what=f"this run of {len(cells) * self.repeats} requests")

    def _new_tiles(self, cell: GridCell, header: str) -> None:
        place = {"grid": self.title, "row": {self.rows.field: cell.row},
                 "column": {self.columns.field: cell.column}}
        values = f"{self.rows.field} {cell.row}, {self.columns.field} {cell.column}"
        labels = [values + (f", sample {sample + 1} of {self.repeats}" if self.repeats > 1 else "")
                  for sample in range(self.repeats)]
        old, cell.tiles = cell.tiles, [
            ImageTile(cell.params.copy(), thumbnail_size=self.thumbnail_size, label=label,
                      description=label,  # the compared values, in the alt text too
                      on_reuse=self._use if self._on_use else None, store=self.store,
                      place={**place, "sample": sample}, spending=(self.spending, SESSION))
            for sample, label in enumerate(labels)]
        for tile in cell.tiles:
            tile.status_text = header
            tile.observe(self._on_tile_status, names="status")
        cell.strip.children = tuple(cell.tiles)
        for tile in old:
            tile.close()

    def _on_tile_status(self, change: Any) -> None:
        tile = change["owner"]
        if change["new"] == "done" and tile.saved is not None:
            self.record.add(tile.saved.path, f"{tile.params.prompt} ({tile.params.model}, "
                                             f"{tile.params.quality})")

    def _refused_by_client(self, plan: CellPlan) -> CellPlan:
        """A cell the client would refuse (a retired model against the API) is not available."""
        if not plan.available:
            return plan
        try:
            self.client.check_model(plan.params.to_request())
        except ParamsError as error:
            return dataclasses.replace(plan, reason=str(error))
        return plan

    def _clicked(self, action: Callable[[], object], instead: str) -> None:
        try:
            action()
        except RuntimeError:  # no loop here: a script, or a kernel without one
            self._show_error(RuntimeError(f"no running event loop here; use {instead}"))

    def _on_thumbnail_size(self, longest: int) -> None:
        self.thumbnail_size = longest
        for cell in self.cells:
            cell.fit(longest)
        try:
            self.jobs.spawn(self._resize_tiles(longest))
        except RuntimeError:  # no loop here (a script): resize in this thread
            asyncio.run(self._resize_tiles(longest))

    async def _resize_tiles(self, longest: int) -> None:
        await asyncio.gather(*(tile.resize(longest) for cell in self.cells for tile in cell.tiles))

    def _use(self, tile: ImageTile) -> None:
        if self._on_use is not None:
            tile.note_reuse(self._on_use(tile.params))  # said next to the button clicked

    def _total(self) -> int:
        return sum(self.repeats for cell in self.cells if cell.available)

    def _refresh(self) -> None:
        tiles = [tile for cell in self.cells for tile in cell.tiles]
        done = sum(tile.status == "done" for tile in tiles)
        failed = sum(tile.status == "failed" for tile in tiles)
        cancelled = sum(tile.status == "cancelled" for tile in tiles)
        total = self._total()
        if not self.jobs.busy:
            self.record.flush()  # the run ended: its saved images in the record at once
        with self.hold_sync():
            for cell in self.cells:
                cell.refresh()
            self.progress.max = max(total, 1)
            self.progress.value = min(done + failed, total)  # cancelled is not progress
            self.progress.bar_style = ("danger" if failed else "warning" if cancelled else
                                       "success" if done == total and total else "")
            text = f"{done} done · {failed} failed · {total} total"
            if cancelled:
                text += f" · {cancelled} cancelled"
            self.progress_text.value = html.escape(text)
            self.bar.busy(self.jobs.busy, done)
            summary = self._summary_html()
            if self.last_error is not None:  # kept until the next run: never overwritten
                summary += (f'<br><span class="iw-error">{html.escape(type(self.last_error).__name__)}: '
                            f"{shown_html(str(self.last_error), 'grid.last_error')}</span>")
            self.summary_line.value = summary

    async def _identify_server(self) -> None:
        with contextlib.suppress(ImagesError):  # unreachable now: Run says so, in place
            await self.client.identify()  # the API itself is known and never asked
            self.banner.value = banner_html(self.client)

    def _summary_html(self) -> str:
        parts = summary_lines(self.summary())
        tiles = [tile for cell in self.cells for tile in cell.tiles if tile.status == "done"]
        for emulated in (False, True):  # billed and emulated apart, never added
            costs = [tile.cost for tile in tiles if tile.emulated is emulated]
            known = sum(cost for cost in costs if cost is not None)
            if known:
                parts.append("total cost: " + (emulated_text(known) if emulated else f"${known:.3f}"))
        return "<br>".join(html.escape(part) for part in parts)

    def _show_error(self, error: BaseException) -> None:
        self.last_error = error
        self._refresh()

def compare(prompt: str | ImageParams, models: list[str] | None = None,
            qualities: list[str] | None = None, *, rows: Any = None, columns: Any = None,
            repeats: int = 1, client: ImagesClient | None = None, title: str | None = None,
            store: StoreChoice = DEFAULT_STORE, budget: float | None = None,
            run: bool = False, confirm: bool = False, **fields: Any) -> CompareGrid:
    """Build a :class:`CompareGrid`: shown as the cell's value, its plan and estimate, sent on Run.

    ``models`` and ``qualities`` are shorthands for ``rows=("model", models)``
    and ``columns=("quality", qualities)``; ``fields`` set the base parameters
    (``size="1536x1024"``). ``run=True`` starts it at once (without a running
    event loop, a script, it runs the grid to the end before returning); more
    than ``CONFIRM_OVER`` (50) requests need ``confirm=True`` as well.

    Raises
    ------
    ParamsError
        As :class:`CompareGrid`; or ``run=True`` on more than 50 requests without
        ``confirm=True``, naming their number and estimate (nothing is made or sent).

    Examples
    --------
    >>> iw.compare("a lighthouse", models=["gpt-image-2", "gpt-image-2.6-flare"],
    ...            qualities=["low", "high"])                           # doctest: +SKIP
    """
    if models and isinstance(prompt, str) and isinstance(models[0], str) and "model" not in fields:
        fields = {"model": models[0], **fields}  # fields are read against the grid's first model
    base = base_params(prompt)
    try:
        base.update(fields)
    except TraitError as error:
        raise ParamsError([str(error)]) from None
    if models is not None:
        rows = ("model", models)
    if qualities is not None:
        columns = ("quality", qualities)
    grid = CompareGrid(base, rows, columns, repeats=repeats, client=client, title=title,
                       store=store, budget=budget)
    if not run:
        return grid
    if grid.requests > CONFIRM_OVER and not confirm:
        requests, estimated = grid.requests, dollars_text(grid.estimated)
        grid.close()
        raise ParamsError([f"this grid sends {requests} requests, estimated {estimated}; more than "
                           f"{CONFIRM_OVER} are sent only when confirmed: pass confirm=True as "
                           "well to send them, or leave run=False to see the plan and click Run"])
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        asyncio.run(grid.run())
    else:
        grid.start()
    return grid
