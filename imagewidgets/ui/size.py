"""Custom sizes in the controls: type ``WIDTHxHEIGHT`` or pick an aspect ratio.

Shown only for a model with custom sizes (``ModelSpec.custom_sizes``). A typed
size is checked as it is typed: a valid one goes to the params (the Size
dropdown then lists and shows it); an invalid one is explained, and the
nearest valid size is offered on a button, while the params keep their last
valid size, so nothing else is lost.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
from traitlets import TraitError

from ..models import CustomSizes, parse_size, shown
from ..params import ImageParams
from .widgets import Guard, plain, set_shown, shared_layout, shared_style

__all__ = ["RATIOS", "CustomSize"]

RATIOS = ("1:1", "3:2", "2:3", "4:3", "3:4", "16:9", "9:16", "21:9")
"""The aspect ratios offered, where the model's ratio limit allows them."""


def _ratio(text: str) -> tuple[int, int]:
    width, height = text.split(":")
    return int(width), int(height)


def _typed(text: str) -> str:
    """What was typed, as a size string: spaces dropped, ``X`` and ``×`` read as ``x``."""
    return "".join(text.split()).lower().replace("×", "x")


class CustomSize:
    """The custom size box, the aspect-ratio dropdown, a message line and the nearest button.

    Not a widget itself: :class:`~imagewidgets.ui.controls.Controls` places the
    box and the dropdown next to the Size dropdown and :attr:`row` below them,
    and calls :meth:`refresh` whenever the size or the model changes.

    Attributes
    ----------
    text : ipywidgets.Text
        Where ``WIDTHxHEIGHT`` is typed; checked at every keystroke.
    ratio : ipywidgets.Dropdown
        Aspect ratios; picking one sets the size. Empty when the size has none of them.
    message : ipywidgets.HTML
        Why the typed size is not allowed; empty while it is.
    nearest : ipywidgets.Button
        "Use 1920x1088": applies the nearest valid size; shown only with a message.
    row : ipywidgets.HBox
        The message and the button.
    """

    def __init__(self, params: ImageParams) -> None:
        self.params = params
        self._syncing = Guard()  # true while the params set the widgets
        self._offered: str | None = None
        width = {"description_width": "90px"}
        self.text = widgets.Text(description="Custom", placeholder="e.g. 1920x1088",
                                 continuous_update=True, style=shared_style(widgets.Text, **width),
                                 layout=shared_layout(width="245px"))
        self.ratio = widgets.Dropdown(description="Aspect ratio", options=(), value=None,
                                      style=shared_style(widgets.Dropdown, **width),
                                      layout=shared_layout(width="245px"),
                                      tooltip="Set the size from an aspect ratio")
        self.message = widgets.HTML(**plain(widgets.HTML))
        self.nearest = widgets.Button(layout=shared_layout(width="auto"),
                                      style=shared_style(widgets.Button))
        set_shown(self.nearest, False)
        self.row = widgets.HBox([self.message, self.nearest], **plain(widgets.HBox))
        for control, css in ((self.text, "custom"), (self.ratio, "ratio"),
                             (self.message, "message"), (self.nearest, "nearest")):
            control.add_class(f"iw-size-{css}")
        self.text.observe(self._on_text, names="value")
        self.ratio.observe(self._on_ratio, names="value")
        self.nearest.on_click(self._on_nearest)

    @property
    def _rules(self) -> CustomSizes | None:
        spec = self.params.spec
        return spec.custom_sizes if spec.takes("size") else None

    # -- params -> widgets -------------------------------------------------------

    def refresh(self) -> None:
        """Show or hide the controls for the model, and fill them from the params' size."""
        rules = self._rules
        with self._syncing:
            for control in (self.text, self.ratio, self.nearest):
                control.disabled = rules is None
            for control in (self.text, self.ratio, self.row):
                set_shown(control, bool(rules))
            if rules is None:
                self._say("", None)
                return
            size = self.params.size
            # Rewrite the box only when it says another size: never under the cursor for
            # the same one spelt differently ("1920 x 1088").
            if _typed(self.text.value) != size:
                self.text.value = size if parse_size(size) else ""
            self.text.tooltip = f"Width x height in pixels: {rules.describe()}"
            ratios = tuple(r for r in RATIOS if rules.allows_ratio(*_ratio(r)))
            with self.ratio.hold_sync():
                if tuple(self.ratio.options) != ratios:
                    self.ratio.options = ratios
                self.ratio.value = next((r for r in ratios if self._is_ratio(r, size)), None)
            self._check(apply=False)

    def _size_for(self, ratio: str) -> str:
        """The size a ratio stands for: the model's preset of exactly that aspect, else
        :meth:`CustomSizes.for_ratio` (about 1024x1024's area)."""
        width, height = _ratio(ratio)
        for preset in self.params.options("size"):
            parsed = parse_size(preset)
            if parsed and parsed[0] * height == parsed[1] * width:
                return str(preset)
        rules = self._rules
        assert rules is not None  # only offered for a model with custom sizes
        return rules.for_ratio(width, height)

    def _is_ratio(self, ratio: str, size: str | None) -> bool:
        parsed = parse_size(size)
        width, height = _ratio(ratio)
        return parsed is not None and (parsed[0] * height == parsed[1] * width
                                       or size == self._size_for(ratio))

    # -- widgets -> params -------------------------------------------------------

    def _on_text(self, _change: Any) -> None:
        if not self._syncing:
            self._check(apply=True)

    def _on_ratio(self, change: Any) -> None:
        if not self._syncing and change["new"] is not None:
            self._apply(self._size_for(change["new"]))

    def _on_nearest(self, _button: Any) -> None:
        if self._offered is not None:
            self._apply(self._offered)

    def _check(self, apply: bool) -> None:
        """Say why the typed size is not allowed; with ``apply``, set a valid one on the params."""
        typed, spec, rules = _typed(self.text.value), self.params.spec, self._rules
        if rules is None or not typed or spec.allows("size", typed):
            self._say("", None)
            if apply and rules is not None and typed and typed != self.params.size:
                self._apply(typed)
            return
        parsed = parse_size(typed)
        offered = rules.nearest(*parsed) if parsed else None
        self._say(f"size {shown(self.text.value.strip())} is not allowed for {spec.name}: "
                  f"{rules.problem(typed)}; the size stays {self.params.size}", offered)

    def _apply(self, size: str) -> None:
        try:
            self.params.size = size  # the controls hear of it and call refresh()
        except TraitError as error:
            self._say(str(error), None)
        else:
            self.refresh()  # also when the size was already this one: the box shows it

    def _say(self, text: str, offered: str | None) -> None:
        value = f'<span class="iw-error">{html.escape(text)}</span>' if text else ""
        if self.message.value != value:
            self.message.value = value
        self._offered = offered
        with self.nearest.hold_sync():
            self.nearest.description = f"Use {offered}" if offered else ""
            self.nearest.tooltip = (f"Set the size to {offered}, the nearest that "
                                    f"{self.params.model} takes" if offered else "")
            set_shown(self.nearest, bool(offered))
