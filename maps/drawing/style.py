"""How a layer's symbol is drawn in SVG: on the static map, in legends and as Leaflet icons."""

from __future__ import annotations

from collections.abc import Iterable

from maps.drawing.features import MapLayer

FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
SVG_NS = "http://www.w3.org/2000/svg"


def symbol(shape: str, cx: float, cy: float, size: float, color: str, stroke: str) -> str:
    r = size / 2
    style = f'fill="{color}" stroke="{stroke}" stroke-width="0.8"'
    if shape == "square":
        return (
            f'<rect x="{cx - r:.1f}" y="{cy - r:.1f}" width="{size:.1f}" height="{size:.1f}"'
            f" {style}/>"
        )
    if shape == "diamond":
        return (
            f'<path d="M{cx:.1f} {cy - r:.1f}L{cx + r:.1f} {cy:.1f}L{cx:.1f} {cy + r:.1f}'
            f'L{cx - r:.1f} {cy:.1f}Z" {style}/>'
        )
    if shape == "triangle":
        h = r * 1.1
        return (
            f'<path d="M{cx:.1f} {cy - h:.1f}L{cx + h:.1f} {cy + h * 0.8:.1f}'
            f'L{cx - h:.1f} {cy + h * 0.8:.1f}Z" {style}/>'
        )
    return f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" {style}/>'


def symbol_outline(shape: str, cx: float, cy: float, size: float) -> str:
    """The symbol as one closed subpath, so that a whole layer is one SVG path."""
    r = size / 2
    if shape == "square":
        return f"M{cx - r:.1f} {cy - r:.1f}h{size:.1f}v{size:.1f}h{-size:.1f}Z"
    if shape == "diamond":
        return f"M{cx:.1f} {cy - r:.1f}l{r:.1f} {r:.1f}l{-r:.1f} {r:.1f}l{-r:.1f} {-r:.1f}Z"
    if shape == "triangle":
        h = r * 1.1
        return f"M{cx:.1f} {cy - h:.1f}l{h:.1f} {h * 1.8:.1f}h{-2 * h:.1f}Z"
    arc = f"a{r:.1f} {r:.1f} 0 1 0"
    return f"M{cx - r:.1f} {cy:.1f}{arc} {size:.1f} 0{arc} {-size:.1f} 0Z"


# WeasyPrint parses a path's data by slicing the rest of the string at every number, which
# takes time quadratic in its length: a layer is a few paths of about this many characters,
# not one path of hundreds of kilobytes (nor one element per feature).
PATH_CHUNK = 4000


def paths(subpaths: Iterable[str], attrs: str) -> str:
    """SVG path elements holding `subpaths` (each starting with M), PATH_CHUNK long or so."""
    out, chunk, size = [], [], 0
    for sub in subpaths:
        chunk.append(sub)
        size += len(sub)
        if size >= PATH_CHUNK:
            out.append(f'<path d="{"".join(chunk)}" {attrs}/>')
            chunk, size = [], 0
    if chunk:
        out.append(f'<path d="{"".join(chunk)}" {attrs}/>')
    return "".join(out)


def symbols(layer: MapLayer, points: list[tuple[float, float]]) -> str:
    """Every point of a layer in a few SVG paths: a layer of a thousand poles is a handful of
    elements to lay out, not a thousand. Small unstroked dots are zero-length strokes with
    round caps (drawn as discs by PDF and SVG renderers alike), the cheapest path there is."""
    stroke = point_stroke(layer)
    if layer.shape == "circle" and stroke == "none":
        return paths(
            (f"M{x:.1f} {y:.1f}h0" for x, y in points),
            f'fill="none" stroke="{layer.color}" stroke-width="{layer.size:g}"'
            ' stroke-linecap="round"',
        )
    return paths(
        (symbol_outline(layer.shape, x, y, layer.size) for x, y in points),
        f'fill="{layer.color}" stroke="{stroke}" stroke-width="0.8"',
    )


def point_stroke(layer: MapLayer) -> str:
    return "none" if layer.size <= 5 else "#ffffff" if layer.shape != "circle" else "#222222"


def line_attrs(layer: MapLayer, weight: float | None = None) -> str:
    attrs = (
        f'fill="none" stroke="{layer.color}" stroke-width="{weight or layer.weight:g}"'
        f' stroke-linecap="round" stroke-linejoin="round"'
    )
    if layer.dash:
        attrs += f' stroke-dasharray="{layer.dash}"'
    if layer.opacity < 1:
        attrs += f' stroke-opacity="{layer.opacity:g}"'
    return attrs


def legend_symbol(layer: MapLayer, width: int = 26, height: int = 16) -> str:
    """A small standalone SVG of the layer's symbol (legend and layer control)."""
    if layer.kind == "point":
        size = min(max(layer.size, 6), height - 2)
        body = symbol(layer.shape, width / 2, height / 2, size, layer.color, point_stroke(layer))
    else:
        body = (
            f'<path d="M2 {height / 2:g}H{width - 2}" {line_attrs(layer, min(layer.weight, 5))}/>'
        )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' aria-hidden="true">{body}</svg>'
    )


def marker_icon(layer: MapLayer) -> str:
    """The layer's point symbol for a Leaflet divIcon (circles are drawn on the canvas)."""
    if layer.shape == "circle":
        return ""
    w = layer.size + 2
    body = symbol(layer.shape, w / 2, w / 2, layer.size, layer.color, point_stroke(layer))
    return f'<svg width="{w:g}" height="{w:g}" viewBox="0 0 {w:g} {w:g}">{body}</svg>'
