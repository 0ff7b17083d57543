"""The emulator's pictures: deterministic, showing what was asked for (quality, style,
transparency, complexity), partial renders refining towards the final one, GIF, SVG, the bomb."""

from __future__ import annotations

import base64
import io
import json
import math
import zlib
from xml.etree import ElementTree

import httpx
import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from imagewidgets.emulator import EmulatorServer, serve
from imagewidgets.emulator.app import IMAGE_INDEX_HEADER
from imagewidgets.emulator.render import bomb_png, final_bytes, picture

from emulator_http import b64_image, events_of, post

# The shared fixtures (tests/conftest.py): ``server`` demands ``api_key``; ``http`` sends it.


def test_same_request_same_bytes_and_prompts_differ(http: httpx.Client) -> None:
    body = {"prompt": "A red fox", "model": "gpt-image-1", "quality": "low"}
    first, again = (post(http, **body).json()["data"][0]["b64_json"] for _ in range(2))
    other = post(http, **{**body, "prompt": "A blue whale"}).json()["data"][0]["b64_json"]
    assert first == again and first != other
    picture.cache_clear()
    final_bytes.cache_clear()  # a fresh render, not a cached one, gives the same bytes
    assert post(http, **body).json()["data"][0]["b64_json"] == first
    index_one = http.post("/images/generations", json=body, headers={IMAGE_INDEX_HEADER: "1"})
    two = post(http, **body, n=2).json()["data"]
    assert index_one.json()["data"][0]["b64_json"] == two[1]["b64_json"] != first


def test_quality_style_and_transparency_show(http: httpx.Client) -> None:
    def colourfulness(style: str) -> float:
        image = b64_image(post(http, prompt="A garden", model="dall-e-3", style=style,
                             response_format="b64_json").json()["data"][0]["b64_json"])
        return float(ImageStat.Stat(image.convert("HSV").getchannel("S")).mean[0])

    assert colourfulness("vivid") > colourfulness("natural") * 1.3
    sizes = {q: len(post(http, prompt="A garden", model="gpt-image-1", quality=q).content)
             for q in ("low", "high")}
    assert sizes["high"] > sizes["low"]  # more detail, more bytes
    clear = b64_image(post(http, prompt="A logo", model="gpt-image-1.5", background="transparent")
                   .json()["data"][0]["b64_json"])
    assert clear.mode == "RGBA" and clear.getchannel("A").getextrema()[0] == 0
    alpha = clear.getchannel("A")
    middle = (clear.width // 2, clear.height // 2)
    assert alpha.getpixel((0, 0)) == 0 and alpha.getpixel(middle) == 255  # a subject, clear around


def test_output_compression_is_applied(http: httpx.Client) -> None:
    def size_of(fmt: str, compression: int) -> int:
        answer = post(http, prompt="A garden", model="gpt-image-1", output_format=fmt,
                       output_compression=compression).json()
        return len(base64.b64decode(answer["data"][0]["b64_json"]))

    assert size_of("jpeg", 20) < size_of("jpeg", 90)
    assert size_of("webp", 20) < size_of("webp", 90)


def test_partials_refine_towards_the_final_picture(http: httpx.Client) -> None:
    response = http.post("/images/generations", json={
        "prompt": "A harbour", "model": "gpt-image-1.5", "stream": True, "partial_images": 3,
        "size": "1536x1024", "output_format": "webp", "background": "transparent"})
    events = events_of(response)
    assert all(payload["size"] == "1536x1024" and payload["output_format"] == "webp"
               and payload["background"] == "transparent" for _, payload in events)
    final = b64_image(events[-1][1]["b64_json"]).convert("RGBA").resize((96, 64))

    def distance(b64: str) -> float:
        diff = ImageChops.difference(b64_image(b64).convert("RGBA").resize((96, 64)), final)
        return sum(ImageStat.Stat(diff).mean)

    distances = [distance(payload["b64_json"]) for _, payload in events[:-1]]
    assert distances == sorted(distances, reverse=True) and distances[-1] > 0


def test_the_bomb_is_a_valid_png_that_pillow_refuses() -> None:
    bomb = bomb_png()
    length = int.from_bytes(bomb[8:12], "big")
    assert zlib.crc32(bomb[12:16 + length]) == int.from_bytes(bomb[16 + length:20 + length], "big")
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(bomb))


def _detail(data: bytes) -> float:
    """Mean edge strength: more shapes, more edges."""
    with Image.open(io.BytesIO(data)) as image:
        return float(ImageStat.Stat(image.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0])


def test_complexity_shows_in_the_picture(http: httpx.Client) -> None:
    pictures = {level: base64.b64decode(post(http, prompt="A valley", model="gpt-image-2.6-flare",
                                              complexity=level, quality="low").json()
                                        ["data"][0]["b64_json"])
                for level in ("low", "medium", "high")}
    assert len(set(pictures.values())) == 3
    assert _detail(pictures["low"]) < _detail(pictures["medium"]) < _detail(pictures["high"])
    default = post(http, prompt="A valley", model="gpt-image-2.6-flare", quality="low").json()
    assert base64.b64decode(default["data"][0]["b64_json"]) == pictures["high"]  # high by default


@pytest.mark.parametrize(("frames", "duration", "encoded"),
                         [(2, 20, 20), (9, 200, 200), (16, 2000, 2000), (3, 125, 130), (4, 24, 20)])
def test_gif_has_the_frames_and_durations_asked_for(http: httpx.Client, frames: int,
                                                    duration: int, encoded: int) -> None:
    answer = post(http, prompt="A balloon", model="gpt-image-2.6-flare", output_format="gif",
                   frame_count=frames, frame_duration_ms=duration, quality="low").json()
    assert answer["output_format"] == "gif"
    with Image.open(io.BytesIO(base64.b64decode(answer["data"][0]["b64_json"]))) as gif:
        assert (gif.format, gif.size, gif.n_frames, gif.info["loop"]) == ("GIF", (1024, 1024),
                                                                          frames, 0)
        durations, seen = [], set()
        for index in range(gif.n_frames):
            gif.seek(index)
            durations.append(gif.info["duration"])
            seen.add(gif.convert("RGB").tobytes())
    # Every frame moves; durations are rounded to the nearest 10 ms, as the API does.
    assert durations == [encoded] * frames and len(seen) == frames
    still = post(http, prompt="A balloon", model="gpt-image-2.6-flare", quality="low").json()
    assert answer["usage"]["output_tokens"] == math.ceil(
        still["usage"]["output_tokens"] * (1 + (frames - 1) / 4))


def test_svg_is_a_small_valid_document_with_the_prompt_escaped(http: httpx.Client) -> None:
    prompt = 'A <script>alert("x")</script> & an "onload" \x01 \ud800 lighthouse'
    raw = json.dumps({"prompt": prompt, "model": "gpt-image-2.6-sunburst", "output_format": "svg",
                      "size": "1280x720"})  # ASCII: a lone surrogate travels as \ud800
    answer = http.post("/images/generations", content=raw,
                       headers={"content-type": "application/json"}).json()
    assert answer["output_format"] == "svg"
    data = base64.b64decode(answer["data"][0]["b64_json"])
    assert len(data) < 64_000 and b"<script" not in data and b"onload=" not in data
    root = ElementTree.fromstring(data)  # well-formed XML
    svg = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{svg}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("1280", "720",
                                                                             "0 0 1280 720")
    title = root.find(f"{svg}title")
    assert title is not None and title.text == 'A <script>alert("x")</script> & an "onload"   lighthouse'
    assert len(root.findall(f".//{svg}polygon")) >= 3 and root.findall(f".//{svg}ellipse")
    assert not [element for element in root.iter() if any(
        name.startswith("on") or "href" in name for name in element.attrib)]


def test_photographic_pictures_are_as_large_as_photos_and_still_deterministic() -> None:
    body = {"model": "gpt-image-2", "prompt": "A lighthouse at dusk", "size": "1024x1024",
            "quality": "medium", "output_format": "png"}
    with serve(port=0, photographic=True) as photo, serve(port=0) as plain, \
            httpx.Client(timeout=120) as http:
        def image(server: EmulatorServer) -> bytes:
            answer = http.post(f"{server.url}/images/generations", json=body)
            assert answer.status_code == 200, answer.text
            return base64.b64decode(answer.json()["data"][0]["b64_json"])

        grainy, again, synthetic = image(photo), image(photo), image(plain)
    # What a benchmark of image size needs: about the 2.5 MB of an API photo, not ~100 KB.
    assert 2_000_000 < len(grainy) < 3_000_000, len(grainy)
    assert len(synthetic) < 500_000
    assert grainy == again
    with Image.open(io.BytesIO(grainy)) as picture_a, Image.open(io.BytesIO(synthetic)) as picture_b:
        assert picture_a.size == picture_b.size == (1024, 1024)
        # The same scene under the grain: the mean colour stays close.
        means = [ImageStat.Stat(image.convert("RGB")).mean for image in (picture_a, picture_b)]
        assert all(abs(a - b) < 30 for a, b in zip(*means, strict=True))
