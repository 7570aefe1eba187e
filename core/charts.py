"""Line charts drawn on the server as SVG: the same figure on the page and in its PDF
(WeasyPrint renders inline SVG), no script. Any app may use them; they know nothing of ours.

`line_chart` draws one or more lines on a numeric x axis whose ticks the caller labels (dates,
hours, weekdays, percentages), a y axis with round ticks and its unit, an optional shaded
band (an allowed range) and, per line, an optional min–max envelope. A `None` value breaks a
line (a gap in the data is not drawn across). Text is in user units sized for a 640-unit
width; the stylesheet enlarges it on narrow screens and hides the ticks marked `minor`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.html import escape

WIDTH, HEIGHT = 640, 300
LEFT, RIGHT, TOP, BOTTOM = 62, 26, 30, 52
PALETTE = ("#1f5fa8", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f")
BAND_FILL = "#2e7d32"
LEGEND_CHAR, LEGEND_ROW = 10.5, 22


@dataclass(frozen=True)
class ChartLine:
    name: str
    points: Sequence[tuple[float, float | None]]
    # (x, low, high) per point: drawn as a light area behind the line; None breaks it.
    envelope: Sequence[tuple[float, float, float] | None] = field(default=())
    color: str = ""


def nice_step(span: float, count: int = 5) -> float:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ) giving about `count` ticks over `span`."""
    if span <= 0:
        return 1.0
    raw = span / count
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)


def ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]; the first and last are the axis ends."""
    if high < low:
        low, high = high, low
    if high == low:
        low, high = low - 1, high + 1
    step = nice_step(high - low, count)
    first = math.floor(low / step + 1e-9) * step
    last = math.ceil(high / step - 1e-9) * step
    n = round((last - first) / step)
    return [round(first + i * step, 10) for i in range(n + 1)]


def number(value: float, decimals: int | None = None) -> str:
    """A tick label in Chilean style (decimal comma, no trailing zeros)."""
    if decimals is None:
        decimals = (
            0 if value == int(value) else (1 if abs(value * 10 - round(value * 10)) < 1e-9 else 2)
        )
    return f"{value:.{decimals}f}".replace("-", "−").replace(".", ",")


def line_chart(
    lines: Sequence[ChartLine],
    *,
    x_ticks: Sequence[tuple[float, str]],
    x_range: tuple[float, float],
    x_label: str,
    y_label: str,
    title: str,
    description: str,
    chart_id: str = "curva",
    band: tuple[float, float] | None = None,
    band_label: str = "",
    y_range: tuple[float, float] | None = None,
    step: bool = False,
) -> str:
    """The SVG of the chart; an empty string when no line has a value."""
    values = [y for line in lines for _, y in line.points if y is not None]
    values += [v for line in lines for e in line.envelope if e for v in e[1:]]
    if not values:
        return ""
    low, high = min(values), max(values)
    if band:
        low, high = min(low, band[0]), max(high, band[1])
    if y_range:
        low, high = min(low, y_range[0]), max(high, y_range[1])
    y_ticks = ticks(low, high)
    y_min, y_max = y_ticks[0], y_ticks[-1]
    x_min, x_max = x_range
    if x_max <= x_min:
        x_max = x_min + 1
    legend = [(line.name, line.color or PALETTE[i % len(PALETTE)]) for i, line in enumerate(lines)]
    if band and band_label:
        legend.append((band_label, ""))
    legend_items, cursor, row = [], LEFT, 0
    for name, color in legend:
        # Wide enough for the larger text of a phone's screen (the stylesheet's 18 units).
        width = 28 + LEGEND_CHAR * len(name)
        if cursor + width > WIDTH - RIGHT and cursor > LEFT:
            cursor, row = LEFT, row + 1
        legend_items.append((name, color, cursor, 16 + row * LEGEND_ROW))
        cursor += width
    top = TOP + row * LEGEND_ROW
    height = HEIGHT + row * LEGEND_ROW
    plot_w, plot_h = WIDTH - LEFT - RIGHT, height - top - BOTTOM

    def x(v: float) -> float:
        return LEFT + (v - x_min) / (x_max - x_min) * plot_w

    def y(v: float) -> float:
        return top + plot_h - (v - y_min) / (y_max - y_min) * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'class="curve" role="img" aria-labelledby="{chart_id}-t {chart_id}-d">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(description)}</desc>',
        '<g font-size="12" fill="#333" font-family="sans-serif">',
    ]
    if band:
        upper, lower = y(band[1]), y(band[0])
        out.append(
            f'<rect class="band" x="{LEFT}" y="{upper:.1f}" width="{plot_w}" '
            f'height="{lower - upper:.1f}" fill="{BAND_FILL}" fill-opacity="0.12"/>'
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{upper:.1f}" y2="{upper:.1f}" '
            f'stroke="{BAND_FILL}" stroke-dasharray="4 3"/>'
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{lower:.1f}" y2="{lower:.1f}" '
            f'stroke="{BAND_FILL}" stroke-dasharray="4 3"/>'
        )
    for i, t in enumerate(y_ticks):
        yy = y(t)
        minor = ' class="minor"' if i % 2 and len(y_ticks) > 4 else ""
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{yy:.1f}" y2="{yy:.1f}" '
            f'stroke="#e3e3e3"/><text{minor} x="{LEFT - 6}" y="{yy + 4:.1f}" '
            f'text-anchor="end">{number(t)}</text>'
        )
    if y_min < 0 < y_max:
        out.append(
            f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y(0):.1f}" y2="{y(0):.1f}" '
            'stroke="#777"/>'
        )
    for i, (value, label) in enumerate(x_ticks):
        if not x_min <= value <= x_max:
            continue
        xx = x(value)
        minor = ' class="minor"' if i % 2 and len(x_ticks) > 5 else ""
        # A label at an end of the axis stays inside the figure.
        anchor = "start" if value == x_min else "end" if value == x_max else "middle"
        out.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" '
            f'stroke="#333"/><text{minor} x="{xx:.1f}" y="{top + plot_h + 17}" '
            f'text-anchor="{anchor}">{escape(label)}</text>'
        )
    out.append(
        f'<text class="axis" x="{LEFT + plot_w / 2:.0f}" y="{height - 8}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text class="axis" x="14" y="{top + plot_h / 2:.0f}" '
        f'transform="rotate(-90 14 {top + plot_h / 2:.0f})" text-anchor="middle">'
        f"{escape(y_label)}</text>"
    )
    for index, line in enumerate(lines):
        color = line.color or PALETTE[index % len(PALETTE)]
        for area in _runs([(e, 0.0) if e else (0.0, None) for e in line.envelope]):
            upper = " ".join(f"{x(e[0]):.1f},{y(e[2]):.1f}" for e, _ in area)
            lower = " ".join(f"{x(e[0]):.1f},{y(e[1]):.1f}" for e, _ in reversed(area))
            out.append(
                f'<polygon class="envelope" points="{upper} {lower}" fill="{color}" '
                'fill-opacity="0.18" stroke="none"/>'
            )
        for run in _runs(line.points):
            if step:
                coords = []
                for n, (px, py) in enumerate(run):
                    if n:
                        coords.append(f"{x(px):.1f},{y(run[n - 1][1]):.1f}")
                    coords.append(f"{x(px):.1f},{y(py):.1f}")
            else:
                coords = [f"{x(px):.1f},{y(py):.1f}" for px, py in run]
            if len(coords) == 1:
                px, py = run[0]
                out.append(
                    f'<circle class="series" cx="{x(px):.1f}" cy="{y(py):.1f}" r="2" '
                    f'fill="{color}" data-serie="{escape(line.name)}"/>'
                )
            else:
                out.append(
                    f'<polyline class="series" points="{" ".join(coords)}" fill="none" '
                    f'stroke="{color}" stroke-width="1.5" stroke-linejoin="round" '
                    f'data-serie="{escape(line.name)}"/>'
                )
    for name, color, lx, ly in legend_items:
        if color:
            out.append(f'<rect x="{lx}" y="{ly - 6}" width="14" height="4" fill="{color}"/>')
        else:
            out.append(
                f'<rect x="{lx}" y="{ly - 10}" width="14" height="12" fill="{BAND_FILL}" '
                'fill-opacity="0.25"/>'
            )
        out.append(f'<text class="legend" x="{lx + 18}" y="{ly}">{escape(name)}</text>')
    out.append(
        f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#999"/></g></svg>'
    )
    return "".join(out)


def _runs(points: Sequence[tuple]) -> list[list[tuple]]:
    """The stretches of `points` between the ones whose value (second item) is None."""
    runs: list[list[tuple]] = [[]]
    for px, py in points:
        if py is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((px, py))
    return [run for run in runs if run]
