"""ImageParams: options follow the model, choices are remembered, bad input is refused."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Callable
from types import MappingProxyType

import pytest
from hypothesis import given, settings, strategies as st
from traitlets import TraitError

from imagewidgets import MODELS, ImageParams, ModelSpec, register_model
from imagewidgets.errors import ParamsError
from imagewidgets.models import ENDPOINTS, Choice, IntRange, Text
from imagewidgets.params import OPTION_FIELDS


def test_core_imports_no_ipywidgets() -> None:
    code = ("import imagewidgets, imagewidgets.params, imagewidgets.models, sys; "
            "assert 'ipywidgets' not in sys.modules, 'ipywidgets was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_defaults_are_sendable_once_a_prompt_is_set() -> None:
    p = ImageParams()
    assert p.problems() == ["prompt is empty; describe the image to generate"]
    p.prompt = "A cute cat"
    body = p.to_request()
    assert body["model"] == p.model and body["prompt"] == "A cute cat"
    assert all(value is not None for value in body.values())


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("model", list(MODELS))
def test_options_and_supports_follow_the_model(model: str, endpoint: str) -> None:
    p = ImageParams(model=model, prompt="x", endpoint=endpoint)
    spec = MODELS[model]
    if not spec.serves(endpoint):
        assert all(getattr(p, name) is None for name in OPTION_FIELDS)
        return
    for name in OPTION_FIELDS:
        if not spec.takes(name, endpoint):
            assert p.options(name) == () and getattr(p, name) is None and not p.supports(name)
        elif not isinstance(spec.kind(name), Text):  # free text has no list of options
            assert getattr(p, name) in p.options(name)
    body = p.to_request()
    assert set(body) <= {"model", "prompt", *[f for f in OPTION_FIELDS if spec.takes(f, endpoint)]}


def test_switching_keeps_allowed_values_and_moves_to_the_closest() -> None:
    p = ImageParams(model="gpt-image-1", prompt="x", size="1536x1024", quality="high", n=4)
    p.model = "dall-e-3"
    assert (p.size, p.quality, p.n) == ("1792x1024", "hd", 1)
    p.model = "dall-e-2"
    assert p.size == "1024x1024" and p.quality == "standard" and p.n == 4
    p2 = ImageParams(model="gpt-image-1", size="1024x1536", quality="medium")
    p2.model = "dall-e-3"
    assert (p2.size, p2.quality) == ("1024x1792", "standard")
    p3 = ImageParams(model="gpt-image-1", quality="low", size="auto")
    p3.model = "dall-e-3"
    assert (p3.size, p3.quality) == ("1024x1024", "standard")


@pytest.mark.parametrize(
    ("start", "quality", "switch_to", "expected"),
    [
        ("gpt-image-1", "high", "dall-e-3", "hd"),
        ("dall-e-3", "hd", "gpt-image-1", "high"),
        ("dall-e-3", "standard", "gpt-image-1", "medium"),
        ("gpt-image-1", "medium", "dall-e-3", "standard"),
        ("gpt-image-1", "low", "dall-e-3", "standard"),  # nothing lower: the nearest above
        ("dall-e-3", "hd", "dall-e-2", "standard"),
    ],
)
def test_a_switch_keeps_the_closest_quality(start: str, quality: str, switch_to: str,
                                            expected: str) -> None:
    p = ImageParams(model=start, prompt="x", quality=quality)
    p.model = switch_to
    assert p.quality == expected
    p.model = start
    assert p.quality == quality  # and the choice comes back


def test_a_refused_field_names_every_model_that_takes_it_registered_ones_too() -> None:
    register_model(ModelSpec.like("dall-e-3", name="my-dalle"))
    try:
        p = ImageParams(model="gpt-image-1", prompt="x")
        with pytest.raises(TraitError, match="models that take it: dall-e-3, my-dalle"):
            p.style = "vivid"
    finally:
        del MODELS["my-dalle"]


def test_a_value_still_allowed_is_kept() -> None:
    p = ImageParams(model="gpt-image-1", size="1024x1024", quality="auto", n=3)
    p.model = "dall-e-2"
    assert (p.size, p.quality, p.n) == ("1024x1024", "auto", 3)


@pytest.mark.parametrize(
    ("field", "value", "away"),
    [
        ("style", "natural", "gpt-image-1"),
        ("response_format", "b64_json", "gpt-image-1"),
        ("quality", "standard", "gpt-image-1"),
        ("size", "1024x1792", "gpt-image-1"),
        ("n", 1, "gpt-image-1"),
    ],
)
def test_dalle_choices_survive_a_trip(field: str, value: object, away: str) -> None:
    p = ImageParams(model="dall-e-3", prompt="x", **{field: value})
    p.model = away
    p.model = "dall-e-3"
    assert getattr(p, field) == value


@pytest.mark.parametrize(
    ("field", "value"),
    [("background", "opaque"), ("output_format", "webp"), ("quality", "high"),
     ("moderation", "low"), ("size", "1536x1024"), ("n", 7), ("stream", True)],
)
def test_gpt_choices_survive_a_trip(field: str, value: object) -> None:
    p = ImageParams(model="gpt-image-1", **{field: value})
    p.model = "dall-e-3"
    p.model = "gpt-image-1"
    assert getattr(p, field) == value


def test_transparent_and_jpeg_exclude_each_other_last_wins() -> None:
    p = ImageParams(model="gpt-image-1", prompt="x", output_format="jpeg")
    assert "transparent" not in p.options("background")
    p.background = "transparent"
    assert p.output_format in ("png", "webp")
    assert "jpeg" not in p.options("output_format")
    p.output_format = "jpeg"
    assert p.background != "transparent" and p.output_format == "jpeg"
    assert p.problems() == []
    p.model = "dall-e-3"
    p.model = "gpt-image-1"
    assert (p.output_format, p.background) == ("jpeg", "auto")


def test_compression_and_partials_apply_only_when_their_condition_holds() -> None:
    p = ImageParams(model="gpt-image-1", prompt="x", output_compression=40, partial_images=2)
    assert not p.supports("output_compression") and "output_compression" not in p.to_request()
    assert not p.supports("partial_images") and "partial_images" not in p.to_request()
    p.output_format = "webp"
    p.stream = True
    body = p.to_request()
    assert body["output_compression"] == 40 and body["partial_images"] == 2 and body["stream"]


@pytest.mark.parametrize(
    ("model", "field", "value", "words"),
    [
        ("dall-e-2", "size", "1792x1024",
         ["size", "'1792x1024'", "dall-e-2", "256x256, 512x512 or 1024x1024"]),
        ("dall-e-3", "n", 2, ["n", "2", "dall-e-3", "only 1"]),
        ("gpt-image-1", "quality", "hd",
         ["quality", "'hd'", "gpt-image-1", "auto, high, medium or low"]),
        ("gpt-image-1", "style", "vivid", ["style", "gpt-image-1", "dall-e-3"]),
        ("dall-e-3", "background", "opaque", ["background", "dall-e-3", "gpt-image-1"]),
        ("gpt-image-1", "output_compression", 101, ["output_compression", "101", "0 to 100"]),
        ("gpt-image-1", "partial_images", 4, ["partial_images", "4", "0 to 3"]),
        ("gpt-image-1", "n", 0, ["n", "0", "1 to 10"]),
    ],
)
def test_refusals_name_field_value_model_and_allowed(model: str, field: str, value: object,
                                                     words: list[str]) -> None:
    p = ImageParams(model=model, prompt="keep me")
    before = p.to_dict()
    with pytest.raises(TraitError) as info:
        setattr(p, field, value)
    for word in words:
        assert word in str(info.value)
    assert p.to_dict() == before  # nothing changed


def test_unknown_model_and_field() -> None:
    p = ImageParams(prompt="keep")
    before = p.model
    with pytest.raises(TraitError, match=r"unknown model 'dall-e-4'.*gpt-image-1.*register_model"):
        p.model = "dall-e-4"
    assert p.model == before and p.prompt == "keep"
    with pytest.raises(TraitError, match="unknown field 'colour'"):
        ImageParams(colour="red")


def test_a_field_another_endpoint_takes_is_neither_offered_nor_sent(
        registered: Callable[[ModelSpec], ModelSpec]) -> None:
    base = MODELS["gpt-image-1"]
    edits_only = Choice(("auto", "low"), "auto", frozenset({"edits"}))
    registered(ModelSpec.like(base, name="edit-moderation",
                              fields=MappingProxyType({**base.fields, "moderation": edits_only})))
    p = ImageParams(model="edit-moderation", prompt="A fox")
    assert (p.moderation, p.options("moderation"), p.supports("moderation")) == (None, (), False)
    assert "moderation" not in p.to_request() and p.problems() == []
    with pytest.raises(TraitError, match="moderation is not taken by edit-moderation at generations"):
        p.moderation = "low"
    p.model = "gpt-image-1"  # takes it at generations: offered and sent again
    assert p.options("moderation") == ("auto", "low") and p.to_request()["moderation"] == "auto"


def test_the_endpoint_is_generations_or_edits() -> None:
    p = ImageParams(model="gpt-image-1", prompt="A fox")
    assert p.endpoint == "generations"
    with pytest.raises(TraitError, match="endpoint 'variations' is not available; choose generations or"):
        p.endpoint = "variations"
    p.endpoint = "edits"
    assert p.endpoint == "edits" and p.copy().endpoint == "edits"
    # moderation is a generations field: at edits it is neither offered nor sent.
    assert p.options("moderation") == () and "moderation" not in p.to_request()


def test_prompt_is_never_truncated() -> None:
    p = ImageParams(model="dall-e-3", prompt="y" * 4210)
    assert len(p.prompt) == 4210
    assert p.problems() == ["prompt is 4,210 characters; dall-e-3 takes at most 4,000"]
    with pytest.raises(ParamsError) as info:
        p.to_request()
    assert info.value.problems == p.problems()
    p.model = "gpt-image-1"
    assert p.problems() == [] and len(p.to_request()["prompt"]) == 4210


def test_to_request_lists_every_problem() -> None:
    p = ImageParams(model="dall-e-2", prompt=" ")
    with pytest.raises(ParamsError, match="prompt is empty"):
        p.to_request()


def test_to_request_is_built_again_whenever_what_it_depends_on_changes() -> None:
    p = ImageParams(model="gpt-image-1", prompt="A fox", size="1024x1024")
    first = p.to_request()
    first["prompt"] = "changed by the caller"  # a copy each time: the next one is not
    assert p.to_request()["prompt"] == "A fox" and p.to_request() is not p.to_request()
    p.quality = "low"
    assert p.to_request()["quality"] == "low"
    p.prompt = " "
    with pytest.raises(ParamsError, match="prompt is empty"):
        p.to_request()
    p.prompt = "A fox"
    assert p.to_request()["quality"] == "low"
    p.n = 2
    assert p.to_request()["n"] == 2
    register_model(ModelSpec.like("gpt-image-1", name="my-model"))
    try:
        q = ImageParams(model="my-model", prompt="A fox", size="1024x1024", output_format="png")
        assert q.to_request()["output_format"] == "png"
        register_model(ModelSpec.like("dall-e-2", name="my-model"))  # now without output_format
        assert "output_format" not in q.to_request()
    finally:
        del MODELS["my-model"]


def test_round_trip_and_copy() -> None:
    p = ImageParams(model="gpt-image-2", prompt="A lighthouse", size="1920x1088",
                    output_format="webp", output_compression=70, stream=True, partial_images=3)
    q = ImageParams.from_dict(p.to_dict())
    assert q.to_dict() == p.to_dict() and q.to_request() == p.to_request()
    r = ImageParams.from_dict({**p.to_request(), "extra": "ignored"})
    assert r.to_request() == p.to_request()
    c = p.copy(quality="low")
    assert c.quality == "low" and p.quality == "auto"


def test_repr_is_short() -> None:
    p = ImageParams(prompt="z" * 500)
    text = repr(p)
    assert len(text) < 300 and p.model in text and "frame_count" not in text


# -- any sequence of assignments ---------------------------------------------------

_values = st.one_of(
    st.sampled_from(sorted({str(v) for spec in MODELS.values() for kind in spec.fields.values()
                            for v in getattr(kind, "values", ()) if isinstance(v, str)})),
    st.integers(-2, 105),
    st.booleans(),
    st.none(),
    st.sampled_from(["", "1920x1088", "4000x4000", "x" * 1500, "natural", "hd"]),
)
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("model"), st.sampled_from([*MODELS, "nope"])),
        st.tuples(st.sampled_from(["prompt", "user", *OPTION_FIELDS]), _values),
    ),
    max_size=25,
)


@settings(max_examples=300, deadline=None)
@given(_steps)
def test_any_sequence_of_assignments_leaves_a_sendable_or_explained_state(steps: list) -> None:
    p = ImageParams()
    for name, value in steps:
        # TraitError is the only error allowed; the state must still be coherent below
        with contextlib.suppress(TraitError):
            setattr(p, name, value)
    problems = p.problems()
    if problems:
        with pytest.raises(ParamsError):
            p.to_request()
        assert all(isinstance(problem, str) and problem for problem in problems)
        return
    body = p.to_request()
    spec = MODELS[p.model]
    for name, value in body.items():
        if name in ("model", "prompt", "user"):
            continue
        assert spec.allows(name, value), (name, value)
    for exclusion in spec.exclusions:
        assert not (body.get(exclusion.first[0]) == exclusion.first[1]
                    and body.get(exclusion.second[0]) == exclusion.second[1])
    if "output_compression" in body:
        assert body["output_format"] in ("jpeg", "webp")
    if "partial_images" in body:
        assert body["stream"] is True


@pytest.mark.parametrize("model", list(MODELS))
def test_bounds_are_the_first_and_last_option_of_every_integer_field(model: str) -> None:
    # The sliders read bounds(): it must agree with options() without listing 655,341 values.
    p = ImageParams(model=model, prompt="x")
    for name, kind in p.spec.fields.items():
        if isinstance(kind, IntRange):
            options = p.options(name)
            assert p.bounds(name) == (options[0], options[-1]), name
    if p.spec.requires:
        p.output_format = "svg"
        assert p.bounds("n") == (1, 1) == (p.options("n")[0], p.options("n")[-1])


def test_edits_on_a_model_that_does_not_edit_is_a_problem_naming_those_that_do() -> None:
    p = ImageParams(model="dall-e-3", prompt="x", endpoint="edits")
    (why,) = p.problems()
    assert why.startswith("endpoint 'edits' is not available for dall-e-3: it does not edit images; "
                          "models that edit: dall-e-2, gpt-image-1,")
    with pytest.raises(ParamsError, match="dall-e-3"):
        p.to_request()
    p.model = "gpt-image-1.5"  # switching on works: the fields come back for the edits endpoint
    assert p.problems() == [] and p.options("input_fidelity") == ("high", "low")


def test_to_request_at_edits_holds_only_the_form_fields_edits_take() -> None:
    p = ImageParams(model="gpt-image-1.5", prompt="the same, at night", moderation="low",
                    safety_identifier="user-hash-1")
    assert "input_fidelity" not in p.to_request() and p.to_request()["moderation"] == "low"
    p.endpoint = "edits"
    body = p.to_request()
    assert body["input_fidelity"] == "low" and body["safety_identifier"] == "user-hash-1"
    assert "moderation" not in body and p.moderation is None
    assert not any(name in body for name in ("image", "mask", "markup"))  # the files go apart
    with pytest.raises(TraitError, match=r"moderation is not taken by gpt-image-1\.5 at edits"):
        p.moderation = "auto"
    p.endpoint = "generations"
    assert p.moderation == "low"  # the user's choice is back


def test_the_endpoint_survives_to_dict_from_dict_and_copy() -> None:
    p = ImageParams(model="gpt-image-1.5", prompt="x", endpoint="edits", input_fidelity="high")
    q = ImageParams.from_dict(p.to_dict())
    assert q.endpoint == "edits" and q.input_fidelity == "high" and q.to_request() == p.to_request()
    assert p.copy().endpoint == "edits"
    assert ImageParams.from_dict({"model": "gpt-image-1", "prompt": "x"}).endpoint == "generations"
    r = ImageParams(model="gpt-image-1", prompt="x")
    r.update(p.to_dict())
    assert (r.endpoint, r.input_fidelity) == ("edits", "high")


def test_input_fidelity_follows_the_model_at_edits() -> None:
    p = ImageParams(model="gpt-image-1.5", prompt="x", endpoint="edits", input_fidelity="high")
    p.model = "gpt-image-1-mini"  # only low there
    assert p.options("input_fidelity") == ("low",) and p.input_fidelity == "low"
    with pytest.raises(TraitError, match="input_fidelity 'high' is not available for gpt-image-1-mini"):
        p.input_fidelity = "high"
    p.model = "gpt-image-2.6-flare"
    assert p.input_fidelity is None and "input_fidelity" not in p.to_request()
    p.model = "gpt-image-1"
    assert p.input_fidelity == "high"  # remembered
