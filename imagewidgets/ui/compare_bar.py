"""The comparison grid's bar: Run (asking first past a number of requests), Cancel, the contact
sheet, the thumbnails' size and the progress."""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets

from ..comparison import CONFIRM_OVER
from .download import FullImageButton

__all__ = ["GRID_THUMBNAILS", "RunBar"]

GRID_THUMBNAILS = (96, 512)
"""Smallest and largest thumbnail of a grid's samples, in pixels (its slider's bounds)."""


class RunBar(widgets.VBox):
    """Run, Cancel, Contact sheet, Thumbnails and the progress, above a comparison grid.

    Parameters
    ----------
    on_run : callable
        Starts the grid; called by Run, or by "Send" once a big grid is confirmed.
    on_cancel : callable
        Stops every request in flight.
    on_error : callable
        Shows an error of the contact sheet's (made off the loop).
    thumbnail_size : int
        The slider's first value.
    on_thumbnail_size : callable
        Called with the new longest side when the slider moves.
    """

    def __init__(self, *, on_run: Callable[[], None], on_cancel: Callable[[], None],
                 on_error: Callable[[BaseException], None], thumbnail_size: int,
                 on_thumbnail_size: Callable[[int], None]) -> None:
        self._on_run = on_run
        self.requests, self.estimate = 0, ""  # what the confirm step names; set by the grid
        self.run_button = widgets.Button(description="Run", button_style="primary", icon="play",
                                         tooltip="Run every cell")
        self.run_button.add_class("iw-run")
        self.run_button.on_click(lambda _button: self.run_clicked())
        self.cancel_button = widgets.Button(description="Cancel", icon="stop", disabled=True,
                                            tooltip="Stop every request in flight")
        self.cancel_button.add_class("iw-cancel")
        self.cancel_button.on_click(lambda _button: on_cancel())
        self.sheet_button = FullImageButton(action="download", label="Contact sheet",
                                            disabled=True, tooltip_text="Download the grid as PNG",
                                            off_loop=True, on_error=on_error)
        self.sheet_button.add_class("iw-sheet")
        low, high = GRID_THUMBNAILS
        self.thumbnail_slider = widgets.IntSlider(
            value=min(max(thumbnail_size, low), high), min=low, max=high, step=32,
            description="Thumbnails", continuous_update=False,
            tooltip="Longest side of each sample's picture, in pixels",
            style={"description_width": "auto"}, layout=widgets.Layout(width="260px"))
        self.thumbnail_slider.add_class("iw-thumbnail-size")
        self.thumbnail_slider.observe(lambda change: on_thumbnail_size(change["new"]), names="value")
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="",
                                            layout=widgets.Layout(width="200px"))
        self.progress_text = widgets.HTML("")
        self.progress_text.add_class("iw-progress-text")
        # The confirm step: hidden until Run is clicked on a grid of more than CONFIRM_OVER requests.
        self.confirm_text = widgets.HTML("")
        self.confirm_text.add_class("iw-confirm-text")
        self.send_button = widgets.Button(description="Send", button_style="warning", icon="check",
                                          layout=widgets.Layout(width="auto"))
        self.send_button.add_class("iw-confirm-send")
        self.send_button.on_click(lambda _button: self._send())
        self.back_button = widgets.Button(description="Back", tooltip="Send nothing",
                                          layout=widgets.Layout(width="auto"))
        self.back_button.add_class("iw-confirm-back")
        self.back_button.on_click(lambda _button: self._close_confirm())
        self.confirm = widgets.HBox([self.confirm_text, self.send_button, self.back_button],
                                    layout=widgets.Layout(display="none", align_items="center",
                                                          flex_flow="row wrap"))
        self.confirm.add_class("iw-confirm")
        bar = widgets.HBox([self.run_button, self.cancel_button, self.sheet_button,
                            self.thumbnail_slider, self.progress, self.progress_text],
                           layout=widgets.Layout(align_items="center", flex_flow="row wrap"))
        super().__init__([bar, self.confirm])

    @property
    def confirming(self) -> bool:
        """Whether the confirm step is shown (Run was clicked on a big grid)."""
        return bool(self.confirm.layout.display != "none")

    def run_clicked(self) -> None:
        """What Run does: start the grid, or first ask when it sends more than CONFIRM_OVER requests."""
        if self.requests <= CONFIRM_OVER:
            self._on_run()
            return
        self.confirm_text.value = html.escape(
            f"Send {self.requests} requests, estimated {self.estimate}? More than {CONFIRM_OVER} "
            "are sent only once confirmed.")
        self.send_button.description = f"Send {self.requests} requests"
        self.confirm.layout.display = "flex"
        self.run_button.disabled = True

    def _send(self) -> None:
        self._close_confirm()
        self._on_run()

    def _close_confirm(self) -> None:
        self.confirm.layout.display = "none"
        self.run_button.disabled = False

    def busy(self, busy: bool, done: int) -> None:
        """Buttons as the grid stands: Run off while it runs or asks, Cancel on while it runs."""
        self.cancel_button.disabled = not busy
        self.run_button.disabled = busy or self.confirming
        self.sheet_button.disabled = done == 0

    def __repr__(self) -> str:
        return f"RunBar(requests={self.requests})"

