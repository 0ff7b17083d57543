"""What each model accepts and what it costs: the one table every other part reads.

One job a module, each importing only those above it in this list:

* :mod:`.text` - values quoted in messages, text a request cannot carry;
* :mod:`.clock` - the date lifecycle decisions use;
* :mod:`.sizes` - ``WIDTHxHEIGHT`` and the rules of custom sizes;
* :mod:`.fields` - field kinds, the rules between fields, the endpoints that take each;
* :mod:`.pricing` - prices per image or per token;
* :mod:`.spec` - :class:`ModelSpec`, everything one model accepts;
* :mod:`.catalog` - every model's spec, with where each fact came from;
* :mod:`.registry` - :data:`MODELS` filled from the catalog, ``register_model``, the default model;
* :mod:`.cost` - what a request should cost, by model name;
* :mod:`.markdown` - the README's table of models.
"""

from .clock import RETIRING_WITHIN, set_today, today
from .closest import closest_value
from .cost import Estimate, estimate_cost, image_cost
from .fields import (
    BOTH,
    EDITS,
    ENDPOINTS,
    FIELDS,
    GENERATIONS,
    QUALITY_RANK,
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
from .input_tokens import image_input_tokens, text_input_tokens
from .markdown import models_markdown
from .pricing import OUTPUT_TOKENS, PRICES_READ_ON, PerImagePrice, TokenPrice, output_tokens
from .registry import (
    GPT_IMAGE_ONLY_FIELDS,
    MODELS,
    default_model,
    default_model_for,
    models_taking,
    newest_models,
    register_model,
)
from .sizes import CustomSizes, parse_size
from .spec import ModelSpec, Source, describe_values
from .text import LONE_SURROGATE, shown, unencodable_problem

__all__ = [
    "BOTH",
    "EDITS",
    "ENDPOINTS",
    "FIELDS",
    "GENERATIONS",
    "GPT_IMAGE_ONLY_FIELDS",
    "LONE_SURROGATE",
    "MODELS",
    "OUTPUT_TOKENS",
    "PRICES_READ_ON",
    "QUALITY_RANK",
    "RETIRING_WITHIN",
    "Choice",
    "CustomSizes",
    "Estimate",
    "Exclusion",
    "FieldKind",
    "Flag",
    "IntRange",
    "ModelSpec",
    "PerImagePrice",
    "Requires",
    "Source",
    "Text",
    "TokenPrice",
    "Upload",
    "When",
    "closest_value",
    "default_model",
    "default_model_for",
    "describe_values",
    "estimate_cost",
    "image_cost",
    "image_input_tokens",
    "models_markdown",
    "models_taking",
    "newest_models",
    "output_tokens",
    "parse_size",
    "register_model",
    "set_today",
    "shown",
    "text_input_tokens",
    "today",
    "unencodable_problem",
]
