"""What each model accepts and what it costs: the one table every other part reads."""

from .capabilities import (
    FIELDS as FIELDS,
    MODELS as MODELS,
    PRICES_READ_ON as PRICES_READ_ON,
    QUALITY_RANK as QUALITY_RANK,
    Choice as Choice,
    CustomSizes as CustomSizes,
    Estimate as Estimate,
    Flag as Flag,
    IntRange as IntRange,
    ModelSpec as ModelSpec,
    Text as Text,
    default_model as default_model,
    describe_values as describe_values,
    estimate_cost as estimate_cost,
    image_cost as image_cost,
    models_taking as models_taking,
    newest_models as newest_models,
    parse_size as parse_size,
    register_model as register_model,
    shown as shown,
    unencodable_problem as unencodable_problem,
)
from .catalog import models_markdown as models_markdown
