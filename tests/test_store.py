"""The store's rules; for now the file-naming rule that downloads already use."""

from __future__ import annotations

import time

from imagewidgets.store import download_name


def test_download_names() -> None:
    when = time.mktime((2026, 11, 25, 14, 22, 33, 0, 0, -1))
    assert download_name("A lighthouse, at dusk! Oil on canvas", "gpt-image-1", when, "webp") == (
        "a-lighthouse-at-dusk-oil_gpt-image-1_20261125-142233.webp")
    assert download_name("../../etc/passwd", "x/y", when, "png").startswith("etc-passwd_x-y_")
    assert download_name("", "dall-e-2", when, "png").startswith("image_dall-e-2_")
