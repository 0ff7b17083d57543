"""The synchronous :func:`generate` and :func:`edit`, for scripts and quick notebook cells."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, TypeVar
from urllib.parse import urlsplit

from traitlets import TraitError

from .api import ImagesClient, default_client, route
from .api.editing import EditSource, edit_params
from .api.redact import redact, url_secrets
from .errors import ImagesError, ParamsError
from .inputs import EditInputs, ImageSource
from .params import ImageParams
from .results import GeneratedImage, Generation, Usage, billed_cost
from .spending import SESSION
from .storage import DEFAULT_STORE, ImageStore, StoreChoice, sidecar_record, store_from

__all__ = ["CANCEL_GRACE", "edit", "generate"]

T = TypeVar("T")

CANCEL_GRACE = 5.0
"""Seconds an interrupted :func:`generate` waits for its cancelled request to let go (closing
its connection takes milliseconds): a worker stuck past it is left to end on its own."""


def generate(prompt: str, *, store: StoreChoice = DEFAULT_STORE,
             **fields: Any) -> list[GeneratedImage]:
    """Generate images synchronously: in a script, or in a notebook cell.

    Uses the API with ``OPENAI_API_KEY`` set (or the server at ``OPENAI_BASE_URL``),
    else the built-in emulator.
    Inside a running event loop (a notebook cell) the request runs on a
    private loop in a worker thread; nothing is patched, and interrupting the
    kernel cancels the request there (its connection closed) before
    ``KeyboardInterrupt`` is raised. Every image is written to ``store`` (as a
    panel's: ``imagewidgets-output/`` by default, None for nothing on disk) with
    a sidecar of its settings; a write that fails (a full disk, a read-only
    folder) warns, naming the folder and why, and the images are returned all
    the same: they were billed. The estimate is reserved on
    ``iw.spending.SESSION`` first (its budget may refuse it:
    :class:`BudgetExceededError`, nothing sent) and the cost counted there.

    With ``n > 1``, when some images arrive and others fail (or the deadline
    passes while the later ones download), the error raised holds those that
    arrived in ``error.images``; they are saved too.
    """
    where = store_from(store)
    try:
        params = ImageParams(prompt=prompt, **fields)
    except TraitError as error:
        raise ParamsError([str(error)]) from None
    return _run(params, lambda client, on_billed: client.generate(params, on_billed=on_billed),
                where, None)


def edit(image: EditSource, prompt: str, *, mask: ImageSource | None = None,
         markup: ImageSource | None = None, store: StoreChoice = DEFAULT_STORE,
         **fields: Any) -> list[GeneratedImage]:
    """Edit images synchronously (``POST /v1/images/edits``), as :func:`generate` generates.

    ``image`` is one image or a list, the first being the one edited: bytes, a path, a
    PIL image, a :class:`~imagewidgets.GeneratedImage`, or a saved image of the store
    (a :class:`~imagewidgets.storage.SavedImage` or its path). ``mask`` (a PNG whose alpha-0
    pixels mark where to edit) or ``markup`` (a transparent PNG overlay guiding the edit)
    go with it. The fields are checked at ``edits`` and the files against the model's rules
    before anything is sent (:class:`ParamsError`, naming the argument).

    Each image saved says it is an edit and names its parents (the saved images it came
    from, by file and id) in its sidecar and embedded metadata; the mask or markup is kept
    beside it as ``<name>.mask.png`` / ``<name>.markup.png``. Otherwise as :func:`generate`.
    """
    where = store_from(store)
    params = edit_params({"prompt": prompt, **fields}, {})
    inputs = EditInputs.of(image, mask=mask, markup=markup)
    beside = {kind: found.data for kind in ("mask", "markup")
              if (found := getattr(inputs, kind)) is not None}
    return _run(params, lambda client, on_billed: client.edit(params, inputs, on_billed=on_billed),
                where, (inputs.parents, beside), inputs)


Send = Callable[[ImagesClient, Callable[[Usage | None, Mapping[str, Any]], None]], Awaitable[Generation]]
"""One call of a client, given the ``on_billed`` hook: what :func:`_run` runs."""

Lineage = tuple[list[dict[str, Any]], dict[str, bytes]]
"""An edit's parents and the files kept beside its images; None for a generation."""


def _run(params: ImageParams, send: Send, where: ImageStore | None,
         lineage: Lineage | None, inputs: EditInputs | None = None) -> list[GeneratedImage]:
    """``send`` on the default client, synchronously, its cost reserved and its images saved."""
    unsaved: list[str] = []  # why writes failed: warned in the caller's thread, at its line

    async def run() -> list[GeneratedImage]:
        estimate = params.estimate(inputs)  # an edit's input images are billed too
        per_image = estimate.per_image if estimate else None
        billed: list[float | None] = []  # the server answered: billed, whatever happens next

        def on_billed(usage: Usage | None, said: Mapping[str, Any]) -> None:
            one = billed_cost(params.to_dict(), usage, said)  # usage covers the whole answer
            billed.append(one if one is None or usage is not None else one * (params.n or 1))

        with SESSION.reserve(estimate.dollars if estimate else None) as held:
            async with default_client() as client:
                server = {"host": urlsplit(client.base_url).hostname,
                          "emulator": client.is_emulator}
                try:
                    generation = await send(client, on_billed)
                except ImagesError as error:  # some of n failed: those that arrived are kept
                    if billed:
                        held.settle(billed[0], emulated=client.is_emulator)
                    server["emulator"] = client.is_emulator
                    await _save_all(where, error.images, server, None, unsaved, lineage, per_image)
                    raise
                except BaseException:  # a bad image, a cancel: still billed once answered
                    if billed:
                        held.settle(billed[0], emulated=client.is_emulator)
                    raise
                # Emulated or not is read now: the client may learn it from the answer.
                held.settle(_cost(generation.images), emulated=client.is_emulator)
                server["emulator"] = client.is_emulator
        await _save_all(where, generation.images, server, generation.elapsed, unsaved, lineage,
                        per_image)
        return generation.images

    try:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(run())
        return _in_worker_thread(run())
    finally:
        if unsaved:
            found = route()  # what the client used: its key is hidden if an error echoes it
            secrets = (*([found.key] if found.key else []), *url_secrets(found.url))
            for why in unsaved:
                warnings.warn(redact(why, secrets), RuntimeWarning, stacklevel=3)


async def _save_all(where: ImageStore | None, images: Sequence[GeneratedImage],
                    server: Mapping[str, Any], seconds: float | None, unsaved: list[str],
                    lineage: Lineage | None = None, per_image: float | None = None) -> None:
    """Write each image and its sidecar to ``where``; why a write failed goes to ``unsaved``
    (the images are billed, and returned all the same) and the next images are still tried.
    An edit's ``lineage`` names its parents in each sidecar and keeps its mask beside each;
    ``per_image`` is the estimate of one image, its inputs included."""
    if where is None:
        return
    parents, beside = lineage if lineage is not None else (None, None)
    for image in images:
        record = sidecar_record(image, cost=image.cost(), server=dict(server), seconds=seconds,
                                estimated=per_image, parents=parents)
        try:
            await asyncio.to_thread(where.save, image, record, beside=beside)
        except (OSError, ValueError) as error:  # a full disk, a read-only folder, a refusal
            unsaved.append(f"an image was not saved to {where.folder}: {error}. It is returned "
                           "all the same: save it with image.save(path)")


def _in_worker_thread(main: Coroutine[Any, Any, T]) -> T:
    """Run ``main`` on a private event loop in a worker thread and wait for it here.

    A ``KeyboardInterrupt`` while waiting (the kernel's interrupt button) cancels
    ``main`` on its loop, waits up to :data:`CANCEL_GRACE` for it to let go of its
    connection, and is raised again: the cell stops now, not when the request would end.
    """
    loop = asyncio.new_event_loop()
    task = loop.create_task(main)  # made here, so an interrupt can reach it from the start
    outcome: concurrent.futures.Future[T] = concurrent.futures.Future()

    def work() -> None:
        try:
            outcome.set_result(_drive(loop, task))
        except BaseException as error:  # a cancel too: handed to the waiting thread
            outcome.set_exception(error)

    # A daemon: one stuck past the grace must not hold the interpreter open at exit.
    worker = threading.Thread(target=work, name="imagewidgets-generate", daemon=True)
    worker.start()
    try:
        return outcome.result()
    except KeyboardInterrupt:
        with contextlib.suppress(RuntimeError):  # the loop closed: it had already ended
            loop.call_soon_threadsafe(task.cancel)
        worker.join(CANCEL_GRACE)
        raise


def _drive(loop: asyncio.AbstractEventLoop, task: asyncio.Task[T]) -> T:
    """What ``asyncio.run`` does, for a task made outside the thread that runs it."""
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(task)
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cost(images: Sequence[GeneratedImage]) -> float | None:
    """Dollars for ``images``; None when one's price is unknown."""
    costs = [image.cost() for image in images]
    return None if None in costs else sum(cost for cost in costs if cost is not None)
