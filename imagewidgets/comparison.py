"""What a comparison grid asks for: its two axes, its cells, and their cost before running.

Pure data over the parameter model, no widgets: :class:`~imagewidgets.ui.compare.CompareGrid`
shows and runs the cells planned here. A cell is the base parameters plus its
row's and its column's value. A value the cell's model does not take is mapped
to the nearest one it does (``adapt=True``: quality ``high`` becomes ``hd`` on
dall-e-3), and the cell says so; where nothing fits (``style`` on a GPT image
model) the cell is not available, says why, and sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ParamsError
from .models import (
    FIELDS,
    MODELS,
    PRICES_READ_ON,
    QUALITY_RANK,
    Choice,
    IntRange,
    ModelSpec,
    models_taking,
    newest_models,
)
from .params import OPTION_FIELDS, ImageParams, closest_value

__all__ = ["AXIS_FIELDS", "CONFIRM_OVER", "DEFAULT_QUALITIES", "MAX_REPEATS", "MAX_REQUESTS", "Axis",
           "CellPlan", "base_params", "check_size", "dollars_text", "estimate", "estimate_text",
           "mark_best", "plan_cells", "summary_lines"]

AXIS_FIELDS = tuple(name for name in FIELDS if name not in ("n", "user"))
"""The fields an axis may vary: every request field but ``n`` (see ``repeats``) and ``user``."""

DEFAULT_QUALITIES = ("low", "medium", "high")
"""The default columns, when a model of the grid takes them (else the qualities its models take)."""

_NOT_AXES = {"n": "n is not an axis: repeats=k puts k samples in each cell",
             "user": "user is not an axis: it names who asked, not how the picture looks"}

MAX_REPEATS = 10
"""Samples per cell at most: each is a request, and billed."""

CONFIRM_OVER = 50
"""Requests a grid sends without asking: more are sent only once confirmed (a click, ``confirm=True``)."""

MAX_REQUESTS = 400
"""Requests one grid may hold: each is a tile of widgets, and a bigger grid would freeze the
kernel while it is built (50 × 50 cells × 4 samples is 10,000). Refused before anything is made."""


_SCALARS = (str, int, float)  # bool is an int: the stream flag


def _example(name: str) -> str:
    """An axis of ``name`` as a user would write it, with values a model takes."""
    if name in ("prompt", "model"):
        values: list[Any] = (["a lighthouse at dusk", "a lighthouse at dawn"] if name == "prompt"
                             else list(newest_models())[:2])
        return repr((name, values))
    if name == "stream":
        return repr((name, [False, True]))
    for spec in (MODELS[model] for model in (*newest_models(), *models_taking(name))):
        if not spec.takes(name):
            continue
        kind = spec.kind(name)
        if isinstance(kind, Choice):
            return repr((name, [value for value in kind.values if value != "auto"][:2]))
        if isinstance(kind, IntRange):
            return repr((name, [kind.low, kind.high]))
    return repr((name, ["a", "b"]))


@dataclass(frozen=True)
class Axis:
    """One side of the grid: a request field (or ``"prompt"``) and the values it takes."""

    field: str
    values: tuple[Any, ...]

    @classmethod
    def read(cls, given: Any, side: str) -> Axis:
        """An axis from ``(field, values)``; a clear ParamsError for anything else."""
        if isinstance(given, Axis):
            return given
        if not (isinstance(given, Sequence) and not isinstance(given, str) and len(given) == 2):
            raise ParamsError([f"{side} must be (field, values), e.g. ('quality', ['low', 'high']); "
                               f"got {given!r}"])
        name, values = given
        if not isinstance(name, str):
            raise ParamsError([f"{side} field must be a field's name, e.g. 'quality'; got {name!r}; "
                               f"choose one of: {', '.join(AXIS_FIELDS)}"])
        if name in _NOT_AXES:
            raise ParamsError([f"{side}: {_NOT_AXES[name]}"])
        if name not in AXIS_FIELDS:
            raise ParamsError([f"{side} field {name!r} is unknown; choose one of: "
                               f"{', '.join(AXIS_FIELDS)}"])
        if isinstance(values, str) or not isinstance(values, Sequence):
            raise ParamsError([f"{side} values of {name} must be a list in the order to show "
                               f"them, e.g. ['low', 'high']; got {values!r}"])
        if not values:
            raise ParamsError([f"{side}: {name} has no values; give at least one"])
        for value in values:
            if not isinstance(value, _SCALARS):  # a list is no value, and cannot be a row's key
                what = "nothing" if value is None else f"a {type(value).__name__}"
                raise ParamsError([f"{side}: {name} value {value!r} is {what}, "
                                   f"not one value; give a flat list of values (text or numbers), "
                                   f"e.g. {_example(name)}"])
        return cls(name, tuple(dict.fromkeys(values)))  # a value twice is one row

    def label(self, value: Any) -> str:
        """How a header shows ``value``: a long prompt is shortened."""
        text = str(value)
        return text if len(text) <= 60 else text[:57] + "…"


@dataclass(frozen=True)
class CellPlan:
    """One cell: what it sends, what was adapted, or why it sends nothing."""

    row: Any
    column: Any
    params: ImageParams
    notes: tuple[str, ...] = ()
    reason: str | None = None

    @property
    def available(self) -> bool:
        """Whether the cell sends a request."""
        return self.reason is None


def default_axes(rows: Any, columns: Any, base: ImageParams) -> tuple[Any, Any]:
    """Fill a missing axis: models of the newest family as rows, qualities as columns.

    With one axis given, the missing one is whichever of the two it does not
    vary, with values the grid can use: the newest models that take the given
    field (else the general models that do); low / medium / high when a model of
    the grid takes them (else the qualities its models take: DALL·E's standard, hd).
    """
    if rows is not None and columns is not None:
        return rows, columns
    if rows is None and columns is None:
        models = _default_models(None)
        return ("model", models), ("quality", _default_qualities(models))
    given = Axis.read(rows, "rows") if rows is not None else Axis.read(columns, "columns")
    models = list(given.values) if given.field == "model" else [base.model]
    if rows is None:
        rows = (("quality", _default_qualities(models)) if given.field == "model"
                else ("model", _default_models(given.field)))
    else:
        columns = (("model", _default_models(given.field)) if given.field == "quality"
                   else ("quality", _default_qualities(models)))
    return rows, columns


def _default_models(field: str | None) -> list[str]:
    newest = list(newest_models())
    if field is None or field == "prompt" or all(MODELS[name].takes(field) for name in newest):
        return newest
    taking = [name for name in newest if MODELS[name].takes(field)]
    return taking or [name for name in models_taking(field)
                      if MODELS[name].general and MODELS[name].snapshot_of is None]


def _default_qualities(names: Sequence[str]) -> list[str]:
    models = [MODELS[name] for name in names if name in MODELS]
    if any(spec.allows("quality", value) for spec in models for value in DEFAULT_QUALITIES):
        return list(DEFAULT_QUALITIES)
    taken = {value for spec in models if isinstance(kind := spec.fields.get("quality"), Choice)
             for value in kind.values if value != "auto"}
    return sorted(taken, key=lambda value: QUALITY_RANK.get(value, 0)) or ["auto"]


def check_axes(base: ImageParams, rows: Axis, columns: Axis) -> None:
    """Refuse, before anything is sent, axes that no cell could use.

    Raises
    ------
    ParamsError
        Naming the side, the field, the value and what is allowed.
    """
    if rows.field == columns.field:
        raise ParamsError([f"rows and columns both vary {rows.field}; choose two different fields"])
    models = _grid_models(base, rows, columns)
    for side, axis in (("rows", rows), ("columns", columns)):
        for value in axis.values:
            if axis.field == "model":
                if value not in MODELS:
                    raise ParamsError([f"{side}: model {value!r} is unknown; known models: "
                                       f"{', '.join(MODELS)}"])
            elif axis.field == "prompt":
                if not isinstance(value, str) or not value.strip():
                    raise ParamsError([f"{side}: prompt {value!r} is empty; each prompt must "
                                       "describe an image"])
            elif not any(spec.allows(axis.field, value) for spec in models):
                names = ", ".join(spec.name for spec in models)
                raise ParamsError([f"{side}: {axis.field} {value!r} is not taken by any model in "
                                   f"the grid ({names}); {_offered(models, axis.field)}"])
    if "prompt" not in (rows.field, columns.field) and not base.prompt.strip():
        raise ParamsError(["prompt is empty; describe the image to generate"])


def plan_cells(base: ImageParams, rows: Axis, columns: Axis, *, adapt: bool = True
               ) -> list[list[CellPlan]]:
    """Every cell, row by row: ``base`` with the row's and the column's value.

    Axes are checked first (:func:`check_axes`). Each cell asks for one
    image: ``repeats`` in the grid sends one request per sample.
    """
    check_axes(base, rows, columns)
    cells = [[_cell(base, (rows.field, row), (columns.field, column), adapt)
              for column in columns.values] for row in rows.values]
    if not any(cell.available for row in cells for cell in row):
        first = cells[0][0]
        raise ParamsError([f"no cell of this grid can be sent; {first.row} × {first.column}: "
                           f"{first.reason}"])
    return cells


def check_size(base: ImageParams, rows: Axis, columns: Axis, repeats: int, *,
               adapt: bool = True) -> None:
    """Refuse a grid of more than :data:`MAX_REQUESTS` requests at once, before any cell is planned.

    Raises
    ------
    ParamsError
        Naming its cells, samples, requests and rough cost, the limit and what to do.
    """
    requests = len(rows.values) * len(columns.values) * repeats
    if requests <= MAX_REQUESTS:
        return
    check_axes(base, rows, columns)  # a bad axis is said first, as for any grid
    per_sample = _rough_estimate(base, rows, columns, adapt)
    cost = ("of unknown price" if per_sample is None
            else f"about {dollars_text(per_sample * repeats)}")
    raise ParamsError([
        f"a grid of {len(rows.values)} × {len(columns.values)} cells × {repeats} "
        f"sample{'s' if repeats > 1 else ''} is {requests:,} requests, {cost}; one grid holds at "
        f"most {MAX_REQUESTS} requests: compare fewer values, or split it into several grids"])


def dollars_text(dollars: float | None) -> str:
    """An estimate in dollars as the grid says it, with the day its prices were read."""
    if dollars is None:
        return "an unknown price"
    return f"${dollars:,.2f} (prices read {PRICES_READ_ON})"


def estimate(params: ImageParams) -> float | None:
    """Dollars for one image of ``params`` before it runs; None when the price is unknown.

    An animated GIF or an SVG is priced by no official page yet: unknown.
    """
    found = params.estimate()
    return found.per_image if found is not None else None


# -- internals -----------------------------------------------------------------


def _rough_estimate(base: ImageParams, rows: Axis, columns: Axis, adapt: bool) -> float | None:
    """Dollars per sample of a whole grid from its first row and first column only.

    Planning every cell of a huge grid takes seconds (0.6 ms a cell); a price is
    near a product of a row's and a column's factor (a model's token price × a
    quality's tokens), so cell (r, c) ≈ row r × column c ÷ the corner.
    """
    def price(row: Any, column: Any) -> float | None:
        plan = _cell(base, (rows.field, row), (columns.field, column), adapt)
        return estimate(plan.params) if plan.available else None

    down = [p for row in rows.values if (p := price(row, columns.values[0])) is not None]
    across = [p for column in columns.values if (p := price(rows.values[0], column)) is not None]
    if not down or not across:
        return None
    corner = price(rows.values[0], columns.values[0]) or sum(down) / len(down)
    return (sum(down) / len(down)) * (sum(across) / len(across)) / corner * (
        len(rows.values) * len(columns.values))


def _grid_models(base: ImageParams, rows: Axis, columns: Axis) -> list[ModelSpec]:
    for axis in (rows, columns):
        if axis.field == "model":
            return [MODELS[name] for name in axis.values if name in MODELS]
    return [base.spec]


def _offered(models: Sequence[ModelSpec], name: str) -> str:
    """What the models of a grid take for ``name``, as a sentence."""
    values: dict[Any, None] = {}
    ranges = []
    for spec in models:
        if not spec.takes(name):
            continue
        kind = spec.kind(name)
        if isinstance(kind, Choice):
            values.update(dict.fromkeys(kind.values))
        elif isinstance(kind, IntRange):
            ranges.append(f"{kind.low} to {kind.high}")
        if name == "size" and spec.custom_sizes:
            ranges.append(f"{spec.name}: {spec.custom_sizes.describe()}")
    offered = [repr(value) for value in values] + ranges
    return f"they take {', '.join(offered)}" if offered else f"none of them takes {name}"


def _adaptable(spec: ModelSpec, name: str) -> bool:
    """Whether ``name`` has a nearest value: a quality by rank, a size, a number.

    Other choices have no order: png is no nearer to gif than webp is.
    """
    return name in ("quality", "size") or isinstance(spec.kind(name), IntRange)


def _cell(base: ImageParams, row: tuple[str, Any], column: tuple[str, Any], adapt: bool
          ) -> CellPlan:
    params = base.copy()
    if params.spec.takes("n"):
        params.n = 1  # one image per request: repeats are separate samples
    notes: list[str] = []
    wanted: dict[str, Any] = {}

    def unavailable(reason: str) -> CellPlan:
        return CellPlan(row[1], column[1], params, tuple(notes), reason)

    # The model first: the other value is read against it.
    for name, value in sorted((row, column), key=lambda pair: pair[0] != "model"):
        if name in ("model", "prompt"):
            setattr(params, name, value)
            continue
        spec = params.spec
        if not spec.takes(name):
            return unavailable(f"{spec.name} does not take {name}")
        if not spec.allows(name, value):
            if not (adapt and _adaptable(spec, name)):
                return unavailable(str(spec.value_problem(name, value)))
            nearest = closest_value(spec, name, value)
            notes.append(f"{name} {value!r} → {nearest!r}: {spec.name} has no {value!r}")
            value = nearest
        setattr(params, name, value)  # set last, so a value it excludes gives way
        wanted[name] = value
    spec = params.spec
    values = {**params.to_dict(), **wanted}
    for exclusion in spec.exclusions:
        if exclusion.holds(values):
            (first, first_value), (second, second_value) = exclusion.first, exclusion.second
            return unavailable(f"{first} {first_value!r} cannot go with {second} "
                               f"{second_value!r}: {exclusion.reason}")
    for rule in spec.requires:
        if rule.field in wanted and (why := rule.problem(values)):
            return unavailable(why)
    for name, value in wanted.items():
        if getattr(params, name) != value:  # moved by the other axis's value
            return unavailable(f"{name} {value!r} cannot go with the other axis's value")
        condition = spec.when.get(name)
        if condition is not None and not params.supports(name):
            allowed = " or ".join(map(str, condition.values))
            return unavailable(f"{name} applies only when {condition.field} is {allowed}")
    # The base's own choices the cell's model or values moved: said, never silent.
    axes = dict((row, column))
    for name, chosen in base.chosen.items():
        if name in axes or name not in OPTION_FIELDS or name == "n" or not params.supports(name):
            continue
        now = getattr(params, name)
        if now == chosen:
            continue
        if not spec.allows(name, chosen):
            why = f"{spec.name} has no {chosen!r}"
            if not (adapt and _adaptable(spec, name)):
                return unavailable(f"{name} {chosen!r} is not available for {spec.name}")
        else:
            causes = [f"{field} {value!r}" for field, value in axes.items() if field != "model"]
            why = "with " + " and ".join(causes) if causes else f"on {spec.name}"
        notes.append(f"{name} {chosen!r} → {now!r}: {why}")
    problems = params.problems()
    if problems:
        return unavailable(problems[0])
    return CellPlan(row[1], column[1], params, tuple(notes))


def base_params(given: str | ImageParams) -> ImageParams:
    """A grid's base: a copy of ``given``, or a prompt streaming two partial images where it can."""
    if isinstance(given, ImageParams):
        return given.copy()
    if not isinstance(given, str):
        raise TypeError(f"CompareGrid takes a prompt or ImageParams, not {type(given).__name__}")
    params = ImageParams(prompt=given)
    if params.spec.takes("stream"):
        params.stream, params.partial_images = True, 2
    return params


def mark_best(rows: list[dict[str, Any]]) -> None:
    """Set ``fastest`` and ``cheapest`` on the done rows of a grid summary whose figure is the least."""
    for key, flag in (("seconds", "fastest"), ("cost", "cheapest")):
        measured = [row for row in rows if row[key] is not None and row["status"] == "done"]
        if measured:
            best = min(row[key] for row in measured)
            for row in measured:
                row[flag] = row[key] == best


def estimate_text(cells: int, available: Sequence[float | None], repeats: int) -> str:
    """The line above a grid before it runs: cells, samples, requests and the estimate.

    ``available`` holds each cell that sends requests: its dollars per image, None if unpriced.
    """
    requests = len(available) * repeats
    text = (f"{cells} cells · {repeats} sample{'s' if repeats > 1 else ''} "
            f"each · {requests} request{'s' if requests != 1 else ''}")
    priced = [dollars for dollars in available if dollars is not None]
    if priced:
        text += f" · estimated ${sum(priced) * repeats:.2f} before running (prices read {PRICES_READ_ON})"
    unpriced = len(available) - len(priced)
    if unpriced:
        text += f" · {unpriced} cell{'s' if unpriced > 1 else ''} with no known price"
    missing = cells - len(available)
    if missing:
        text += f" · {missing} cell{'s' if missing > 1 else ''} not available"
    return text


def summary_lines(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """What a grid's summary says of its cells (``CompareGrid.summary()`` rows): the fastest
    and cheapest (three named at most), the failures with their errors, the cancelled."""
    parts = []
    for flag, key, unit in (("fastest", "seconds", "{:.1f} s"), ("cheapest", "cost", "${:.3f}")):
        best = [row for row in rows if row[flag]]
        if best:
            names = ", ".join(f"{row['row']} × {row['column']}" for row in best[:3])
            if len(best) > 3:
                names += f" and {len(best) - 3} more"
            parts.append(f"{flag}: {names} ({unit.format(best[0][key])})")
    failures = [row for row in rows if row["failed"]]
    if failures:
        parts.append("failures: " + ", ".join(
            f"{row['row']} × {row['column']} ({row['error']})" for row in failures))
    cancelled = [row for row in rows if row["status"] == "cancelled"]
    if cancelled:
        parts.append(f"cancelled: {len(cancelled)} cell{'s' if len(cancelled) > 1 else ''}")
    return parts
