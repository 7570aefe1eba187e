"""Bar charts drawn once, on the server, as SVG: the same drawing in the page and in the PDF,
visible without JavaScript, readable by a screen reader (title, description, a <title> per bar)
and scaled by its viewBox to the width of its card.

Pure functions of the figures: no Django, no database. Two value axes when the series have
different units (consumption in kWh on the left, charges in $ on the right); both put their
zero on the same line, so a negative net charge hangs below it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

WIDTH, HEIGHT = 720.0, 300.0
TOP, BOTTOM = 44.0, 40.0  # legend above, month labels below
SIDE = 72.0  # room for an axis' labels
FONT = 12
POSITIVE_TICKS = 4


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    colour: str
    axis: int = 0  # 0: the left axis, 1: the right one
    label: Callable[[float], str] = field(default=lambda v: f"{v:g}")
    tick: Callable[[float], str] | None = None  # the axis' labels; `label` when None


def nice_step(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k at least `value` (a step of the axis)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= value * (1 - 1e-12):
            return factor * power
    return 10 * power  # pragma: no cover - the loop ends at 10


@dataclass(frozen=True)
class Axis:
    step: float
    negative_ticks: int
    negative_values: bool = False  # else its ticks below zero (there for the other axis) go

    @property
    def low(self) -> float:
        return -self.negative_ticks * self.step

    @property
    def high(self) -> float:
        return POSITIVE_TICKS * self.step


def axes_for(series: Sequence[Series]) -> dict[int, Axis]:
    """One axis per axis index, with a round step and the same number of ticks below zero."""
    spans: dict[int, tuple[float, float]] = {}
    for s in series:
        present = [v for v in s.values if v is not None]
        low, high = spans.get(s.axis, (0.0, 0.0))
        spans[s.axis] = (min([low, *present]), max([high, *present]))
    steps = {}
    for axis, (low, high) in spans.items():
        steps[axis] = nice_step(max(high, -low / 2, 0) / POSITIVE_TICKS)
    below = max((math.ceil(-low / steps[a] - 1e-9) for a, (low, _) in spans.items()), default=0)
    return {axis: Axis(step, below, spans[axis][0] < 0) for axis, step in steps.items()}


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    description: str = "",
    chart_id: str = "grafico",
    axis_units: Sequence[str] = ("", ""),
    every: int | None = None,
) -> str:
    """The SVG of a grouped bar chart: one group per label, one bar per series.

    `every` labels one group in so many (all of them when they fit); a missing value (None)
    draws no bar. The text is escaped; the result is safe to mark safe in a template.
    """
    axes = axes_for(series)
    right = 1 in axes
    left_x, right_x = SIDE, WIDTH - (SIDE if right else 16.0)
    plot_w, plot_h = right_x - left_x, HEIGHT - TOP - BOTTOM
    n = max(len(labels), 1)
    group = plot_w / n
    bar = group * 0.78 / max(len(series), 1)
    ticks = POSITIVE_TICKS + max((a.negative_ticks for a in axes.values()), default=0)

    def y_of(value: float, axis: Axis) -> float:
        return TOP + (axis.high - value) / (axis.high - axis.low) * plot_h

    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH:g} '
        f'{HEIGHT:g}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
        f'font-family="DejaVu Sans, Verdana, sans-serif" font-size="{FONT}">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
    ]
    primary = axes.get(0) or next(iter(axes.values()))
    for k in range(ticks + 1):
        value = primary.high - k * primary.step
        y = y_of(value, primary)
        stroke = "#555" if abs(value) < primary.step / 1e6 else "#ddd"
        out.append(
            f'<line x1="{left_x:.1f}" x2="{right_x:.1f}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{stroke}" stroke-width="1"/>'
        )
        for index, axis in axes.items():
            tick = axis.high - k * axis.step
            if tick < 0 and not axis.negative_values:
                continue
            owner = next(s for s in series if s.axis == index)
            x, anchor = (left_x - 6, "end") if index == 0 else (right_x + 6, "start")
            # With many ticks every other label is minor: a narrow screen's larger text
            # would overlap them (portal.css hides them there). Zero is never minor.
            minor = ' class="minor"' if ticks > 6 and (k - POSITIVE_TICKS) % 2 else ""
            out.append(
                f'<text x="{x:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}" fill="#333"{minor}>'
                f"{escape((owner.tick or owner.label)(tick))}</text>"
            )
    for index, unit in enumerate(axis_units[: len(axes)]):
        if unit:
            x, anchor = (left_x - 6, "end") if index == 0 else (right_x + 6, "start")
            out.append(
                f'<text x="{x:.1f}" y="{TOP - 16:.1f}" text-anchor="{anchor}" fill="#333" '
                f'font-weight="bold">{escape(unit)}</text>'
            )
    every = every or max(1, math.ceil(n / 12))
    for i, label in enumerate(labels):
        x0 = left_x + i * group + group * 0.11
        for j, s in enumerate(series):
            value = s.values[i] if i < len(s.values) else None
            if value is None:
                continue
            axis = axes[s.axis]
            y_zero, y_value = y_of(0, axis), y_of(value, axis)
            top, height = min(y_zero, y_value), max(abs(y_value - y_zero), 0.5)
            out.append(
                f'<rect x="{x0 + j * bar:.1f}" y="{top:.1f}" width="{bar * 0.92:.1f}" '
                f'height="{height:.1f}" fill="{s.colour}"><title>{escape(label)} · '
                f"{escape(s.name)}: {escape(s.label(value))}</title></rect>"
            )
        if i % every == 0:
            x = left_x + (i + 0.5) * group
            # Every other label is "minor": a narrow screen hides them (portal.css).
            minor = ' class="minor"' if i % (2 * every) else ""
            out.append(
                f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 18:.1f}" text-anchor="middle" '
                f'fill="#333"{minor}>{escape(label)}</text>'
            )
    x = left_x
    for s in series:
        out.append(
            f'<rect x="{x:.1f}" y="6" width="12" height="12" fill="{s.colour}"/>'
            f'<text x="{x + 16:.1f}" y="16" fill="#222">{escape(s.name)}</text>'
        )
        x += 30 + 13.5 * len(s.name)  # room for the larger text of a narrow screen
    out.append("</svg>")
    return "".join(out)
