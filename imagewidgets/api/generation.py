"""One request without streaming: sent, read and its images checked, under its deadline.

The deadline starts when the request is sent (:class:`.deadline.Deadline`), and
the images are kept as they are checked: when it passes while the later ones
(image URLs) download, the error raised holds those that did.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from ..errors import APITimeoutError
from ..inputs import EditInputs
from ..results import GeneratedImage, Generation
from .answers import Answer, parse_answer
from .deadline import Deadline
from .multipart import Form, form_off_loop
from .routing import EDITS, GENERATIONS
from .streams import OnBilled, Requests
from .transport import guarded, read_answer

__all__ = ["Sender", "generate_once"]


class Sender(Requests, Protocol):
    """What a request needs of the client: a stream's needs, and each image as it is checked."""

    async def _images(self, answer: Answer, body: Mapping[str, Any], first_index: int,
                      request_id: str | None,
                      arrived: list[GeneratedImage] | None = None) -> list[GeneratedImage]: ...


async def generate_once(client: Sender, body: Mapping[str, Any], image_index: int,
                        on_sent: Callable[[], None] | None = None, variation: int = 0,
                        on_billed: OnBilled | None = None,
                        files: EditInputs | None = None) -> Generation:
    """One non-streaming request of a checked ``body``, retries included.

    With ``files`` it is an edit: one multipart body of ``body`` and the files, built
    once and sent to ``/images/edits`` on every try.

    Raises
    ------
    APITimeoutError
        The total timeout passed; with ``n > 1`` and some images checked by
        then, it holds them (``error.images``, ``error.failures``).
    """
    body = {name: value for name, value in body.items() if name not in ("stream", "partial_images")}
    form = None if files is None else await form_off_loop(body, files)
    deadline = Deadline(client.timeouts.total)
    arrived: list[GeneratedImage] = []  # images checked so far: kept if the deadline passes
    try:
        # The timeout outside the guard: a guarded step must not cancel itself.
        async with deadline.scope():
            # One guarded step for the whole request: sending, reading and closing inside
            # it need no task of their own (three turns of the loop each).
            return await guarded(_send_and_read(client, body, image_index, on_sent, variation,
                                                deadline, on_billed, arrived, form))
    except TimeoutError:
        error = APITimeoutError(client._past_deadline(
            "not every image downloaded" if arrived else "no answer"))
        if arrived:  # the answer came, billed: the images that downloaded are not lost
            asked = int(body.get("n") or 1)
            got = {image.image_index for image in arrived}
            error.keep(arrived, {index: error for index in range(image_index, image_index + asked)
                                 if index not in got}, asked)
        raise error from None


async def _send_and_read(client: Sender, body: Mapping[str, Any], image_index: int,
                         on_sent: Callable[[], None] | None, variation: int, deadline: Deadline,
                         on_billed: OnBilled | None, arrived: list[GeneratedImage],
                         form: Form | None) -> Generation:
    """The request of :func:`generate_once`; each image checked is added to ``arrived``."""
    response = await client._open(GENERATIONS if form is None else EDITS, body,
                                  image_index=image_index, on_sent=on_sent, variation=variation,
                                  deadline=deadline, form=form)
    try:
        raw = await read_answer(response, body.get("n"), client.limits)
    finally:
        await client._close(response)
    answer = parse_answer(raw)
    if on_billed is not None:
        on_billed(answer.usage, answer.fields)
    request_id = client._request_id(response)
    images = await client._images(answer, body, image_index, request_id, arrived)
    sent = deadline.started if deadline.started is not None else time.monotonic()
    return Generation(images=images, usage=answer.usage, created=answer.created,
                      request_id=request_id, elapsed=time.monotonic() - sent)
