"""Widgets whose code is shared (ui/shared.py): a model the page lost is opened again."""

from __future__ import annotations

from typing import Any

import pytest
from ipywidgets.widgets.widget import _instances

import imagewidgets as iw
from imagewidgets.results import GeneratedImage
from imagewidgets.ui.grid import ImageGrid
from imagewidgets.ui.shared import REOPENS

from samples import solid


def _lost(widget: Any) -> None:
    """What the page sends when a view finds its model never took an update (ui/js/shared.js)."""
    widget._handle_msg({"content": {"data": {"method": "custom", "content": {"event": "lost"}}},
                        "buffers": []})


async def test_a_tile_the_page_lost_is_opened_again_whole_and_its_row_names_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # anywidget's page drops every message for a model whose code it did not load within 2 s
    # (a page busy that long): the tile stayed "queued" there while the kernel had it done.
    grid = ImageGrid()
    kind = type(grid.comm)  # what the kernel's messages go through, here
    sent: list[tuple[str, str, Any]] = []
    publish = kind.publish_msg

    def record(comm: Any, msg_type: str, data: Any = None, *args: Any, **kwargs: Any) -> None:
        sent.append((comm.comm_id, msg_type, data))
        publish(comm, msg_type, data, *args, **kwargs)

    monkeypatch.setattr(kind, "publish_msg", record)
    tile = iw.ImageTile(iw.ImageParams(model="gpt-image-1", prompt="A lighthouse at dusk"))
    opened = [data for _id, kind, data in sent if kind == "comm_open" and _id == tile.model_id]
    assert opened[0]["state"]["_live"] is False  # what a view finds when every update is lost
    assert {"method": "update", "state": {"_live": True}, "buffer_paths": []} in \
        [data for _id, _kind, data in sent if _id == tile.model_id]
    grid.add_row([tile], "row")
    await tile.show(GeneratedImage(data=solid("png", (64, 64)), format="png", width=64, height=64,
                                   params={"model": "gpt-image-1", "prompt": "A lighthouse"}))
    old = tile.model_id
    sent.clear()

    _lost(tile)
    assert tile.model_id != old and _instances[tile.model_id] is tile and old not in _instances
    state = next(data["state"] for _id, kind, data in sent if kind == "comm_open")
    assert state["status"] == "done" and state["_live"] is False and "done" in state["status_text"]
    assert (old, "comm_close", None) in [(i, k, None) for i, k, _d in sent]
    strip = grid.rows[0].children[1]
    renamed = [data["state"]["children"] for _id, kind, data in sent
               if _id == strip.model_id and kind == "comm_msg" and "children" in data.get("state", {})]
    assert renamed == [[f"IPY_MODEL_{tile.model_id}"]]
    assert tile.click("download")  # its messages still reach it

    for _ in range(REOPENS):  # a page that always loses it: opened again a few times, no more
        _lost(tile)
    assert tile.comm is not None
    grid.close()
