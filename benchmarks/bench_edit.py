"""edit() of a 1024x1024 PNG with a mask on the emulator, against a bare httpx multipart POST.

Run: ``python benchmarks/bench_edit.py [--quick]`` (or ``make bench``). The emulator runs in
its own process with no latency; two contenders take turns, round after round, in rotating
order, in one event loop, sending the same two files (a noisy 1024x1024 PNG of ~3 MB and a
1024x1024 mask with a clear rectangle):

* imagewidgets: ``ImagesClient.edit(params, inputs)``, its fields and files checked, one
  multipart body built, the image that comes back checked as every result is;
* bare httpx: ``httpx.AsyncClient.post(..., data=fields, files=...)`` to ``/images/edits``,
  ``base64.b64decode`` of its image.

The inputs are read once, before the clock starts, as the bare contender's bytes are.
Every contender must get the same bytes (checked first). The figure is the ratio of
medians, imagewidgets / bare: B17 <= 1.10.
"""

from __future__ import annotations

import asyncio
import base64
import io
from collections.abc import Awaitable, Callable

import httpx
from _shared import Figure, emulator, main, same_bytes_medians
from PIL import Image, ImageDraw

import imagewidgets as iw

PARAMS = {"model": "gpt-image-2", "prompt": "The same lighthouse, at night", "size": "1024x1024",
          "quality": "high", "output_format": "png"}
ROUNDS = 200
"""Rounds in full mode: enough that the ratio holds to about +-0.02."""
QUICK_ROUNDS = 5
GOAL = 1.10


def files() -> tuple[bytes, bytes]:
    """The photo (noise over a gradient: it compresses as a photograph does) and the mask."""
    noise = Image.effect_noise((1024, 1024), 48).convert("RGB")
    gradient = Image.linear_gradient("L").resize((1024, 1024)).convert("RGB")
    photo = Image.blend(noise, gradient, 0.5)
    mask = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    ImageDraw.Draw(mask).rectangle((256, 256, 767, 767), fill=(0, 0, 0, 0))  # edit here

    def png(image: Image.Image) -> bytes:
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    return png(photo), png(mask)


async def against(url: str, rounds: int) -> tuple[dict[str, float], int, int]:
    """Both contenders' median seconds; the bytes sent (the photo) and received."""
    photo, mask = files()
    params = iw.ImageParams(**PARAMS)
    params.endpoint = "edits"
    inputs = iw.EditInputs.of(photo, mask=mask)
    fields = {name: str(value) for name, value in params.to_request().items()}
    upload = [("image", ("image.png", photo, "image/png")), ("mask", ("mask.png", mask, "image/png"))]
    async with iw.ImagesClient(api_key="bench", base_url=url, is_emulator=True) as ours, \
            httpx.AsyncClient(timeout=60) as bare:

        async def run_ours() -> bytes:
            return (await ours.edit(params, inputs)).images[0].data

        async def run_bare() -> bytes:
            response = await bare.post(f"{url}/images/edits", data=fields, files=upload,
                                       headers={"Authorization": "Bearer bench"})
            response.raise_for_status()
            return base64.b64decode(response.json()["data"][0]["b64_json"])

        runs: dict[str, Callable[[], Awaitable[bytes]]] = {"imagewidgets": run_ours,
                                                           "bare httpx": run_bare}
        medians, reference = await same_bytes_medians(runs, "bare httpx", rounds)
    return medians, len(photo), len(reference)


def measure(quick: bool) -> tuple[list[Figure], str]:
    rounds = QUICK_ROUNDS if quick else ROUNDS
    with emulator() as url:
        medians, sent, received = asyncio.run(against(url, rounds))
    ours, bare = medians["imagewidgets"], medians["bare httpx"]
    lines = ["edit() of a 1024x1024 PNG with a 1024x1024 mask on the emulator (no latency), "
             "against a bare httpx multipart POST of the same files + base64 decode; medians of "
             "interleaved rounds", "",
             "| photo bytes | answer bytes | rounds | imagewidgets ms | bare httpx ms |",
             "|---:|---:|---:|---:|---:|",
             f"| {sent:,} | {received:,} | {rounds} | {ours * 1000:.2f} | {bare * 1000:.2f} |"]
    figure = Figure("B17", "edit() / bare httpx multipart POST + base64, 1024x1024 PNG and mask",
                    ours / bare, GOAL)
    return [figure], "\n".join(lines)


if __name__ == "__main__":
    main(measure)
