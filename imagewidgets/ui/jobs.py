"""Jobs: the one owner of running work in the widgets.

Every task the widgets start goes through a :class:`Jobs`: it holds each task
by a strong reference until it ends (the event loop keeps only weak ones),
cancels them all on request, counts the image requests in flight, runs one
elapsed-time ticker for the tiles it runs, and reports the failures that no
tile shows. The panel and the comparison grid use it; the gallery will.

Two kinds of work are kept apart:

* an **image request** is one tile's :meth:`ImageTile.run`, started by
  :meth:`Jobs.run_tiles`; :attr:`Jobs.in_flight` counts these, and only these;
* **other work** (the task behind a Generate click, a gallery load) is started
  by :meth:`Jobs.spawn`; it makes :attr:`Jobs.busy` true but is not an image.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..api import ImagesClient
    from ..spending import Reservation
    from .tile import ImageTile

__all__ = ["Jobs"]

logger = logging.getLogger("imagewidgets")

T = TypeVar("T")


class Jobs:
    """Running work: held, counted, ticked, cancelled, its failures reported.

    Parameters
    ----------
    on_change : callable, optional
        Called with no arguments whenever work starts or ends: read
        :attr:`in_flight` and :attr:`busy` there (a status line, a Cancel button).
    on_error : callable, optional
        Called with the exception of a task that failed where no tile shows it
        (the error is logged too, on the ``imagewidgets`` logger).
    tick_seconds : float
        How often the tiles being run refresh their elapsed time.

    Examples
    --------
    >>> jobs = Jobs(on_change=lambda: print(jobs.in_flight))   # doctest: +SKIP
    >>> await jobs.run_tiles(tiles, client, bodies)            # one request per tile
    >>> jobs.spawn(panel.generate())                           # a task held until it ends
    >>> jobs.cancel_all()                                      # the Cancel button
    """

    def __init__(self, *, on_change: Callable[[], None] | None = None,
                 on_error: Callable[[BaseException], None] | None = None,
                 tick_seconds: float = 0.5) -> None:
        self.on_change = on_change
        self.on_error = on_error
        self.tick_seconds = tick_seconds
        self.last_error: BaseException | None = None
        self._spawned: set[asyncio.Task[Any]] = set()
        self._requests: dict[asyncio.Task[None], ImageTile] = {}  # one per image, with its tile
        self._held: dict[asyncio.Task[None], Reservation] = {}  # what each request reserved
        self._ticker: asyncio.Task[None] | None = None

    # -- what runs -----------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """How many image requests run now (queued behind the client's limit included)."""
        return len(self._requests)

    @property
    def busy(self) -> bool:
        """Whether anything runs: an image request or spawned work."""
        return bool(self._requests or self._spawned)

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        """Every task held now, image requests and spawned work."""
        return frozenset({*self._spawned, *self._requests})

    # -- starting and stopping -------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
        """Run ``coro`` as a task on the running loop, held until it ends.

        A failure is logged and passed to ``on_error``; cancelling is not a failure.

        Raises
        ------
        RuntimeError
            When no event loop runs in this thread (``coro`` is closed, never run).
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            coro.close()
            raise
        task = loop.create_task(coro)
        self._spawned.add(task)
        task.add_done_callback(self._spawned_done)
        self._changed()
        return task

    def run_tiles(self, tiles: Sequence[ImageTile], client: ImagesClient,
                  bodies: Sequence[Mapping[str, Any]], *, variation: int = 0,
                  reservations: Sequence[Reservation] | None = None) -> asyncio.Future[list[Any]]:
        """Start one image request per tile now; await the result to wait for all of them.

        Tile ``i`` runs ``tile.run(client, bodies[i], image_index=i, variation=variation)``
        and shows its own outcome (done, failed, cancelled); the awaitable never raises
        for a tile's failure. Cancelling it cancels its tiles' requests.
        ``reservations`` (one per tile, from :func:`~imagewidgets.spending.reserve_all`)
        go to the tiles, which settle them; one whose task never ran is released.
        Without them each tile reserves on its own ``spending``.

        Raises
        ------
        ValueError
            When ``tiles``, ``bodies`` and ``reservations`` differ in length.
        RuntimeError
            When no event loop runs in this thread.
        """
        if len(tiles) != len(bodies) or (reservations is not None
                                         and len(reservations) != len(tiles)):
            held = "" if reservations is None else f" and {len(reservations)} reservations"
            raise ValueError(f"{len(tiles)} tiles but {len(bodies)} request bodies{held}")
        loop = asyncio.get_running_loop()
        started = []
        for index, (tile, body) in enumerate(zip(tiles, bodies, strict=True)):
            reservation = reservations[index] if reservations is not None else None
            task = loop.create_task(tile.run(client, body, image_index=index, variation=variation,
                                             reservation=reservation))
            self._requests[task] = tile
            if reservation is not None:
                self._held[task] = reservation
            task.add_done_callback(self._request_done)
            started.append(task)
        if started and (self._ticker is None or self._ticker.done()):
            self._ticker = loop.create_task(self._tick())
        self._changed()
        return asyncio.gather(*started, return_exceptions=True)

    def cancel_all(self) -> None:
        """Cancel every image request and all spawned work; tiles show cancelled."""
        for task in [*self._requests, *self._spawned]:
            task.cancel()

    def cancel_tiles(self, tiles: Sequence[ImageTile]) -> None:
        """Cancel the image requests of ``tiles`` only (one grid cell); the rest run on."""
        wanted = {id(tile) for tile in tiles}
        for task, tile in list(self._requests.items()):
            if id(tile) in wanted:
                task.cancel()

    def __repr__(self) -> str:
        return f"Jobs(in_flight={self.in_flight}, spawned={len(self._spawned)})"

    # -- internals ---------------------------------------------------------------

    def _spawned_done(self, task: asyncio.Task[Any]) -> None:
        self._spawned.discard(task)
        self._report(task)
        self._changed()

    def _request_done(self, task: asyncio.Task[None]) -> None:
        self._requests.pop(task, None)
        held = self._held.pop(task, None)
        if held is not None:
            held.release()  # a task cancelled before it ran; else already settled or released
        if not self._requests and self._ticker is not None:
            self._ticker.cancel()  # nothing left to tick
            self._ticker = None
        self._report(task)  # a tile shows its own errors: only what escaped it lands here
        self._changed()

    def _report(self, task: asyncio.Task[Any]) -> None:
        if task.cancelled() or task.exception() is None:
            return
        error = task.exception()
        assert error is not None
        self.last_error = error
        logger.error("generation failed: %s", error, exc_info=error)
        if self.on_error is not None:
            self.on_error(error)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.tick_seconds)
            for tile in list(self._requests.values()):
                tile.tick()
