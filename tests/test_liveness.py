"""What a panel leaves for a notebook without its kernel: the saved record and the kernel watch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import imagewidgets as iw
from imagewidgets.ui import liveness
from imagewidgets.ui.liveness import RECORD_CLASS, KernelWatch, SavedRecord


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any, dict[str, Any]]]:
    """Every IPython display call, instead of a front end."""
    calls: list[tuple[str, Any, dict[str, Any]]] = []

    def fake(name: str) -> Any:
        return lambda data, **options: calls.append((name, data, options))

    monkeypatch.setattr(liveness, "_ipython", fake)
    return calls


def test_the_record_names_files_relative_to_the_notebook_and_escapes_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    record = SavedRecord('a "panel"')
    assert record.html() == (f'<div class="{RECORD_CLASS}" data-iw-record="{record.display_id}">'
                             "</div>")  # nothing saved: nothing shown
    record.add(tmp_path / "imagewidgets-output" / "a.png", 'A <b>"bold"</b> fox')
    text = record.html()
    assert 'src="imagewidgets-output/a.png"' in text
    assert "A &lt;b&gt;&quot;bold&quot;&lt;/b&gt; fox" in text and "<b>" not in text
    assert "1 image saved" in text and "a &quot;panel&quot;" in text
    assert "base64" not in text and "data:" not in text


def test_the_records_images_are_fetched_only_when_seen(tmp_path: Path) -> None:
    # While the live panel hides its record, a page of 200 saved images must not fetch them
    # (every save redraws the record): in B14 those loads made typing 5 times slower.
    record = SavedRecord("panel")
    for index in range(3):
        record.add(tmp_path / f"{index}.png", f"image {index}")
    images = record.html().split("<img ")[1:]
    assert len(images) == 3
    assert all(' loading="lazy"' in image for image in images)


def test_the_record_is_updated_in_place_once_shown(shown: list[Any], tmp_path: Path) -> None:
    record = SavedRecord("panel")
    record.add(tmp_path / "one.png", "one")  # not shown yet: nothing displayed
    assert shown == []
    record.show()
    record.add(tmp_path / "two.png", "two")
    (first, updated) = shown
    assert first[0] == "display" and updated[0] == "update_display"
    assert first[2]["display_id"] == updated[2]["display_id"] == record.display_id
    assert "two.png" in updated[1]["text/html"] and "2 images saved" in updated[1]["text/html"]


def test_the_watch_answers_a_click_and_names_where_the_images_are() -> None:
    watch = KernelWatch("imagewidgets-output/")
    sent: list[Any] = []
    watch.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    watch._answer(watch, {"event": "ping"}, [])
    watch._answer(watch, {"event": "other"}, [])
    assert sent == [{"event": "pong"}]
    assert "Run the cell again; your images are in imagewidgets-output/" in watch.silent_text
    assert "busy" in watch.busy_text and "busy" not in watch.silent_text
    watch.close()


async def test_a_panel_shows_itself_then_its_record(shown: list[Any], client: iw.ImagesClient,
                                                    output_folder: Path) -> None:
    panel = iw.ImagePanel(client=client, params=iw.ImageParams(
        model="gpt-image-1", prompt="A lighthouse", quality="low"))
    panel._ipython_display_()
    (widget, record) = shown
    assert widget[1]["application/vnd.jupyter.widget-view+json"]["model_id"] == panel.model_id
    assert record[2]["display_id"] == panel.record.display_id
    sent: list[Any] = []
    panel.watch.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    (tile,) = await panel.generate()
    assert tile.saved is not None and tile.saved.path.parent == output_folder
    assert shown[-1][0] == "update_display" and tile.saved.path.name in shown[-1][1]["text/html"]
    assert output_folder.name in panel.watch.silent_text
    # The watch carries the record too, by message: a view drawn again after a reload of the
    # page asks for it and puts it back into its notebook (the update_display before the
    # reload is lost to that page); each change is sent to the views drawn.
    assert panel.watch.record_id == panel.record.display_id
    assert sent == [{"event": "record", "html": panel.record.html()}]
    panel.watch._answer(panel.watch, {"event": "record"}, [])
    assert sent[-1] == {"event": "record", "html": panel.record.html()}
    assert tile.saved.path.name in sent[-1]["html"]
    # Not in the state: a notebook saved with widget state holds the record once, as an output.
    assert tile.saved.path.name not in str(panel.watch.get_state())
    panel._ipython_display_()  # shown twice: one record, followed once
    assert panel.record.watches == [panel.watch]
    panel.close()


async def test_a_run_of_many_images_updates_the_record_once_naming_them_all(
        shown: list[Any], client: iw.ImagesClient, output_folder: Path) -> None:
    # Each update carries the whole record: one an image would make a run of n images cost
    # the page n redraws of up to n images (B14's typing lag after 200 images).
    panel = iw.ImagePanel(client=client, params=iw.ImageParams(
        model="gpt-image-1", prompt="A lighthouse", quality="low", n=6))
    panel._ipython_display_()
    tiles = await panel.generate()
    assert panel.jobs.busy is False
    updates = [call for call in shown if call[0] == "update_display"]
    assert len(updates) == 1
    assert all(tile.saved is not None and tile.saved.path.name in updates[0][1]["text/html"]
               for tile in tiles)
    assert "6 images saved" in updates[0][1]["text/html"]


def test_a_busy_record_sends_as_often_as_its_size_doubles(shown: list[Any], tmp_path: Path) -> None:
    # A long run (a grid of hundreds) still reaches the saved notebook as it goes.
    record = SavedRecord("grid", busy=lambda: True)
    record.show()
    for index in range(64):
        record.add(tmp_path / f"{index}.png", f"image {index}")
    sizes = [call[1]["text/html"].count("<img ") for call in shown[1:]]
    assert sizes == [8, 16, 32, 64]
    record.flush()  # nothing new: nothing sent
    assert len(shown) == 5
