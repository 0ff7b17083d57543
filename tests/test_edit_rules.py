"""An edit's files checked against the table before sending: real PNG, JPEG and WebP bytes."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from imagewidgets import ImageParams
from imagewidgets.edit_rules import check_edit, edit_problems
from imagewidgets.errors import ParamsError
from imagewidgets.inputs import EditInputs, InputImage

from samples import encoded, solid


def made(data: bytes, name: str = "image.png") -> InputImage:
    """What an edit sends, read from real bytes with Pillow (format, size, a transparent pixel)."""
    with Image.open(io.BytesIO(data)) as image:
        alpha = image.getchannel("A").getextrema()[0] if "A" in image.getbands() else 255
        return InputImage(data, (image.format or "unknown").lower(), image.width, image.height,
                          name, transparent=alpha == 0)


def mask(size: tuple[int, int] = (64, 48), hole: bool = True) -> InputImage:
    """A PNG mask of ``size``: opaque, with a fully transparent square where ``hole``."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    if hole:
        image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return made(buffer.getvalue(), "mask.png")


PNG = made(solid("PNG"))  # 64x48
JPEG = made(encoded("JPEG"), "photo.jpg")
WEBP = made(encoded("WEBP"), "photo.webp")


def edit(model: str, **fields: object) -> ImageParams:
    return ImageParams(model=model, prompt="the same, at night", endpoint="edits", **fields)


def test_a_valid_edit_has_no_problems_and_check_passes() -> None:
    params = edit("gpt-image-1.5", input_fidelity="high")
    inputs = EditInputs((PNG, JPEG, WEBP), mask=mask())
    assert edit_problems(params, inputs) == []
    check_edit(params, inputs)  # raises nothing


def test_a_model_that_does_not_edit_is_named_with_those_that_do() -> None:
    (why,) = edit_problems(ImageParams(model="dall-e-3", prompt="x"), EditInputs((PNG,)))
    assert "dall-e-3 does not edit" in why and "dall-e-2" in why and "gpt-image-2.6-flare" in why


def test_no_image_and_too_many_images_are_refused_with_the_count() -> None:
    params = edit("gpt-image-2")
    assert edit_problems(params, EditInputs(())) == [
        "image: 0 given; gpt-image-2 takes 1 to 16 input images"]
    assert edit_problems(params, EditInputs((PNG,) * 17)) == [
        "image: 17 given; gpt-image-2 takes 1 to 16 input images"]
    assert "exactly 1" in edit_problems(edit("dall-e-2"), EditInputs((mask((8, 8)),) * 2))[0]


def test_the_format_is_the_sniffed_one_not_the_file_name() -> None:
    gif = made(encoded("GIF", "P"), "looks-like.png")
    (why,) = edit_problems(edit("gpt-image-1.5"), EditInputs((PNG, JPEG, gif)))
    assert why.startswith("image[2] is gif (read from its bytes, not its name)")
    assert "png, webp or jpeg" in why


def test_dall_e_2_takes_one_square_png() -> None:
    square_png = made(solid("PNG", (32, 32)))
    assert edit_problems(edit("dall-e-2"), EditInputs((square_png,))) == []
    found = edit_problems(edit("dall-e-2"), EditInputs((JPEG,)))
    assert "image[0] is jpeg" in found[0] and "only png" in found[0]
    assert found[1] == "image[0] is 64x48; dall-e-2 takes only square images (equal sides)"


def test_a_file_over_the_limit_is_refused_with_its_size() -> None:
    big = InputImage(PNG.data + bytes(4 * 1024 * 1024), "png", 64, 48, "mask.png", transparent=True)
    found = edit_problems(edit("gpt-image-1.5"), EditInputs((PNG,), mask=big))
    assert found == ["mask is 4.0 MB; gpt-image-1.5 takes files under 4 MB here"]


def test_a_mask_of_another_size_is_refused_naming_both_sizes() -> None:
    found = edit_problems(edit("gpt-image-1.5"), EditInputs((PNG,), mask=mask((32, 32))))
    assert found == ["mask is 32x32 but image[0] is 64x48; the mask must have the first image's "
                     "dimensions"]
    with pytest.raises(ParamsError, match="mask is 32x32") as raised:
        check_edit(edit("gpt-image-1.5"), EditInputs((PNG,), mask=mask((32, 32))))
    assert raised.value.problems == found


def test_a_mask_must_be_a_png_with_transparent_pixels() -> None:
    found = edit_problems(edit("gpt-image-2"), EditInputs((PNG,), mask=mask(hole=False)))
    assert found == ["mask has no fully transparent pixel; alpha 0 marks where to edit, so "
                     "gpt-image-2 needs a mask with some"]
    jpeg_mask = made(encoded("JPEG"), "mask.png")
    found = edit_problems(edit("gpt-image-2"), EditInputs((JPEG,), mask=jpeg_mask))
    assert found[0] == ("mask is jpeg (read from its bytes, not its name); gpt-image-2 takes only "
                        "png here")


def test_markup_only_where_the_model_takes_it_and_never_with_a_mask() -> None:
    overlay = mask()
    assert edit_problems(edit("gpt-image-2.5-sunburst"), EditInputs((PNG,), markup=overlay)) == []
    (why,) = edit_problems(edit("gpt-image-1.5"), EditInputs((PNG,), markup=overlay))
    assert why.startswith("markup is not taken by gpt-image-1.5; models that take it: ")
    assert "gpt-image-2.5-sunburst" in why and "gpt-image-2.6-flare" in why
    found = edit_problems(edit("gpt-image-2.6-flare"), EditInputs((PNG,), mask=overlay, markup=overlay))
    assert found == ["mask and markup cannot go together; send one of them"]


def test_a_mask_is_refused_with_gif_output() -> None:
    params = edit("gpt-image-2.6-sunburst", output_format="gif")
    assert edit_problems(params, EditInputs((PNG,), mask=mask())) == [
        "mask cannot go with output_format 'gif': GIF output takes no mask; choose png, jpeg or "
        "webp, or send no mask"]
    assert edit_problems(params, EditInputs((PNG,))) == []


def test_check_edit_reports_the_fields_and_the_files_together() -> None:
    params = ImageParams(model="gpt-image-1.5", prompt="")  # at generations: checked as an edit
    with pytest.raises(ParamsError) as raised:
        check_edit(params, EditInputs((JPEG,), mask=mask((8, 8))))
    assert raised.value.problems[0].startswith("prompt is empty")
    assert raised.value.problems[1].startswith("mask is 8x8")
    assert params.endpoint == "generations"  # the caller's params are left as they were
    with pytest.raises(ParamsError, match="dall-e-3 does not edit"):
        check_edit(ImageParams(model="dall-e-3", prompt="x"), EditInputs((PNG,)))
