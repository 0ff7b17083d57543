"""GIF and SVG results in real JupyterLab, in headless Chromium: shown inertly, downloaded safe.

An SVG result is untrusted markup. A tile shows it only inside an ``<img>`` (our
own wrapper SVG holding it as a data URI), where scripts never run and nothing
outside is fetched; Download hands over the safe copy the store saves (a file opened
later from the Downloads folder runs nothing), a GIF's bytes unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser


class _Counter(BaseHTTPRequestHandler):
    """Answers every GET with an empty 404 and records the path asked for."""

    def do_GET(self) -> None:
        self.server.paths.append(self.path)  # type: ignore[attr-defined]
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # quiet
        pass


@pytest.fixture
def leak_server() -> Iterator[tuple[int, list[str]]]:
    """A tiny HTTP server on 127.0.0.1 that counts what reaches it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    server.paths = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1]), server.paths  # type: ignore[attr-defined]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def _hostile_svg(port: int) -> str:
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" '
            'onload="window.__pwned_onload=1"><script>window.__pwned=1</script>'
            f'<image href="http://127.0.0.1:{port}/leak.png" width="10" height="10"/>'
            '<rect width="64" height="64" fill="red"/></svg>')


def _cells(port: int) -> list[str]:
    return [
        "import ipywidgets as widgets\n"
        "import imagewidgets as iw\n"
        "from imagewidgets.emulator import serve\n"
        "gif_params = iw.ImageParams(model='gpt-image-2.6-flare', prompt='A spinning top',\n"
        "                            output_format='gif', frame_count=3)\n"
        "with serve(port=0) as emulator:\n"
        "    async with iw.ImagesClient(base_url=emulator.url, api_key='emulator',\n"
        "                               is_emulator=True) as client:\n"
        "        gif = (await client.generate(gif_params)).images[0]\n"
        "assert gif.format == 'gif', gif\n"
        f"HOSTILE = {_hostile_svg(port)!r}.encode()\n"
        "svg = iw.GeneratedImage(data=HOSTILE, format='svg', width=64, height=64,\n"
        "                        params={'model': 'gpt-image-2.6-flare', 'prompt': 'Hostile'})\n"
        "tile_gif = iw.ImageTile(gif_params)\n"
        "tile_gif.add_class('iw-t-gif')\n"
        "tile_svg = iw.ImageTile(iw.ImageParams(model='gpt-image-2.6-flare', prompt='Hostile'))\n"
        "tile_svg.add_class('iw-t-svg')\n"
        "await tile_gif.show(gif)\n"
        "await tile_svg.show(svg)\n"
        "box = widgets.HBox([tile_gif, tile_svg])\n"
        "box.add_class('iw-formats')\n"
        "box",
    ]


_IMG_LOADED = """sel => {
  const img = document.querySelector(sel);
  return img && img.tagName === 'IMG' && img.complete && img.naturalWidth > 0
    && img.naturalHeight > 0;
}"""


def test_gif_and_hostile_svg_show_inert_and_download_safe(
        lab: Any, page: Any, leak_server: tuple[int, list[str]]) -> None:
    port, reached = leak_server
    hostile = _hostile_svg(port).encode()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    lab.write_notebook("formats.ipynb", _cells(port))
    lab.open(page, "formats.ipynb", ready=".iw-formats")
    page.wait_for_selector(".iw-t-gif.iw-status-done", timeout=120_000)
    page.wait_for_selector(".iw-t-svg.iw-status-done", timeout=120_000)

    # Both pictures are <img> elements that decoded: the GIF from a blob, the SVG too.
    for tile in (".iw-t-gif", ".iw-t-svg"):
        selector = f"{tile} .iw-tile-image"
        page.wait_for_function(_IMG_LOADED, arg=selector, timeout=120_000)
        source = page.eval_on_selector(selector, "img => img.src")
        assert source.startswith("blob:"), (tile, source)
    assert page.eval_on_selector(".iw-t-gif .iw-tile-image", "img => img.naturalWidth") > 0

    page.wait_for_timeout(3000)  # any script, onload or fetch has had its chance
    pwned = page.evaluate("() => [typeof window.__pwned, typeof window.__pwned_onload]")
    assert pwned == ["undefined", "undefined"]
    assert not [path for path in reached if "leak" in path], reached
    assert not [url for url in requested if "leak.png" in url], requested
    inline = page.evaluate("""() => {
      const outputs = [...document.querySelectorAll('.jp-OutputArea-output')];
      return {
        svgScripts: outputs.reduce((n, o) => n + o.querySelectorAll('svg script').length, 0),
        redRects: outputs.reduce((n, o) => n + o.querySelectorAll('rect[fill="red"]').length, 0),
        pwnScripts: [...document.querySelectorAll('script')]
          .filter(s => s.textContent.includes('__pwned')).length,
      };
    }""")
    assert inline == {"svgScripts": 0, "redRects": 0, "pwnScripts": 0}

    with page.expect_download(timeout=120_000) as download:
        page.click(".iw-t-svg .iw-download button")
    saved = download.value
    assert saved.suggested_filename.endswith(".svg"), saved.suggested_filename
    downloaded = Path(saved.path()).read_bytes()
    assert downloaded != hostile and b'fill="red"' in downloaded
    for word in (b"<script", b"onload", b"leak.png", b"__pwned"):
        assert word not in downloaded, word

    # Downloading did not run the SVG either.
    page.wait_for_timeout(1000)
    pwned = page.evaluate("() => [typeof window.__pwned, typeof window.__pwned_onload]")
    assert pwned == ["undefined", "undefined"]
    assert not [path for path in reached if "leak" in path], reached
    assert not [url for url in requested if "leak.png" in url], requested

    # The control: the page can reach the counting server, and both watchers see it.
    page.evaluate(f"() => {{ new Image().src = 'http://127.0.0.1:{port}/probe.png'; }}")
    for _ in range(1200):  # 120 s: stuck, not slow
        if "/probe.png" in reached:
            break
        page.wait_for_timeout(100)
    assert "/probe.png" in reached, reached
    assert any("probe.png" in url for url in requested), requested
