"""Controls bound to an :class:`ImageParams`: the params hold state, widgets edit it.

Every control is derived from the capabilities table through
``params.options(name)`` and ``params.supports(name)``: there is no per-model
``if`` here. When the model changes, each control's options and value are set
together inside ``hold_sync()``, and a guard keeps the dropdown's own reset
(ipywidgets jumps to the first option when options change) from ever reaching
the params.

Each change is shown once: a model switch (which moves many fields) refreshes
every control once, after the params have settled; any other change refreshes
only the controls it can affect (itself, the fields that apply only under it,
and the fields it excludes values of).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable
from typing import Any

import anywidget
import ipywidgets as widgets
import traitlets
from traitlets import TraitError

from ..models import FIELDS, MODELS, Choice, Flag, IntRange, Text, models_taking
from ..params import ImageParams
from .frontend import esm
from .size import CustomSize
from .widgets import Guard, close_tree, plain, set_shown, shared_layout, shared_style

__all__ = ["Controls", "PromptBox"]


class PromptBox(anywidget.AnyWidget):
    """A multi-line prompt box; Ctrl+Enter (Cmd+Enter) submits."""

    _esm = esm("prompt.js")
    value = traitlets.Unicode("", help="The prompt text.").tag(sync=True)
    placeholder = traitlets.Unicode("Describe the image… (Ctrl+Enter generates)").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._submit_handlers: list[Callable[[], None]] = []
        self.on_msg(self._on_message)

    def on_submit(self, handler: Callable[[], None]) -> None:
        """Call ``handler`` when Ctrl+Enter is pressed in the box."""
        self._submit_handlers.append(handler)

    def submit(self) -> None:
        """What Ctrl+Enter does."""
        for handler in self._submit_handlers:
            handler()

    def _on_message(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("event") == "submit":
            if isinstance(content.get("value"), str):
                self.value = content["value"]  # what the box holds now, typed a moment ago
            self.submit()

    def __repr__(self) -> str:
        return f"PromptBox(len={len(self.value)})"


_LABELS = {
    "model": "Model", "n": "Images", "quality": "Quality", "response_format": "Response",
    "size": "Size", "style": "Style", "background": "Background", "output_format": "Format",
    "output_compression": "Compression", "moderation": "Moderation", "stream": "Stream",
    "partial_images": "Partials", "user": "User id", "complexity": "Complexity",
    "frame_count": "GIF frames", "frame_duration_ms": "Frame ms", "input_fidelity": "Fidelity",
    "safety_identifier": "Safety id",
}


def _kind_of(name: str) -> object:
    """The kind of ``name`` in the first model that takes it: it decides the control."""
    return next((spec.kind(name) for spec in MODELS.values() if name in spec.fields), None)


# What each field does, for its tooltip: the explain line says which models take it.
_DOES = {
    "model": "The image model that makes the picture",
    "n": "How many images to make", "quality": "How much detail and time go into the image",
    "response_format": "url or base64 data", "size": "Width x height in pixels",
    "style": "A vivid or a natural look", "background": "transparent or opaque background",
    "output_format": "File format of the image", "output_compression": "JPEG/WebP compression, 0-100",
    "moderation": "How strict the content filter is",
    "stream": "Show partial images while the image is made",
    "partial_images": "How many partial images to show",
    "user": "An id for your end user (deprecated by the API for the safety id)",
    "safety_identifier": "A stable, hashed id of your end user, for safety monitoring",
    "input_fidelity": "How closely an edit keeps its input images' features (faces, style)",
    "complexity": "How much planning goes into the picture",
    "frame_count": "Frames of the animated GIF", "frame_duration_ms": "Milliseconds each GIF frame shows",
}

# A field as a sentence names it; else its label in lower case.
_WORDS = {"n": "number of images", "response_format": "response format", "stream": "streaming",
          "partial_images": "partial images", "frame_count": "GIF frames",
          "frame_duration_ms": "frame duration", "output_format": "format",
          "input_fidelity": "input fidelity", "safety_identifier": "safety id"}


def _word(name: str) -> str:
    return _WORDS.get(name, _LABELS.get(name, name).lower())


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _setting(name: str, values: Iterable[Any]) -> str:
    """``name`` holding any of ``values``, in words: "format jpeg or webp", "streaming on"."""
    return f"{_word(name)} {' or '.join(_value(v) for v in values)}"


def _applies_only(name: str, field: str, values: Iterable[Any]) -> str:
    word = _word(name)
    verb = "apply" if word.endswith("s") else "applies"
    return f"{word} {verb} only with {_setting(field, values)}"


class Controls(widgets.VBox):
    """One control per request field, kept in step with ``params``.

    Parameters
    ----------
    params : ImageParams
        The model of record; the controls only observe and edit it.

    Attributes
    ----------
    widgets : dict
        Field name to its control, e.g. ``controls.widgets["size"]``.
    explain : ipywidgets.HTML
        Why controls are hidden or disabled and options left out, one line each.
    message : ipywidgets.HTML
        Where a refused value is explained.
    custom_size : CustomSize
        The custom size box, aspect ratios and their message, next to the Size
        dropdown; hidden for a model without custom sizes.
    """

    def __init__(self, params: ImageParams) -> None:
        self.params = params
        self._syncing = Guard()  # true while the params set the widgets
        self._models: tuple[str, ...] | None = None  # None: every model of the table
        self._shown_model = params.model  # the model every control was last refreshed for
        self.prompt = PromptBox(value=params.prompt, **plain(PromptBox))
        self.prompt.add_class("iw-prompt")
        self.count = widgets.HTML(**plain(widgets.HTML))
        self.count.add_class("iw-prompt-count")
        self.explain = widgets.HTML(**plain(widgets.HTML))
        self.explain.add_class("iw-controls-explain")
        self.message = widgets.HTML(**plain(widgets.HTML))
        self.message.add_class("iw-controls-message")
        self.widgets: dict[str, widgets.Widget] = {"prompt": self.prompt}
        for name in FIELDS:
            if name != "prompt":
                self.widgets[name] = self._make(name)
        for name, control in self.widgets.items():
            control.add_class(f"iw-field-{name.replace('_', '-')}")
            control.observe(self._from_widget(name), names="value")
        self.custom_size = CustomSize(params)
        params.observe(self._on_params, names=[*FIELDS, "endpoint"])
        settings = [self.widgets[name] for name in FIELDS if name != "prompt"]
        at = settings.index(self.widgets["size"]) + 1
        settings[at:at] = [self.custom_size.text, self.custom_size.ratio]
        grid = widgets.GridBox(
            settings, layout=shared_layout(grid_template_columns="repeat(auto-fill, 250px)",
                                           grid_gap="4px 12px"))
        super().__init__([self.prompt, self.count, grid, self.custom_size.row, self.explain,
                          self.message], **plain(widgets.VBox))
        self.add_class("iw-controls")
        self.refresh()

    def _make(self, name: str) -> widgets.Widget:
        label = _LABELS.get(name, name)
        width = {"description_width": "90px"}
        kind = _kind_of(name)
        if name == "model":  # two columns wide: "gpt-image-1.5-2025-12-16 · shuts down 2026-12-01"
            return widgets.Dropdown(options=self._model_options(), value=self.params.model,
                                    description=label, style=shared_style(widgets.Dropdown, **width),
                                    layout=shared_layout(width="auto", grid_column="span 2"))
        layout = shared_layout(width="245px")
        if isinstance(kind, Flag):
            return widgets.Checkbox(description=label, indent=True, layout=layout,
                                    style=shared_style(widgets.Checkbox, **width))
        if isinstance(kind, Text):
            return widgets.Text(description=label, placeholder="optional", layout=layout,
                                style=shared_style(widgets.Text, **width))
        if isinstance(kind, IntRange):
            return widgets.IntSlider(description=label, min=0, max=kind.high, layout=layout,
                                     style=shared_style(widgets.IntSlider, **width), continuous_update=False)
        return widgets.Dropdown(options=[], description=label, layout=layout,
                                style=shared_style(widgets.Dropdown, **width))

    # -- params -> widgets -------------------------------------------------------

    def _on_params(self, change: Any) -> None:
        name = change["name"]
        if name in ("model", "endpoint"):
            self.refresh()
        elif self.params.model == self._shown_model:
            self.refresh(self._affected(name))
        # else: a model switch is re-deriving the fields; the params notify "model"
        # after those, and that one refresh shows them all.

    def _affected(self, name: str) -> set[str]:
        """The fields whose control can change when ``name`` changes, under this model."""
        spec = self.params.spec
        names = {name}
        names.update(other for other, condition in spec.when.items() if condition.field == name)
        for exclusion in spec.exclusions:
            pair = {exclusion.first[0], exclusion.second[0]}
            if name in pair:
                names |= pair
        for rule in spec.requires:
            pair = {rule.trigger[0], rule.field}
            if name in pair:
                names |= pair
        return names

    def refresh(self, names: Iterable[str] | None = None) -> None:
        """Bring controls in line with ``params``: options, value, visibility, tooltip.

        Every control, or only those of the fields in ``names``.
        """
        chosen = set(FIELDS) if names is None else set(names)
        with self._syncing:
            if names is None:
                self._shown_model = self.params.model
            if "prompt" in chosen:
                if self.prompt.value != self.params.prompt:
                    self.prompt.value = self.params.prompt
                self._refresh_count()
            for name in FIELDS:
                if name != "prompt" and name in chosen:
                    self._refresh_control(name)
            if "size" in chosen:
                self.custom_size.refresh()
            self._refresh_explain()

    def _explanations(self) -> list[str]:
        """Why controls are hidden or disabled and options left out now, as sentences."""
        params, spec = self.params, self.params.spec
        values = params.to_dict()
        lines = []
        hidden = [_word(name) for name in FIELDS
                  if not params.takes(name) and models_taking(name, params.endpoint)]
        if hidden:
            lines.append(f"{spec.name} does not take {', '.join(hidden)}")
        # Why the custom size box is hidden: only said where another model has one.
        if (spec.takes("size") and spec.custom_sizes is None
                and any(other.custom_sizes for other in MODELS.values())):
            lines.append(f"{spec.name} takes only the listed sizes, no custom WIDTHxHEIGHT")
        for name in FIELDS:
            condition = spec.when.get(name)
            if params.takes(name) and condition is not None and not params.supports(name):
                lines.append(_applies_only(name, condition.field, condition.values))
        for exclusion in spec.exclusions:
            for (field, bad), (other, other_value) in ((exclusion.first, exclusion.second),
                                                       (exclusion.second, exclusion.first)):
                if params.takes(field) and values.get(other) == other_value:
                    lines.append(f"{_setting(field, [bad])} is not offered with "
                                 f"{_setting(other, [other_value])}: {exclusion.reason}")
        for rule in spec.requires:
            if params.takes(rule.field) and rule.active(values):
                lines.append(f"{_word(rule.field)} is only {' or '.join(map(_value, rule.values))} "
                             f"with {_setting(rule.trigger[0], [rule.trigger[1]])}: {rule.reason}")
        return lines

    def _refresh_explain(self) -> None:
        text = "<br>".join(html.escape(line) for line in self._explanations())
        if self.explain.value != text:
            self.explain.value = text

    def _refresh_control(self, name: str) -> None:
        params, spec = self.params, self.params.spec
        control = self.widgets[name]
        value = getattr(params, name)
        with control.hold_sync():
            if not params.takes(name):  # at this endpoint: moderation is hidden at edits
                set_shown(control, False)
                control.disabled = True
                control.tooltip = _DOES.get(name, name)
                return
            set_shown(control, True)
            kind = spec.kind(name) if name != "model" else None
            if name == "model":
                options = self._model_options()
                if tuple(control.options) != options:
                    control.options = options
            elif isinstance(kind, Choice):
                options = params.options(name)
                if value is not None and value not in options and spec.allows(name, value):
                    options += (value,)  # a custom size: the dropdown must hold the value
                if tuple(control.options) != options:
                    control.options = options
            elif isinstance(kind, IntRange):
                # What applies now (n is 1 while svg is chosen); widen first so neither
                # bound ever refuses the other.
                low, high = params.bounds(name)
                control.max = max(control.max, high)
                control.min = low
                control.max = high
            if control.value != value and not (isinstance(kind, Text) and value is None):
                control.value = value
            applies = params.supports(name)
            single = isinstance(kind, IntRange) and len(set(params.bounds(name))) == 1
            control.disabled = not applies or single
            control.tooltip = self._tooltip(name, applies, single)

    def set_models(self, names: Iterable[str] | None) -> None:
        """Offer only ``names`` in the model dropdown (None: every model of the table).

        Names the table does not know are left out; the params' own model stays
        listed even when not among ``names``, since the dropdown shows what the
        params hold. Options keep their lifecycle labels.
        """
        self._models = None if names is None else tuple(n for n in names if n in MODELS)
        with self._syncing:
            self._refresh_control("model")

    @property
    def models(self) -> tuple[str, ...]:
        """The model names the dropdown offers: current ones in the table's order, then retired ones."""
        return tuple(name for _label, name in self._model_options())

    def _model_options(self) -> tuple[tuple[str, str], ...]:
        # Labels say which models the API shut down: "dall-e-3 · retired 2026-05-12".
        # Current models first: a new user picks from the top, and 7 retired ones lead the table.
        wanted = set(MODELS) if self._models is None else {*self._models, self.params.model}
        specs = sorted((spec for spec in MODELS.values() if spec.name in wanted),
                       key=lambda spec: spec.retired())  # stable: the table's order within each
        return tuple((spec.label(), spec.name) for spec in specs)

    def _tooltip(self, name: str, applies: bool, single: bool) -> str:
        """What the field does; for a disabled one, also why."""
        does = _DOES.get(name, name)
        spec = self.params.spec
        if single:
            values = self.params.to_dict()
            for rule in spec.requires:
                if rule.field == name and rule.active(values):
                    return (f"{does} ({_word(name)} is only {_value(getattr(self.params, name))} "
                            f"with {_setting(rule.trigger[0], [rule.trigger[1]])}: {rule.reason})")
            return f"{does} (only {getattr(self.params, name)} with this model)"
        condition = spec.when.get(name)
        if not applies and condition is not None:
            return f"{does} ({_applies_only(name, condition.field, condition.values)})"
        return does

    def _refresh_count(self) -> None:
        kind = self.params.spec.kind("prompt")
        limit = kind.max_length if isinstance(kind, Text) else None
        length = len(self.params.prompt)
        if limit is None:
            self.count.value = f"{length:,} characters"
            return
        over = length > limit
        css = "iw-count-over" if over else "iw-count"
        note = f" — {html.escape(self.params.model)} takes at most {limit:,}" if over else ""
        self.count.value = f'<span class="{css}">{length:,} / {limit:,} characters{note}</span>'

    # -- widgets -> params -------------------------------------------------------

    def _from_widget(self, name: str) -> Callable[[Any], None]:
        def push(change: Any) -> None:
            if self._syncing:
                return  # our own refresh, including a dropdown's reset to its first option
            try:
                setattr(self.params, name, change["new"])
            except TraitError as error:
                self.message.value = f'<span class="iw-error">{html.escape(str(error))}</span>'
                self.refresh()  # put the control back to what the params hold
            else:
                self.message.value = ""

        return push

    def close(self) -> None:
        """Stop observing the params and close every control; safe to call twice."""
        if self.comm is None:
            return  # already closed (ipywidgets calls close() again from __del__)
        self.params.unobserve(self._on_params, names=[*FIELDS, "endpoint"])
        close_tree(self)
