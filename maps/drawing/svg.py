"""The static map of the PDFs: the same layers as an inline SVG with scale bar and north
arrow, and an HTML legend beside it (WeasyPrint runs no JavaScript)."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.gis.geos import GEOSGeometry
from django.db import connection
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from maps.drawing.features import MapLayer, degrees_per_metre
from maps.drawing.features import ordered as lines_first
from maps.drawing.style import FONT, SVG_NS, line_attrs, paths, point_stroke, symbol, symbols


@dataclass
class _Frame:
    """Local metric projection (equirectangular at the centre latitude) fitted to a frame."""

    lon0: float
    lat0: float
    m_per_deg_lon: float
    m_per_deg_lat: float
    px_per_m: float
    cx: float
    cy: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        x = (lon - self.lon0) * self.m_per_deg_lon * self.px_per_m
        y = (lat - self.lat0) * self.m_per_deg_lat * self.px_per_m
        return self.cx + x, self.cy - y

    def affine(self) -> list[float]:
        """ST_Affine's a, e, xoff, yoff taking lon/lat to (x, -y) px: ST_AsSVG writes -y."""
        a = self.m_per_deg_lon * self.px_per_m
        e = self.m_per_deg_lat * self.px_per_m
        return [a, e, self.cx - self.lon0 * a, -self.lat0 * e - self.cy]

    def bbox(self, x: float, y: float, w: float, h: float, pad: float) -> list[float]:
        """The lon/lat box of the frame `pad` px wider on every side (xmin, ymin, xmax, ymax)."""
        a, e, *_ = self.affine()
        return [
            self.lon0 + (x - pad - self.cx) / a,
            self.lat0 - (y + h + pad - self.cy) / e,
            self.lon0 + (x + w + pad - self.cx) / a,
            self.lat0 - (y - pad - self.cy) / e,
        ]


Extent = tuple[float, float, float, float]


def _extent(layers: Sequence[MapLayer]) -> Extent | None:
    """One ST_Extent over the layers read in SQL, merged with the few features held in
    Python (an asset's own point, its substation)."""
    extents: list[Extent] = []
    sources = [layer.source for layer in layers if layer.source]
    if sources:
        union = " UNION ALL ".join(
            f"SELECT geom FROM ({sql}) s{i}" for i, (sql, _) in enumerate(sources)
        )
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
                f" FROM (SELECT ST_Extent(geom) AS e FROM ({union}) g) x",
                [p for _, params in sources for p in params],
            )
            row = cur.fetchone()
        if row and row[0] is not None:
            extents.append(row)
    extents += [
        f.geometry.extent
        for layer in layers
        if not layer.source
        for f in layer.features
        if f.geometry is not None and not f.geometry.empty
    ]
    if not extents:
        return None
    return (
        min(e[0] for e in extents),
        min(e[1] for e in extents),
        max(e[2] for e in extents),
        max(e[3] for e in extents),
    )


def _fit(layers: Sequence[MapLayer], x: float, y: float, w: float, h: float) -> _Frame:
    extent = _extent([layer for layer in layers if layer.fit])
    if extent is None:  # nothing to frame on: frame on the context instead
        extent = _extent(layers) or (-70.65, -33.45, -70.65, -33.45)
    xmin, ymin, xmax, ymax = extent
    lon0, lat0 = (xmin + xmax) / 2, (ymin + ymax) / 2
    dlon, dlat = degrees_per_metre(lat0)
    width_m = max((xmax - xmin) / dlon, 200.0)
    height_m = max((ymax - ymin) / dlat, 200.0)
    margin = 0.92  # keep symbols clear of the frame
    px_per_m = min(w * margin / width_m, h * margin / height_m)
    return _Frame(lon0, lat0, 1 / dlon, 1 / dlat, px_per_m, x + w / 2, y + h / 2)


# Print resolution: the map is 900 px across about 18 cm of paper, so 0.5 px is 0.1 mm;
# finer vertices cannot be seen, only laid out. The context (other feeders, dashed and grey
# around the asset; layers that do not frame the map) is the densest layer at national scale,
# thousands of branches, and WeasyPrint's cost is per vertex: it is drawn to 4 px (0.8 mm),
# in whole pixels, without merged pieces shorter than one dash nor chains of pieces (see
# _chained) shorter than a dash and a half.
TOLERANCE_PX = 0.5
CONTEXT_TOLERANCE_PX = 4.0
CONTEXT_MIN_PX = 6.0
CONTEXT_CHAIN_MIN_PX = 15.0
# Lines are clipped this far outside the frame so that their strokes still reach its edge;
# the context's simplified lines need no more than its tolerance and a stroke (whatever lies
# further out is drawn only to be clipped).
CLIP_PAD_PX = 20
CONTEXT_CLIP_PAD_PX = 8


def _sql_lines(layer: MapLayer, frame: _Frame, box: list[float]) -> str:
    """The layer's lines as SVG path data, clipped to the frame, merged where they meet (a
    feeder's spans become a few lines instead of one two-point line each), in pixels,
    simplified to print resolution, in one statement.

    The context's rows are whole feeder outlines, already merged lines: each is clipped,
    taken to pixels and simplified on its own before they are merged, which is the same
    drawing at about half the cost of simplifying the merge of them all (a feeder's spans
    are two-point lines, only worth simplifying once merged)."""
    sql, params = layer.source
    envelope = "ST_MakeEnvelope(%s, %s, %s, %s, 4326)"
    affine = "%s, 0, 0, %s, %s, %s"
    if layer.fit:
        tolerance, shortest, digits = TOLERANCE_PX, 0.0, 1
        line = f"""ST_Simplify(ST_Affine(ST_LineMerge(ST_CollectionExtract(
                       ST_ClipByBox2D(ST_Collect(geom), {envelope}), 2)), {affine}), %s)"""
    else:
        # Whole pixels (0.2 mm, finer than the context's simplification): shorter path data
        # and PDF operators than tenths.
        tolerance, shortest, digits = CONTEXT_TOLERANCE_PX, CONTEXT_MIN_PX, 0
        line = f"""ST_LineMerge(ST_CollectionExtract(ST_Collect(ST_Simplify(ST_Affine(
                       ST_ClipByBox2D(geom, {envelope}), {affine}), %s)), 2))"""
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT ST_AsSVG(ST_Collect(line), 0, {digits})
              FROM (SELECT (ST_Dump({line})).geom AS line
                      FROM ({sql}) g
                     WHERE geom && {envelope}) parts
             WHERE ST_Length(line) >= %s
            """,
            [*box, *frame.affine(), tolerance, *params, *box, shortest],
        )
        d = cur.fetchone()[0]
    return d or ""


def _sql_points(layer: MapLayer, frame: _Frame, box: list[float]) -> list[tuple[float, float]]:
    """The layer's points inside the frame in pixels, one per print-resolution cell (poles
    a few metres apart are one dot on paper)."""
    sql, params = layer.source
    with connection.cursor() as cur:
        cur.execute(
            f"""
            SELECT ST_X(p), -ST_Y(p)
              FROM (SELECT DISTINCT ST_SnapToGrid(ST_Affine(ST_PointOnSurface(geom),
                                                            %s, 0, 0, %s, %s, %s), %s) AS p
                      FROM ({sql}) g
                     WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)) d
             ORDER BY 2, 1
            """,
            [*frame.affine(), TOLERANCE_PX, *params, *box],
        )
        return cur.fetchall()


def _subpaths(d: str) -> list[str]:
    """Path data cut before each M (ST_AsSVG writes "M x y L x y x y ...", ours "Mx yL...")."""
    return ["M" + sub for sub in d.split("M") if sub.strip()]


def _chained(d: str, shortest: float = 0.0) -> list[str]:
    """The lines of path data `d` (ST_AsSVG, "M x y L x y x y ...") chained through the
    points where they meet, as subpaths: ST_LineMerge stops at every junction, so a feeder's
    outline is thousands of two-point pieces, and WeasyPrint's cost is per vertex (each
    subpath repeats its first point). Walking on through junctions, leaves first, makes a
    tree about half as many subpaths; the drawing is the same lines. Chains shorter than
    `shortest` px (specks: a branch's tip cut off by the frame) are left out."""
    lines = [n for n in (sub.replace("L", " ").split() for sub in d.split("M")) if len(n) >= 4]
    ends: dict[tuple[str, str], list[int]] = {}
    for i, n in enumerate(lines):
        ends.setdefault((n[0], n[1]), []).append(i)
        ends.setdefault((n[-2], n[-1]), []).append(i)
    used = [False] * len(lines)

    def walk(i: int, at: tuple[str, str]) -> list[str]:
        chain = [*at]  # numbers: x y x y ...
        while True:
            used[i] = True
            n = lines[i]
            if (n[0], n[1]) == at:
                chain += n[2:]
            else:  # walked backwards: the pairs in reverse order
                for k in range(len(n) - 4, -1, -2):
                    chain += n[k : k + 2]
            at = (chain[-2], chain[-1])
            for i in ends[at]:
                if not used[i]:
                    break
            else:
                return chain

    # Start at odd nodes (leaves, three-way junctions): trails that end there cover the rest.
    starts = [p for p, ids in ends.items() if len(ids) % 2] + list(ends)
    out: list[str] = []
    for point in starts:
        for i in ends[point]:
            if not used[i]:
                chain = walk(i, point)
                if shortest and not _reaches(chain, shortest):
                    continue
                out.append(f"M{chain[0]} {chain[1]}L{' '.join(chain[2:])}")
    return out


def _reaches(chain: list[str], length: float) -> bool:
    """Whether a chain (numbers x y x y ...) is at least `length` px long (measured only as
    far as needed: most chains are long)."""
    total = 0.0
    x0, y0 = float(chain[0]), float(chain[1])
    for k in range(2, len(chain), 2):
        x1, y1 = float(chain[k]), float(chain[k + 1])
        total += math.hypot(x1 - x0, y1 - y0)
        if total >= length:
            return True
        x0, y0 = x1, y1
    return False


def _path_data(geom: GEOSGeometry, frame: _Frame) -> str:
    kind = geom.geom_type
    if kind in ("MultiLineString", "MultiPolygon", "GeometryCollection", "Polygon"):
        return "".join(_path_data(g, frame) for g in geom)
    if kind in ("LineString", "LinearRing"):
        points = [frame.xy(lon, lat) for lon, lat in geom.coords]
        return "M" + "L".join(f"{px:.1f} {py:.1f}" for px, py in points)
    return ""


def _point_coords(geom: GEOSGeometry) -> list[tuple[float, float]]:
    kind = geom.geom_type
    if kind == "Point":
        return [geom.coords[:2]]
    if kind == "MultiPoint":
        return [g.coords[:2] for g in geom]
    return [geom.centroid.coords[:2]]


def _nice_length(max_m: float) -> float:
    """The largest 1, 2 or 5 × 10^k metres not longer than `max_m`."""
    exponent = math.floor(math.log10(max_m))
    for step in (5, 2, 1):
        if step * 10**exponent <= max_m:
            return step * 10**exponent
    return 10 ** (exponent - 1) * 5


def _length_label(metres: float) -> str:
    text = f"{metres / 1000:g} km" if metres >= 1000 else f"{metres:g} m"
    return text.replace(".", ",")


def _wrap(text: str, width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


# The figure's layout in drawing units: the map frame and, beside it, the legend panel
# (HTML: WeasyPrint lays out SVG text letter by letter, HTML text by the line), as they were
# when both were one SVG `width` units wide. portal.css gives the legend the same share of
# the width (.static-map-legend) and its text the size it had in the drawing.
PAD = 8
PANEL_W = 240
PANEL_GAP = 10
TITLE_H = 28
LEGEND_HEAD_H = 40  # the heading "Leyenda" above the first entry
LEGEND_LINE_H = 16
LEGEND_ENTRY_GAP = 8
LEGEND_WRAP = 25  # characters on a line of the legend
LEGEND_SYMBOL_W = 26
OUTSIDE = " (fuera del encuadre)"


def render_static_svg(
    layers: list[MapLayer], width: int = 900, height: int = 520, title: str = ""
) -> SafeString:
    """The static map for WeasyPrint, one XML fragment: a figure of the title (HTML), the map
    (an SVG of the features, scale bar, north arrow and frame) and its legend beside it
    (HTML, every layer's name in the caller's order, their symbols in one small SVG beside
    them).

    `width` and `height` are those of the whole figure in drawing units; the map's frame is
    what is left of them beside the legend panel and under the title, as tall as the legend
    needs."""
    uid = uuid.uuid4().hex[:10]
    top = PAD + (TITLE_H if title else 0)
    map_w = width - 2 * PAD - PANEL_W - PANEL_GAP
    # A long legend (a substation's dozen feeders) makes the map taller rather than run past
    # the bottom of its panel: (fuera del encuadre) may add a line to any name.
    legend_h = LEGEND_HEAD_H + sum(
        LEGEND_LINE_H * len(_wrap(layer.name + OUTSIDE, LEGEND_WRAP)) + LEGEND_ENTRY_GAP
        for layer in layers
    )
    height = max(height, top + legend_h + PAD)
    map_h = height - top - PAD
    # The title (HTML now) still takes its band off the map's height: the same frame as when
    # it was drawn. The SVG is the frame and one unit around it for the frame's stroke.
    map_x = map_y = 0
    frame = _fit(layers, map_x, map_y, map_w, map_h)
    ordered = lines_first(layers)

    parts = ['<figure class="static-map">']
    if title:
        parts.append(f'<figcaption class="static-map-title">{escape(title)}</figcaption>')
    parts += [
        '<div class="static-map-body"><div class="static-map-drawing">',
        f'<svg xmlns="{SVG_NS}" class="static-map-svg" width="{map_w + 2}" height="{map_h + 2}"'
        f' viewBox="-1 -1 {map_w + 2} {map_h + 2}" font-family="{FONT}" role="img"'
        f' aria-label="{escape(title or "Mapa")}">',
        f'<defs><clipPath id="clip-{uid}"><rect x="{map_x}" y="{map_y}" width="{map_w}"'
        f' height="{map_h}"/></clipPath></defs>',
        f'<rect x="{map_x}" y="{map_y}" width="{map_w}" height="{map_h}" fill="#f7f7f4"/>',
        f'<g clip-path="url(#clip-{uid})">',
    ]
    shown: set[int] = set()
    box = frame.bbox(map_x, map_y, map_w, map_h, CLIP_PAD_PX)
    context_box = frame.bbox(map_x, map_y, map_w, map_h, CONTEXT_CLIP_PAD_PX)
    for index, layer in enumerate(ordered):
        parts.append(f'<g class="layer" data-layer="{escape(layer.name)}">')
        if layer.kind == "point":
            if layer.source:
                points = _sql_points(layer, frame, box)
            else:
                points = [
                    frame.xy(lon, lat)
                    for feature in layer.features
                    for lon, lat in _point_coords(feature.geometry)
                ]
            if any(
                map_x <= px <= map_x + map_w and map_y <= py <= map_y + map_h for px, py in points
            ):
                shown.add(index)
            parts.append(symbols(layer, points))
        else:
            if layer.source:
                d = _sql_lines(layer, frame, box if layer.fit else context_box)
                inside = bool(d)
            else:
                d = "".join(_path_data(f.geometry, frame) for f in layer.features)
                inside = any(
                    _inside(f.geometry, frame, map_x, map_y, map_w, map_h) for f in layer.features
                )
            if d:
                subpaths = _subpaths(d) if layer.fit else _chained(d, CONTEXT_CHAIN_MIN_PX)
                parts.append(paths(subpaths, line_attrs(layer)))
            if inside:
                shown.add(index)
        parts.append("</g>")
    parts.append("</g>")

    parts.append(_north_arrow(map_x + map_w - 24, map_y + 14))
    parts.append(_scale_bar(frame.px_per_m, map_x + 12, map_y + map_h - 14, map_w))
    parts.append(
        f'<rect x="{map_x}" y="{map_y}" width="{map_w}" height="{map_h}" fill="none"'
        f' stroke="#333333" stroke-width="0.8"/>'
    )
    parts.append("</svg></div>")

    # Legend: every layer, in the caller's order. The names are broken into lines here, as
    # when they were drawn (portal.css does not wrap them), so that one SVG beside them holds
    # every symbol in line with its name: one image instead of one per layer, which
    # WeasyPrint builds, lays out and draws each at about the cost of a line of text.
    names, symbol_parts = [], []
    y = 0
    for layer in layers:
        name = layer.name + ("" if ordered.index(layer) in shown else OUTSIDE)
        lines = _wrap(name, LEGEND_WRAP)
        names.append(f"<li>{'<br/>'.join(escape(line) for line in lines)}</li>")
        symbol_parts.append(_legend_symbol(layer, y + LEGEND_LINE_H / 2))
        y += LEGEND_LINE_H * len(lines) + LEGEND_ENTRY_GAP
    parts.append(
        '<div class="static-map-legend"><p class="static-map-legend-title">Leyenda</p>'
        '<div class="static-map-entries"><div class="static-map-symbols">'
        f'<svg xmlns="{SVG_NS}" width="{LEGEND_SYMBOL_W}" height="{max(y, 1)}"'
        f' viewBox="0 0 {LEGEND_SYMBOL_W} {max(y, 1)}" aria-hidden="true">'
        f"{''.join(symbol_parts)}</svg></div><ul>{''.join(names)}</ul></div></div></div>"
        "</figure>"
    )
    return mark_safe("".join(parts))


def _legend_symbol(layer: MapLayer, cy: float) -> str:
    """The layer's symbol in the legend's column of symbols, centred on `cy`."""
    if layer.kind == "point":
        size = min(max(layer.size, 6), 14)
        cx = LEGEND_SYMBOL_W / 2
        return symbol(layer.shape, cx, cy, size, layer.color, point_stroke(layer))
    attrs = line_attrs(layer, min(layer.weight, 5))
    return f'<path d="M2 {cy:g}H{LEGEND_SYMBOL_W - 2}" {attrs}/>'


def _inside(geom: GEOSGeometry, frame: _Frame, x: float, y: float, w: float, h: float) -> bool:
    xmin, ymin, xmax, ymax = geom.extent
    left, bottom = frame.xy(xmin, ymin)
    right, top = frame.xy(xmax, ymax)
    return left <= x + w and right >= x and top <= y + h and bottom >= y


def _north_arrow(x: float, y: float) -> str:
    return (
        f'<g class="north-arrow"><circle cx="{x}" cy="{y + 16}" r="15" fill="#ffffff"'
        f' fill-opacity="0.85" stroke="#333" stroke-width="0.6"/>'
        f'<path d="M{x} {y + 4}L{x + 6} {y + 24}L{x} {y + 19}Z" fill="#222"/>'
        f'<path d="M{x} {y + 4}L{x - 6} {y + 24}L{x} {y + 19}Z" fill="#ffffff" stroke="#222"'
        f' stroke-width="0.8"/>'
        f'<text x="{x}" y="{y + 2}" font-size="11" font-weight="bold" text-anchor="middle"'
        f' fill="#222">N</text></g>'
    )


def _scale_bar(px_per_m: float, x: float, y: float, map_w: float) -> str:
    metres = _nice_length(map_w * 0.25 / px_per_m)
    label = _length_label(metres)
    length = metres * px_per_m
    lead = int(f"{metres:e}"[0])
    segments = 5 if lead == 5 else 4
    seg = length / segments
    parts = [
        f'<g class="scale-bar" data-metres="{metres:g}" data-px="{length:.2f}">',
        f'<rect x="{x - 8}" y="{y - 22}" width="{length + 16 + 3.5 * len(label):.1f}"'
        f' height="30" fill="#ffffff" fill-opacity="0.85"/>',
    ]
    for i in range(segments):
        fill = "#222222" if i % 2 == 0 else "#ffffff"
        parts.append(
            f'<rect x="{x + i * seg:.2f}" y="{y - 5}" width="{seg:.2f}" height="5" fill="{fill}"'
            f' stroke="#222222" stroke-width="0.6"/>'
        )
    parts.append(
        f'<rect class="scale-bar-length" x="{x:.2f}" y="{y - 5}" width="{length:.2f}" height="5"'
        f' fill="none" stroke="#222222" stroke-width="0.8"/>'
    )
    parts.append(
        f'<text x="{x}" y="{y - 9}" font-size="12" text-anchor="middle" fill="#222">0</text>'
    )
    parts.append(
        f'<text x="{x + length:.2f}" y="{y - 9}" font-size="12" text-anchor="middle" fill="#222">'
        f"{label}</text>"
    )
    parts.append("</g>")
    return "".join(parts)
