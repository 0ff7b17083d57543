"""The synchronous :func:`generate`, for scripts and quick notebook cells."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from traitlets import TraitError

from .api import default_client
from .errors import ParamsError
from .params import ImageParams
from .results import GeneratedImage, Usage, billed_cost
from .spending import SESSION
from .storage import DEFAULT_STORE, StoreChoice, sidecar_record, store_from

__all__ = ["generate"]


def generate(prompt: str, *, store: StoreChoice = DEFAULT_STORE,
             **fields: Any) -> list[GeneratedImage]:
    """Generate images synchronously: in a script, or in a notebook cell.

    Uses the API with ``OPENAI_API_KEY`` set (or the server at ``OPENAI_BASE_URL``),
    else the built-in emulator.
    Inside a running event loop (a notebook cell) the request runs on a
    private loop in a worker thread; nothing is patched. Every image is
    written to ``store`` (as a panel's: ``imagewidgets-output/`` by default,
    None for nothing on disk) with a sidecar of its settings. The estimate is
    reserved on ``iw.spending.SESSION`` first (its budget may refuse it:
    :class:`BudgetExceededError`, nothing sent) and the cost counted there.
    """
    where = store_from(store)
    try:
        params = ImageParams(prompt=prompt, **fields)
    except TraitError as error:
        raise ParamsError([str(error)]) from None

    async def run() -> list[GeneratedImage]:
        estimate = params.estimate()
        billed: list[float | None] = []  # the server answered: billed, whatever happens next

        def on_billed(usage: Usage | None, said: Mapping[str, Any]) -> None:
            one = billed_cost(params.to_dict(), usage, said)  # usage covers the whole answer
            billed.append(one if one is None or usage is not None else one * (params.n or 1))

        with SESSION.reserve(estimate.dollars if estimate else None) as held:
            async with default_client() as client:
                try:
                    generation = await client.generate(params, on_billed=on_billed)
                except BaseException:  # a bad image, some of n failed, a cancel: still billed
                    if billed:
                        held.settle(billed[0], emulated=client.is_emulator)
                    raise
                # Emulated or not is read now: the client may learn it from the answer.
                held.settle(_cost(generation.images), emulated=client.is_emulator)
            server = {"host": urlsplit(client.base_url).hostname, "emulator": client.is_emulator}
        for image in generation.images:
            if where is None:
                break
            asked = ImageParams.from_dict(image.params)
            estimate = asked.estimate()
            record = sidecar_record(image, cost=image.cost(), server=server,
                                    seconds=generation.elapsed,
                                    estimated=estimate.per_image if estimate else None)
            await asyncio.to_thread(where.save, image, record)
        return generation.images

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagewidgets-generate") as pool:
        return pool.submit(asyncio.run, run()).result()


def _cost(images: Sequence[GeneratedImage]) -> float | None:
    """Dollars for ``images``; None when one's price is unknown."""
    costs = [image.cost() for image in images]
    return None if None in costs else sum(cost for cost in costs if cost is not None)
