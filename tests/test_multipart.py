"""An edit's multipart body: the official SDK's encoding of every kind of field, built once."""

from __future__ import annotations

import pytest

from imagewidgets.api.multipart import form_of, form_off_loop
from imagewidgets.inputs import EditInputs, InputImage

from mock_api import parts, sdk_edit_parts
from samples import PNG


async def test_nested_fields_booleans_and_markup_are_encoded_as_the_sdk_encodes_them() -> None:
    fields = {"model": "gpt-image-2.6-flare", "prompt": "Ünïcode, \"quoted\"\r\nand two lines",
              "svg": {"model": "author", "reasoning": {"effort": "low"}}, "stream": False,
              "partial_images": 0, "user": None}
    markup = InputImage.of(PNG, name="markup.png")
    ours = form_of(fields, EditInputs((InputImage.of(PNG, name="a.png"),), markup=markup))
    theirs = await sdk_edit_parts(image=("a.png", PNG, "image/png"), markup=("markup.png", PNG, "image/png"),
                        **fields)
    mine = parts(ours.content_type, ours.data)
    assert sorted(part for part in mine if part[1] is None) == \
        sorted(part for part in theirs if part[1] is None)
    assert [part for part in mine if part[1]] == [part for part in theirs if part[1]]
    assert ("svg[reasoning][effort]", None, None, b"low") in mine and ("stream", None, None, b"false") in mine
    assert not any(part[0] == "user" for part in mine)  # None is left out


def test_a_file_name_cannot_break_out_of_its_header() -> None:
    form = form_of({"prompt": "x"}, EditInputs((InputImage.of(PNG, name='a".png\r\nX-Evil: 1'),)))
    assert b"X-Evil: 1\r\n" not in form.data and b'filename="a%22.png%0D%0AX-Evil: 1"' in form.data
    ((_, _name, _, data),) = [part for part in parts(form.content_type, form.data) if part[1]]
    assert data == PNG


@pytest.mark.parametrize("large", [False, True])
async def test_the_body_is_the_same_built_on_the_loop_or_off_it(large: bool,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    if large:
        monkeypatch.setattr("imagewidgets.api.multipart._INLINE_BYTES", 0)
    form = await form_off_loop({"prompt": "x"}, EditInputs.of([PNG, PNG]))
    assert [part[0] for part in parts(form.content_type, form.data)] == ["prompt", "image[]", "image[]"]
    assert "bytes" in repr(form) and form.content_type.startswith("multipart/form-data; boundary=")
