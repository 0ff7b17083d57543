"""File names: a download's and the store's, safe on every OS, the store's sorting by time."""

from __future__ import annotations

import time

from imagewidgets.naming import download_name, image_name

WHEN = time.mktime((2026, 11, 25, 14, 22, 33, 0, 0, -1))


def test_download_names() -> None:
    when = time.mktime((2026, 11, 25, 14, 22, 33, 0, 0, -1))
    assert download_name("A lighthouse, at dusk! Oil on canvas", "gpt-image-1", when, "webp") == (
        "a-lighthouse-at-dusk-oil_gpt-image-1_20261125-142233.webp")
    assert download_name("../../etc/passwd", "x/y", when, "png").startswith("etc-passwd_x-y_")
    assert download_name("", "dall-e-2", when, "png").startswith("image_dall-e-2_")
    assert download_name("word " * 30, "M", when, "png") == "word-word-word-word-word_m_20261125-142233.png"
    assert download_name("abcdefghij" * 9, ".GPT image.", when, "jpg") == (
        f"{'abcdefghij' * 6}_gpt-image_20261125-142233.jpg")


def test_image_names_sort_by_time_and_are_safe() -> None:
    assert image_name("A lighthouse, at dusk! Oil on canvas", "gpt-image-1", WHEN, "1a2b3c4d", "jpg") == (
        "20261125-142233_gpt-image-1_a-lighthouse-at-dusk-oil_1a2b3c4d.jpg")
    assert image_name("../../etc/passwd", "x/y", WHEN, "../ab", "png") == (
        "20261125-142233_x-y_etc-passwd_ab.png")
    assert image_name("", "", WHEN, "", "gif") == "20261125-142233_model_image_0.gif"
    assert len(image_name("w" * 500, "m" * 500, WHEN, "f" * 64, "png")) < 160
