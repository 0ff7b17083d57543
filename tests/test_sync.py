"""The synchronous ``iw.generate``: in a script, and inside a running loop."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest
from PIL import Image

import imagewidgets as iw
import imagewidgets.storage
from imagewidgets.api import default_client
from imagewidgets.emulator import EmulatorServer

from hostile import PNG as HOSTILE_PNG, Hostile


def test_sync_generate_in_a_script(monkeypatch: pytest.MonkeyPatch, server: EmulatorServer,
                                   api_key: str, output_folder: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    # OPENAI_BASE_URL could be the API: a model it still serves
    images = iw.generate("A cute cat", model="gpt-image-2.6-flare", quality="low")
    assert len(images) == 1 and images[0].format == "png"
    # Kept on disk with its settings: the default folder ($IMAGEWIDGETS_DIR here).
    (sidecar,) = output_folder.glob("*.json")
    record = json.loads(sidecar.read_text())
    assert record["params"]["prompt"] == "A cute cat" and record["usage"]["output_tokens"] > 0
    assert record["cost"]["actual"] > 0 and record["cost"]["estimated"] > 0  # the gallery's totals
    assert (output_folder / record["file"]).read_bytes().startswith(images[0].data[:8])
    assert api_key not in sidecar.read_text()
    assert iw.generate("A cute cat", model="gpt-image-2.6-flare", store=None)
    assert len(list(output_folder.glob("*.json"))) == 1  # store=None kept nothing


async def test_sync_generate_inside_a_running_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("IMAGEWIDGETS_EMULATOR_LATENCY", "0")
    asyncio.get_running_loop()  # a notebook cell: a loop is running
    images = iw.generate("A cute cat", model="dall-e-2", size="256x256", n=2)
    assert [image.width for image in images] == [256, 256]
    assert default_client().is_emulator


def test_an_answer_whose_image_is_bad_is_still_counted_as_billed(
        monkeypatch: pytest.MonkeyPatch, server: EmulatorServer, api_key: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    server.inject("not_an_image", times=1)
    with pytest.raises(iw.ImageDecodeError):
        iw.generate("A lighthouse", model="gpt-image-2", quality="low", store=None)
    # The server answered, so the API would have billed it: counted, nothing left held.
    assert iw.spending.SESSION.emulated > 0 and iw.spending.SESSION.reserved == 0


def _saved_parent(folder: Path) -> imagewidgets.storage.SavedImage:
    """A generation saved in ``folder`` as the store saves one."""
    from imagewidgets.storage import ImageStore, sidecar_record

    made = iw.GeneratedImage(data=HOSTILE_PNG, format="png", width=16, height=16,
                             params={"model": "gpt-image-2", "prompt": "A lighthouse"})
    record = sidecar_record(made, cost=None, estimated=None, seconds=None, server=None)
    return ImageStore(folder).save(made, record)


def test_sync_edit_of_a_saved_image_writes_a_child_naming_its_parent(
        monkeypatch: pytest.MonkeyPatch, hostile: Hostile, api_key: str, output_folder: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", hostile.url)
    parent = _saved_parent(output_folder)
    mask = io.BytesIO()
    Image.new("RGBA", (16, 16), (0, 0, 0, 0)).save(mask, "PNG")
    images = iw.edit(parent, "The same, at night", mask=mask.getvalue(), model="gpt-image-2",
                     quality="low")
    assert len(images) == 1 and images[0].format == "png"
    (request,) = hostile.seen
    assert request.path == "/v1/images/edits" and parent.path.read_bytes() in request.body
    assert request.headers["content-type"].startswith("multipart/form-data")
    children = [path for path in output_folder.glob("*.json") if path != parent.sidecar]
    record = json.loads(children[0].read_text())
    parent_id = json.loads(parent.sidecar.read_text())["id"]
    assert record["endpoint"] == "edits"
    assert record["parents"] == [{"file": parent.path.name, "id": parent_id}]
    assert (output_folder / record["mask"]).read_bytes() == mask.getvalue()
    assert record["params"]["prompt"] == "The same, at night"
    # The gallery shows the parent and the child, never the mask.
    assert len(imagewidgets.storage.ImageIndex(output_folder).refresh()) == 2
    # The key is in no file written, nor in any file's name.
    for path in output_folder.rglob("*"):
        assert api_key not in path.name
        assert not path.is_file() or api_key.encode() not in path.read_bytes()


def test_sync_edit_on_the_emulator_keeps_the_unmasked_pixels_and_names_its_parent(
        monkeypatch: pytest.MonkeyPatch, server: EmulatorServer, api_key: str,
        output_folder: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    (made,) = iw.generate("A red barn", model="gpt-image-2.6-flare", size="1024x1024", quality="low")
    (parent,) = output_folder.glob("*.png")
    # Edit the middle: alpha 0 there, opaque elsewhere.
    mask = Image.new("RGBA", (1024, 1024), (0, 0, 0, 255))
    mask.paste((0, 0, 0, 0), (384, 384, 640, 640))
    encoded = io.BytesIO()
    mask.save(encoded, "PNG")
    wrong = io.BytesIO()
    mask.resize((512, 512)).save(wrong, "PNG")
    sent = server.request_count
    with pytest.raises(iw.ParamsError, match=r"mask is 512x512 but image\[0\] is 1024x1024"):
        iw.edit(parent, "The same, at night", mask=wrong.getvalue(), model="gpt-image-2.6-flare")
    assert server.request_count == sent  # refused before sending
    (child,) = iw.edit(parent, "The same, at night", mask=encoded.getvalue(),
                       model="gpt-image-2.6-flare", quality="low")
    assert server.requests[-1]["path"] == "/v1/images/edits"
    before, after = (Image.open(io.BytesIO(data)).convert("RGB") for data in (made.data, child.data))
    assert after.size == (1024, 1024)  # size auto keeps the input's
    assert after.getpixel((900, 500)) == before.getpixel((900, 500))  # outside the mask: kept
    assert after.getpixel((512, 512)) != before.getpixel((512, 512))  # inside: repainted
    records = [json.loads(path.read_text()) for path in output_folder.glob("*.json")]
    (record,) = [record for record in records if record.get("endpoint") == "edits"]
    assert record["parents"][0]["file"] == parent.name
    # The input image is billed (usage) and estimated (the same token rule): the two agree.
    assert record["usage"]["image_tokens"] > 0
    assert record["cost"]["estimated"] == pytest.approx(record["cost"]["actual"], rel=0.05)


async def test_sync_edit_inside_a_running_loop_refuses_before_sending(
        monkeypatch: pytest.MonkeyPatch, hostile: Hostile, api_key: str) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", hostile.url)
    with pytest.raises(iw.ParamsError, match="dall-e-3"):  # it does not edit
        iw.edit(HOSTILE_PNG, "x", model="dall-e-3")
    with pytest.raises(iw.ParamsError, match="no such file"):
        iw.edit("nowhere.png", "x", model="gpt-image-2")
    images = iw.edit([HOSTILE_PNG, HOSTILE_PNG], "x", model="gpt-image-2", store=None)
    assert [image.format for image in images] == ["png"]
    assert [seen.path for seen in hostile.seen] == ["/v1/images/edits"]


def test_a_failed_save_of_an_edit_warns_and_still_returns(
        monkeypatch: pytest.MonkeyPatch, hostile: Hostile, api_key: str, tmp_path: Path) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", api_key)
    monkeypatch.setenv("OPENAI_BASE_URL", hostile.url)
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    with pytest.warns(RuntimeWarning, match="was not saved"):
        images = iw.edit(HOSTILE_PNG, "x", model="gpt-image-2", store=blocked)
    assert len(images) == 1
