"""A notebook saved from the browser, widget state included, holds no API key (issue 13).

The kernel reads the key from a file, so the notebook's own source holds none;
the server demands that key, so the images made prove the kernel had it.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

import httpx
import pytest

from imagewidgets.emulator import serve

pytestmark = pytest.mark.browser

CELLS = [
    "from pathlib import Path\n"
    "import imagewidgets as iw\n"
    "where = Path('server.txt').read_text().strip()\n"
    "client = iw.ImagesClient(base_url=where, api_key=Path('key.txt').read_text().strip())\n"
    "panel = iw.ImagePanel(client=client, params=iw.ImageParams(\n"
    "    model='gpt-image-2', prompt='A lighthouse at dusk', quality='low', n=2))\n"
    "panel",
    "tiles = await panel.generate()\n"
    "wrong = iw.ImagesClient(base_url=where, api_key='sk-wrong-key-for-a-failed-tile')\n"
    "failed = iw.ImagePanel(client=wrong, params=panel.params.copy(n=1))\n"
    "await failed.generate()\n"
    "failed",
]


def test_a_saved_notebook_with_widget_state_holds_no_key(lab: Any, page: Any) -> None:
    key = "sk-test-" + secrets.token_hex(12)
    # Save widget state with the notebook (off by default) so that state is checked too.
    httpx.put(f"{lab.url}/lab/api/settings/@jupyter-widgets/jupyterlab-manager:plugin",
              headers={"Authorization": f"token {lab.token}"}, timeout=60,
              json={"raw": json.dumps({"saveState": True})}).raise_for_status()
    with serve(port=0, api_key=key) as keyed:
        (lab.root / "key.txt").write_text(key)
        (lab.root / "server.txt").write_text(keyed.url)
        lab.write_notebook("secret.ipynb", CELLS)
        lab.open(page, "secret.ipynb", ready=".iw-status-failed")
        page.wait_for_function(
            "() => document.querySelectorAll('.iw-tile.iw-status-done').length === 2")
        assert keyed.request_count == 3  # two images with the key, one refused without it
        notebook = lab.save(page, "secret.ipynb")
    text = json.dumps(notebook)
    assert notebook["metadata"].get("widgets"), "the widget state was not saved"
    assert "AuthenticationError" in text  # the failed tile's message was saved too
    assert key not in text
    kept = [path for path in (lab.root / "imagewidgets-output").rglob("*") if path.is_file()]
    assert len(kept) >= 4 and not [path for path in kept if key.encode() in path.read_bytes()]
