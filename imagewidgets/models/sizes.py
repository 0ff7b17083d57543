"""Sizes: reading ``WIDTHxHEIGHT``, and the rules of sizes a model takes beyond its presets."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["CustomSizes", "ascii_digits", "parse_size"]

_SIZE = re.compile(r"([0-9]+)x([0-9]+)")  # not \d: that also matches digits of other scripts


def parse_size(size: object) -> tuple[int, int] | None:
    """``"1536x1024"`` -> ``(1536, 1024)``; None for ``auto`` or anything not ``WxH``.

    The one place a size string is read.
    """
    match = _SIZE.fullmatch(size) if isinstance(size, str) else None
    return (int(match[1]), int(match[2])) if match else None


def ascii_digits(size: str) -> str:
    """``size`` with decimal digits of other scripts (``١``, ``１``) written as 0-9."""
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() and not char.isascii()
                   else char for char in size)


@dataclass(frozen=True)
class CustomSizes:
    """``WIDTHxHEIGHT`` sizes a model takes beyond its preset list."""

    multiple: int
    max_ratio: float
    max_long_side: int
    max_short_side: int
    min_pixels: int = 0

    def problem(self, size: str) -> str | None:
        """Why ``size`` is not allowed, or None when it is.

        Every rule it breaks, joined by "; ": fixing one should not reveal another.
        """
        parsed = parse_size(size)
        if parsed is None:
            return "it is not of the form WIDTHxHEIGHT"
        width, height = parsed
        if width <= 0 or height <= 0:
            return "both sides must be positive"
        broken = []
        if width % self.multiple or height % self.multiple:
            broken.append(f"both sides must be divisible by {self.multiple}")
        # Exact: a float division overflows for a side typed with 400 digits. Imported here:
        # fractions (and decimal) cost 2 ms at import, paid by every `import imagewidgets`.
        from fractions import Fraction

        if Fraction(max(width, height), min(width, height)) > Fraction(self.max_ratio):
            broken.append(f"the aspect ratio must be between 1:{self.max_ratio:g} and "
                          f"{self.max_ratio:g}:1")
        if max(width, height) > self.max_long_side or min(width, height) > self.max_short_side:
            broken.append(f"it must be at most {self.max_long_side}x{self.max_short_side} "
                          "(either way round)")
        if width * height < self.min_pixels:
            broken.append(f"it must have at least {self.min_pixels:,} pixels in all")
        return "; ".join(broken) or None

    def nearest(self, width: float, height: float) -> str:
        """The allowed size closest to ``width`` x ``height``, as ``"WIDTHxHEIGHT"``.

        "Closest" puts the aspect first, then the area, then rounding: the
        aspect asked for, brought within the ratio limit (so the orientation
        stays); the area asked for, brought within what the side limits and
        ``min_pixels`` allow at that aspect; then, among sizes whose sides are
        multiples, the one nearest that ideal, side by side on a log scale
        (``log(w / ideal_w) ** 2 + log(h / ideal_h) ** 2``, so 1% too wide
        weighs as much as 1% too narrow). An allowed size is its own nearest.
        Sides below 1 count as 1.

        Raises
        ------
        ValueError
            When these rules allow no size at all.
        """
        # In logarithms: a side typed with 400 digits is still a number here.
        log_w, log_h = math.log(max(width, 1)), math.log(max(height, 1))
        limit = math.log(self.max_ratio)
        aspect = min(max(log_w - log_h, -limit), limit)  # log(width / height)
        largest = min(2 * math.log(self.max_long_side) - abs(aspect),
                      2 * math.log(self.max_short_side) + abs(aspect))
        area = max(min(log_w + log_h, largest), math.log(max(self.min_pixels, 1)))
        ideal_w, ideal_h = math.exp((area + aspect) / 2), math.exp((area - aspect) / 2)
        step = self.multiple
        best: tuple[float, str] | None = None
        # Every allowed width, each with its best height: the heights allowed with one
        # width are an interval, and the closest is the ideal height brought into it.
        for w in range(step, self.max_long_side + 1, step):
            tallest = self.max_long_side if w <= self.max_short_side else self.max_short_side
            low = max(step, _round_up(w / self.max_ratio, step),
                      _round_up(self.min_pixels / w, step))
            high = min(_round_down(w * self.max_ratio, step), _round_down(tallest, step))
            if low > high:
                continue
            target = min(max(ideal_h, low), high)
            for h in (_round_down(target, step), _round_up(target, step)):
                distance = math.log(w / ideal_w) ** 2 + math.log(h / ideal_h) ** 2
                # problem() has the last word: the interval is only a fast way to it.
                if (best is None or distance < best[0]) and self.problem(f"{w}x{h}") is None:
                    best = (distance, f"{w}x{h}")
        if best is None:
            raise ValueError(f"no size keeps these rules: {self.describe()}")
        return best[1]

    def for_ratio(self, width: int, height: int, pixels: int = 1024 * 1024) -> str:
        """The allowed size nearest to aspect ``width:height`` with about ``pixels`` pixels.

        The default area is that of 1024x1024: such a size costs about what the
        square preset does, and every model's limits take it. An aspect beyond
        the ratio limit is brought in, as :meth:`nearest` does.
        """
        aspect = width / height
        return self.nearest(math.sqrt(pixels * aspect), math.sqrt(pixels / aspect))

    def allows_ratio(self, width: int, height: int) -> bool:
        """Whether the aspect ``width:height`` is within the ratio limit."""
        return max(width, height) / min(width, height) <= self.max_ratio

    def describe(self) -> str:
        return (
            f"any WIDTHxHEIGHT with both sides divisible by {self.multiple}, aspect ratio between "
            f"1:{self.max_ratio:g} and {self.max_ratio:g}:1, at most "
            f"{self.max_long_side}x{self.max_short_side}"
            + (f" and at least {self.min_pixels:,} pixels" if self.min_pixels else "")
        )


def _round_up(value: float, step: int) -> int:
    """The multiple of ``step`` at or above ``value`` (float noise forgiven)."""
    return math.ceil(value / step - 1e-9) * step


def _round_down(value: float, step: int) -> int:
    """The multiple of ``step`` at or below ``value`` (float noise forgiven)."""
    return math.floor(value / step + 1e-9) * step

