"""Every model the toolkit knows: its fields, its lifecycle, its prices, and where each fact came from.

The reference's models (DALL·E 2 and 3, the GPT image 1 family) stay here after
the API shut them down: the emulator serves them and the reference teaches
them; against the API they are refused before sending (see
:meth:`~imagewidgets.models.spec.ModelSpec.retired`).

Facts were read on 2026-11-25. ``official`` sources are OpenAI's developer pages
or its SDK (whose types are generated from the API's spec); the rest are
third-party pages. A request field known only from them would be marked
``provisional`` (sent only when the user sets it); since openai 3.57.0 named
every field of 2.6, none is. What no official page says yet: GIF size limits,
SVG model selection (the ``svg`` object), per-image token counts of 2.5 and 2.6, and
what a GIF or an SVG costs (so both are priced as unknown).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from types import MappingProxyType

from .fields import (
    EDITS,
    GENERATIONS,
    Choice,
    Exclusion,
    FieldKind,
    Flag,
    IntRange,
    Requires,
    Text,
    Upload,
    When,
)
from .pricing import PerImagePrice, TokenPrice
from .sizes import CustomSizes
from .spec import ModelSpec, Source

__all__ = ["CATALOG", "SOURCES"]

_DOCS = "https://developers.openai.com/api"
SOURCES: Mapping[str, Source] = MappingProxyType({
    "reference": Source(f"{_DOCS}/reference/resources/images/methods/generate", True,
                        "retirement notes of dall-e-2/3 and gpt-image-1; snapshot names"),
    "deprecations": Source(f"{_DOCS}/docs/deprecations", True,
                           "gpt-image-1-mini, gpt-image-1.5 and chatgpt-image-latest shut down "
                           "2026-12-01; use gpt-image-2.6-sunburst or -flare"),
    "guide": Source(f"{_DOCS}/docs/guides/image-generation?model=gpt-image-2.6", True,
                    "2.6: complexity low/medium/high, default high; SVG and animated GIF; "
                    "Sunburst for editing precision, Flare for everyday generation"),
    "sdk": Source("https://github.com/openai/openai-python/blob/v3.57.0/src/openai/types/"
                  "image_generate_params.py", True,
                  "openai 3.57.0, generated from the API's spec: gpt-image-2 custom sizes "
                  "(multiples of 16, 1:3 to 3:1, at most 3840x2160); transparent needs png or "
                  "webp; compression with jpeg/webp; xhigh and max on the 2.5 models; complexity "
                  "low/medium/high; frame_count 2-16 (default 9) and frame_duration_ms (default "
                  "200, rounded to 10 ms, at most 655,350) with gif; GIF and SVG do not stream; "
                  "SVG requires n=1"),
    "gpt-image-2": Source(f"{_DOCS}/docs/models/gpt-image-2", True, "snapshot gpt-image-2-2026-04-21"),
    "sdk-edit": Source("https://github.com/openai/openai-python/blob/v3.63.0/src/openai/types/"
                       "image_edit_params.py", True,
                       "openai 3.63.0: the models that edit (not dall-e-3); up to 16 png/webp/jpg "
                       "images under 50MB each; a PNG mask under 4MB with the first image's "
                       "dimensions, alpha 0 where to edit; markup, a transparent PNG of the "
                       "first image's dimensions, on GPT Image 2.5, never with a mask; GIF output "
                       "takes no mask; no moderation field; input_fidelity high/low on "
                       "gpt-image-1.5, only low on gpt-image-1-mini, omitted for gpt-image-2 "
                       "(default low)"),
    "input-fidelity-1": Source(f"{_DOCS}/reference/python/resources/images/methods/edit", True,
                               "an earlier reading of the API reference (openai 2.x era): "
                               "input_fidelity high/low \"only supported for gpt-image-1 and "
                               "gpt-image-1.5 and later models\", default low"),
    "safety-identifier": Source("https://github.com/openai/openai-python/blob/v3.63.0/src/openai/"
                                "types/image_generate_params.py", True,
                                "openai 3.63.0: safety_identifier on generations and edits (same "
                                "text in image_edit_params.py), taking precedence over the "
                                "deprecated user"),
    "markup-2.6": Source("https://docs.apiyi.com/en/api-capabilities/gpt-image-2/gpt-image-2-6.md", False,
                         "markup-guided edits on gpt-image-2.6-flare and -sunburst, never with a mask; "
                         "the SDK (3.63) names GPT Image 2.5 only (read 2026-12-07)"),
    "dall-e-2-edit": Source(f"{_DOCS}/reference/resources/images/methods/edit", True,
                            "dall-e-2 (retired): one square PNG under 4MB; the mask likewise"),
    "gpt-image-1": Source(f"{_DOCS}/docs/models/gpt-image-1", True, "prices; shut down 2026-10-23"),
    "gpt-image-1-mini": Source(f"{_DOCS}/docs/models/gpt-image-1-mini", True, "prices"),
    "gpt-image-2.6-sunburst": Source(f"{_DOCS}/docs/models/gpt-image-2.6-sunburst", True,
                                     "tokens: $5 text, $8 image in, $30 out; cached $1.25 / $2"),
    "price-gif": Source("https://www.skills.sh/varghq/skills/gpt-image-gif", False,
                        "a GIF's frames are drawn on one sheet at one image's price; no official "
                        "page prices a GIF (read 2026-12-07): unknown here"),
    "price-svg": Source("https://inference.sh/apps/openai/gpt-image-2-6-sunburst", False,
                        "lists SVG at $0.10 / $0.50 per 1M tokens in / out on top of the image "
                        "tokens; no official page says how SVG is billed (read 2026-12-07): unknown here"),
    "dall-e": Source(f"{_DOCS}/docs/models/dall-e-3", True,
                     "retired 2026-05-12; use GPT-Image-2.5 Sunburst"),
    "apidog-2.5": Source("https://apidog.com/blog/gpt-image-2-5-api", False,
                         "2.5 released 2026-09-08; $5 / $8 / $30"),
    "apiyi-2.6": Source("https://docs.apiyi.com", False,
                        "2.6 released 2026-11-04; GIF and SVG on 2.6 only"),
    "comfy": Source("https://docs.comfy.org", False, "OpenAIGPTImageNodeV3: at least 655,360 pixels"),
    "fal": Source("https://fal.ai/models/openai/gpt-image-2", False,
                  "gpt-image-2 tokens $5 / $8 / $30, cached $1.25 / $2"),
    "first-slice": Source("https://openai.com/api/pricing", False,
                          "read by this project's first slice; not confirmed in the 2026-11-25 reading"),
    "announcements": Source("https://openai.com/index", False,
                            "launch posts: DALL·E API 2022-11-03, DALL·E 3 in the API 2023-11-06, "
                            "gpt-image-1 2025-04-23, gpt-image-1-mini 2025-10-06"),
})

# -- the reference's models ----------------------------------------------------

_MB = 1024 * 1024
_DALL_E_2_PRICE = PerImagePrice(
    MappingProxyType({("*", "256x256"): 0.016, ("*", "512x512"): 0.018, ("*", "1024x1024"): 0.020})
)
_DALL_E_3_PRICE = PerImagePrice(MappingProxyType({
    (quality, size): dollars
    for qualities, sizes in (
        (("standard", "auto"), {"1024x1024": 0.04, "1792x1024": 0.08, "1024x1792": 0.08}),
        (("hd",), {"1024x1024": 0.08, "1792x1024": 0.12, "1024x1792": 0.12}),
    )
    for quality in qualities
    for size, dollars in sizes.items()
}))
_DALL_E_SHUTDOWN = date(2026, 5, 12)
_DALL_E_REPLACEMENT = "gpt-image-2.5-sunburst"  # what the retired models' own pages say


_DALL_E_2_UPLOADS = MappingProxyType({
    "image": Upload(("png",), 4 * _MB, square=True),
    "mask": Upload(("png",), 4 * _MB, same_size=True, transparent=True),
})


def _dall_e(name: str, prompt_max: int, n_max: int, qualities: tuple[str, ...],
            sizes: tuple[str, ...], price: PerImagePrice, *, style: bool,
            revises_prompt: bool, released: date, edits: bool) -> ModelSpec:
    fields: dict[str, FieldKind] = {
        "prompt": Text(prompt_max),
        "n": IntRange(1, n_max, 1),
        "quality": Choice(qualities, "auto"),
        "response_format": Choice(("url", "b64_json"), "url"),
        "size": Choice(sizes, "1024x1024"),
        "user": Text(),
    }
    if style:
        fields["style"] = Choice(("vivid", "natural"), "vivid", GENERATIONS)
    return ModelSpec(
        name, "dall-e", MappingProxyType(fields), price=price,
        auto=MappingProxyType({"quality": "standard"}), revises_prompt=revises_prompt,
        refusal_code="content_policy_violation", released=released,
        shutdown=_DALL_E_SHUTDOWN, replacement=_DALL_E_REPLACEMENT,
        sources=MappingProxyType({"lifecycle": SOURCES["dall-e"], "released": SOURCES["announcements"],
                                  "price": SOURCES["first-slice"],
                                  **({"edits": SOURCES["dall-e-2-edit"]} if edits else {})}),
        uploads=_DALL_E_2_UPLOADS if edits else MappingProxyType({}),
    )


_GPT_SIZES = ("auto", "1024x1024", "1536x1024", "1024x1536")
_GPT_WHEN = MappingProxyType({
    "output_compression": When("output_format", ("jpeg", "webp")),
    "partial_images": When("stream", (True,)),
})
_GPT_AUTO = MappingProxyType({"quality": "medium", "size": "1024x1024", "background": "opaque"})
_GPT_EXCLUSIONS = (
    Exclusion(("background", "transparent"), ("output_format", "jpeg"),
              "a transparent background needs png or webp"),
)
_GPT_FIELDS: Mapping[str, FieldKind] = MappingProxyType({
    "prompt": Text(32000),
    "n": IntRange(1, 10, 1),
    "quality": Choice(("auto", "high", "medium", "low"), "auto"),
    "size": Choice(_GPT_SIZES, "auto"),
    "background": Choice(("auto", "transparent", "opaque"), "auto"),
    "output_format": Choice(("png", "jpeg", "webp"), "png"),
    "output_compression": IntRange(0, 100, 100),
    "moderation": Choice(("auto", "low"), "auto", GENERATIONS),  # the SDK's edit params have none
    "stream": Flag(False),
    "partial_images": IntRange(0, 3, 0),
    "safety_identifier": Text(),  # official on both endpoints (the SDK); over the deprecated user
    "user": Text(),
})
# input_fidelity, edits only: high/low on gpt-image-1.5 and (retired) gpt-image-1, only low on
# 1-mini; omitted for gpt-image-2 and the 2.5/2.6 models built on it, which the SDK leaves out.
_HIGH_FIDELITY_FIELDS = MappingProxyType({
    **_GPT_FIELDS, "input_fidelity": Choice(("high", "low"), "low", EDITS)})
_LOW_FIDELITY_FIELDS = MappingProxyType({
    **_GPT_FIELDS, "input_fidelity": Choice(("low",), "low", EDITS)})


_GPT_UPLOADS = MappingProxyType({
    "image": Upload(("png", "webp", "jpeg"), 50 * _MB, max_count=16),
    "mask": Upload(("png",), 4 * _MB, same_size=True, transparent=True),
})
# markup: GPT Image 2.5 (the SDK); 2.6 on third-party pages only (the "markup-2.6" source).
_MARKUP_UPLOADS = MappingProxyType({
    **_GPT_UPLOADS, "markup": Upload(("png",), 50 * _MB, same_size=True, transparent=True)})


def _gpt_image(name: str, price: TokenPrice, *, released: date | None,
               shutdown: date | None = None, replacement: str | None = None,
               general: bool = True, sources: Mapping[str, Source],
               fields: Mapping[str, FieldKind] = _GPT_FIELDS) -> ModelSpec:
    sources = {**sources, "safety_identifier": SOURCES["safety-identifier"]}
    return ModelSpec(
        name, "gpt-image", fields, when=_GPT_WHEN, exclusions=_GPT_EXCLUSIONS, price=price,
        auto=_GPT_AUTO, reports_usage=True, refusal_code="moderation_blocked",
        released=released, shutdown=shutdown, replacement=replacement, general=general,
        sources=MappingProxyType({**sources, "edits": SOURCES["sdk-edit"]}), uploads=_GPT_UPLOADS,
    )


_DECEMBER_FIRST = date(2026, 12, 1)
_TODAY_REPLACEMENT = "gpt-image-2.6-sunburst"  # the deprecations page: "2.6-sunburst or -flare"

_GPT_IMAGE_1 = _gpt_image(
    "gpt-image-1", TokenPrice(5, 10, 40, 1.25, 2.5), released=date(2025, 4, 23),
    shutdown=date(2026, 10, 23), replacement="gpt-image-2.5-sunburst",
    fields=_HIGH_FIDELITY_FIELDS,
    sources={"lifecycle": SOURCES["gpt-image-1"], "released": SOURCES["announcements"],
             "price": SOURCES["gpt-image-1"], "input_fidelity": SOURCES["input-fidelity-1"]})
_GPT_IMAGE_1_MINI = _gpt_image(
    "gpt-image-1-mini", TokenPrice(2, 2.5, 8, 0.2, 0.25), released=date(2025, 10, 6),
    shutdown=_DECEMBER_FIRST, replacement=_TODAY_REPLACEMENT,
    fields=_LOW_FIDELITY_FIELDS,
    sources={"lifecycle": SOURCES["deprecations"], "released": SOURCES["announcements"],
             "price": SOURCES["gpt-image-1-mini"], "input_fidelity": SOURCES["sdk-edit"]})
_GPT_IMAGE_1_5 = _gpt_image(
    "gpt-image-1.5", TokenPrice(5, 8, 32), released=date(2025, 12, 16),
    shutdown=_DECEMBER_FIRST, replacement=_TODAY_REPLACEMENT,
    fields=_HIGH_FIDELITY_FIELDS,
    sources={"lifecycle": SOURCES["deprecations"], "released": SOURCES["reference"],
             "price": SOURCES["first-slice"], "input_fidelity": SOURCES["sdk-edit"]})
# chatgpt-image-latest: no input_fidelity. The SDK's "follows the same input constraints as GPT
# image models" is about the image files (it sits under `image`); neither the SDK nor the
# reference names it for input_fidelity, so it is not sent on a guess (the default is low).
_CHATGPT_IMAGE_LATEST = _gpt_image(
    "chatgpt-image-latest", TokenPrice(5, 10, 40), released=None, general=False,  # ChatGPT's alias
    shutdown=_DECEMBER_FIRST, replacement=_TODAY_REPLACEMENT,
    sources={"lifecycle": SOURCES["deprecations"], "price": SOURCES["first-slice"]})

# -- today's models ------------------------------------------------------------

_GPT_IMAGE_2_SIZES = CustomSizes(16, 3.0, 3840, 2160)
_GPT_IMAGE_2 = ModelSpec.like(
    _GPT_IMAGE_1_5, name="gpt-image-2", fields=_GPT_FIELDS, custom_sizes=_GPT_IMAGE_2_SIZES,
    price=TokenPrice(5, 8, 30, 1.25, 2), released=date(2026, 4, 21), shutdown=None,
    replacement=None, sources=MappingProxyType({
        "lifecycle": SOURCES["gpt-image-2"], "sizes": SOURCES["sdk"], "price": SOURCES["fal"],
        "edits": SOURCES["sdk-edit"], "safety_identifier": SOURCES["safety-identifier"]}))

# 2.5: qualities xhigh and max, and (third-party) a floor of 655,360 pixels.
_GPT_2_5_FIELDS = MappingProxyType({
    **_GPT_FIELDS,
    "quality": Choice(("auto", "high", "medium", "low", "xhigh", "max"), "auto"),
})
_GPT_2_5_SIZES = CustomSizes(16, 3.0, 3840, 2160, min_pixels=655_360)
_GPT_2_5_SOURCES = MappingProxyType({
    "lifecycle": SOURCES["reference"], "released": SOURCES["apidog-2.5"],
    "sizes": SOURCES["sdk"], "min_pixels": SOURCES["comfy"], "quality": SOURCES["sdk"],
    "price": SOURCES["apidog-2.5"], "edits": SOURCES["sdk-edit"], "markup": SOURCES["sdk-edit"],
    "safety_identifier": SOURCES["safety-identifier"]})


def _gpt_2_5(name: str, *, general: bool) -> ModelSpec:
    return ModelSpec.like(_GPT_IMAGE_2, name=name, fields=_GPT_2_5_FIELDS,
                          custom_sizes=_GPT_2_5_SIZES, price=TokenPrice(5, 8, 30),
                          released=date(2026, 9, 8), general=general, sources=_GPT_2_5_SOURCES,
                          uploads=_MARKUP_UPLOADS)


# 2.6: complexity, GIF and SVG output. The SDK names xhigh and max for the 2.5
# models only, so 2.6 keeps the GPT image qualities.
_GPT_2_6_FIELDS = MappingProxyType({
    **_GPT_FIELDS,
    "complexity": Choice(("low", "medium", "high"), "high"),
    "output_format": Choice(("png", "jpeg", "webp", "gif", "svg"), "png"),
    "frame_count": IntRange(2, 16, 9),
    "frame_duration_ms": IntRange(10, 655_350, 200),
})
_GPT_2_6_WHEN = MappingProxyType({
    **_GPT_WHEN,
    "frame_count": When("output_format", ("gif",)),
    "frame_duration_ms": When("output_format", ("gif",)),
})
_GPT_2_6_REQUIRES = (
    Requires(("output_format", "svg"), "n", (1,), "SVG generation requires n=1"),
    Requires(("output_format", "svg"), "stream", (False,), "SVG output does not stream"),
    Requires(("output_format", "gif"), "stream", (False,), "GIF output does not stream"),
)
_GPT_2_6_EXCLUSIONS = (
    *_GPT_EXCLUSIONS,
    *(Exclusion(("background", "transparent"), ("output_format", kind),
                "a transparent background needs png or webp") for kind in ("gif", "svg")),
)
_GPT_2_6_SOURCES = MappingProxyType({
    **_GPT_2_5_SOURCES, "released": SOURCES["apiyi-2.6"], "complexity": SOURCES["guide"],
    "output_format": SOURCES["guide"], "quality": SOURCES["sdk"], "frame_count": SOURCES["sdk"],
    "frame_duration_ms": SOURCES["sdk"], "gif_svg_rules": SOURCES["sdk"],
    "price": SOURCES["gpt-image-2.6-sunburst"], "price_gif": SOURCES["price-gif"],
    "price_svg": SOURCES["price-svg"], "markup": SOURCES["markup-2.6"]})


# GIF and SVG: no official price (see "price_gif", "price_svg"); a guess would be shown as a price.
_GPT_2_6_PRICE = TokenPrice(5, 8, 30, 1.25, 2, unpriced_formats=frozenset({"gif", "svg"}))


def _gpt_2_6(name: str, *, general: bool) -> ModelSpec:
    return ModelSpec.like(
        _GPT_IMAGE_2, name=name, fields=_GPT_2_6_FIELDS, when=_GPT_2_6_WHEN,
        exclusions=_GPT_2_6_EXCLUSIONS, requires=_GPT_2_6_REQUIRES, custom_sizes=_GPT_2_5_SIZES,
        price=_GPT_2_6_PRICE, released=date(2026, 11, 4), general=general, sources=_GPT_2_6_SOURCES,
        uploads=_MARKUP_UPLOADS)


def _snapshot(alias: ModelSpec, day: str) -> ModelSpec:
    return ModelSpec.like(alias, name=f"{alias.name}-{day}", snapshot_of=alias.name, general=False)


# On a tie of release days the first listed is the default: Flare, for "fast,
# high-quality everyday image generation", says the guide.
_GPT_2_6_FLARE = _gpt_2_6("gpt-image-2.6-flare", general=True)
_GPT_2_6_SUNBURST = _gpt_2_6("gpt-image-2.6-sunburst", general=True)
_GPT_2_5_FLARE = _gpt_2_5("gpt-image-2.5-flare", general=True)
_GPT_2_5_SUNBURST = _gpt_2_5("gpt-image-2.5-sunburst", general=True)

CATALOG: tuple[ModelSpec, ...] = (
    _dall_e("dall-e-2", 1000, 10, ("auto", "standard"), ("256x256", "512x512", "1024x1024"),
            _DALL_E_2_PRICE, style=False, revises_prompt=False, released=date(2022, 11, 3), edits=True),
    _dall_e("dall-e-3", 4000, 1, ("auto", "hd", "standard"), ("1024x1024", "1792x1024", "1024x1792"),
            _DALL_E_3_PRICE, style=True, revises_prompt=True,  # the only one that rewrites
            released=date(2023, 11, 6), edits=False),
    _GPT_IMAGE_1,
    _GPT_IMAGE_1_MINI,
    _GPT_IMAGE_1_5,
    _snapshot(_GPT_IMAGE_1_5, "2025-12-16"),
    _CHATGPT_IMAGE_LATEST,
    _GPT_IMAGE_2,
    _snapshot(_GPT_IMAGE_2, "2026-04-21"),
    _GPT_2_5_FLARE,
    _snapshot(_GPT_2_5_FLARE, "2026-09-08"),
    _GPT_2_5_SUNBURST,
    _snapshot(_GPT_2_5_SUNBURST, "2026-09-08"),
    _GPT_2_6_FLARE,
    _GPT_2_6_SUNBURST,
)
"""Every model, in the order model lists show them; :mod:`.registry` registers them."""
