"""Small SVG charts drawn on the server, so that a page and its PDF show the same figure and
no script is needed: the capacity profile along a feeder."""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.utils.html import escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 56, 16, 40
HOSTING = "#1f5fa8"
REMAINING = "#2e7d32"
SCC = "#c62828"
CHUNK = 300  # dots a path


def _ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `high`."""
    if high <= 0:
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(int(math.ceil(high / step)) + 1)]


def _number(value: float) -> str:
    text = f"{value:.1f}" if value < 10 and value != int(value) else f"{value:.0f}"
    return text.replace(".", ",")


def capacity_profile(points: Sequence[tuple[float, float, float, float]]) -> str:
    """Capacity (MW, left axis) and short-circuit power (MVA, right axis) of every pole by its
    distance from the substation (km). `points`: (km, hosting MW, remaining MW, Scc MVA)."""
    if not points:
        return ""
    km = [p[0] for p in points]
    mw_ticks = _ticks(max(max(p[1] for p in points), 0.1))
    mva_ticks = _ticks(max(p[3] for p in points))
    km_ticks = _ticks(max(max(km), 0.1), 6)
    x_max, mw_max, mva_max = km_ticks[-1], mw_ticks[-1], mva_ticks[-1]
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(v):
        return LEFT + v / x_max * plot_w

    def y(v, top):
        return TOP + plot_h - v / top * plot_h

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        'class="chart" role="img" aria-labelledby="perfil-titulo perfil-desc">',
        '<title id="perfil-titulo">Perfil de capacidad a lo largo del alimentador</title>',
        '<desc id="perfil-desc">Capacidad indicativa y disponible (MW, eje izquierdo) y potencia '
        "de cortocircuito (MVA, eje derecho) en cada poste según su distancia a la subestación "
        "(km).</desc>",
        '<g font-size="11" fill="#333">',
    ]
    for t in mw_ticks:
        yy = y(t, mw_max)
        out.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#ddd"/>'
            f'<text x="{LEFT - 6}" y="{yy + 4:.1f}" text-anchor="end">{_number(t)}</text>'
        )
    for t in mva_ticks:
        yy = y(t, mva_max)
        out.append(
            f'<text x="{WIDTH - RIGHT + 6}" y="{yy + 4:.1f}" fill="{SCC}">{_number(t)}</text>'
        )
    for t in km_ticks:
        xx = x(t)
        out.append(
            f'<line x1="{xx:.1f}" x2="{xx:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}" '
            f'stroke="#333"/><text x="{xx:.1f}" y="{TOP + plot_h + 16}" '
            f'text-anchor="middle">{_number(t)}</text>'
        )
    out.append(
        f'<text x="{LEFT + plot_w / 2}" y="{HEIGHT - 6}" text-anchor="middle">'
        "Distancia a la subestación (km)</text>"
        f'<text x="12" y="{TOP + plot_h / 2}" transform="rotate(-90 12 {TOP + plot_h / 2})" '
        'text-anchor="middle">MW</text>'
        f'<text x="{WIDTH - 10}" y="{TOP + plot_h / 2}" '
        f'transform="rotate(90 {WIDTH - 10} {TOP + plot_h / 2})" text-anchor="middle" '
        f'fill="{SCC}">Scc (MVA)</text>'
    )
    for index, color, top, label in (
        (3, SCC, mva_max, "Scc"),
        (1, HOSTING, mw_max, "Capacidad indicativa"),
        (2, REMAINING, mw_max, "Disponible"),
    ):
        # Zero-length round-capped strokes: a dot per pole, in a few paths for the PDF
        # renderer to lay out instead of thousands of circles (WeasyPrint's path parser is
        # quadratic in a path's length, hence chunks rather than one path).
        dots = [f"M{x(p[0]):.1f} {y(p[index], top):.1f}h0" for p in points]
        chunks = ["".join(dots[i : i + CHUNK]) for i in range(0, len(dots), CHUNK)]
        out.append(
            f'<g fill="none" stroke="{color}" stroke-width="3.2" stroke-linecap="round"'
            f' aria-label="{escape(label)}">' + "".join(f'<path d="{d}"/>' for d in chunks) + "</g>"
        )
    out.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{plot_w}" height="{plot_h}" fill="none" '
        'stroke="#999"/></g></svg>'
    )
    return "".join(out)
