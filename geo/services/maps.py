"""The maps of the detail pages: the asset with its surroundings, as Leaflet or as a static SVG.

`*_layers()` read what a map shows in a few queries; geometry work (merging a feeder's spans
into lines, simplifying them, distances in metres) happens in PostGIS. `render_interactive()`
turns layers into an HTML fragment for our own Leaflet init (`static/js/map.js`), fed by one
GeoJSON FeatureCollection per layer in a `<script type="application/json">` block;
`render_static_svg()` draws the same layers as an inline SVG with legend, scale bar and north
arrow for the PDFs (WeasyPrint runs no JavaScript).
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.gis.db.models import LineStringField, PointField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.contrib.gis.geos import GEOSGeometry, Point, Polygon
from django.contrib.gis.measure import D
from django.db import connection
from django.db.models.functions import Cast
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from network.models import Equipment, Feeder, Pole, Span, Substation, Transformer

SURROUNDINGS_M = 400
PRECISION = 6  # decimals of a degree: ~0.1 m

SPAN_COLOR = "#1f5fa8"
CONTEXT_COLOR = "#8c8c8c"
FEEDER_PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e",
    "#17becf", "#8c564b", "#e377c2", "#bcbd22", "#393b79",
)  # fmt: skip
# Category -> (colour, shape); shapes are told apart in black-and-white prints too.
EQUIPMENT_STYLE = {
    Equipment.Category.PROTECTION: ("#c62828", "square"),
    Equipment.Category.SWITCHING: ("#6a1b9a", "diamond"),
    Equipment.Category.COMPENSATION: ("#2e7d32", "circle"),
    Equipment.Category.REGULATION: ("#00838f", "triangle"),
    Equipment.Category.AUTOTRANSFORMER: ("#ad1457", "triangle"),
}


class MapFeature:
    """One feature: a GEOS geometry (SRID 4326), or GeoJSON straight from SQL, which is much
    cheaper for the hundreds of spans and poles of a feeder than walking GEOS coordinates."""

    __slots__ = ("_geometry", "geojson", "label", "url")

    def __init__(
        self,
        geometry: GEOSGeometry | None = None,
        label: str = "",
        url: str = "",
        geojson: str | None = None,
    ):
        self._geometry = geometry
        self.geojson = geojson
        self.label = label
        self.url = url

    @property
    def geometry(self) -> GEOSGeometry | None:
        if self._geometry is None and self.geojson is not None:
            self._geometry = GEOSGeometry(self.geojson, srid=4326)
        return self._geometry

    def __repr__(self) -> str:
        return f"MapFeature({self.label!r})"


@dataclass
class MapLayer:
    name: str  # legend label
    kind: str  # "line" | "point"
    color: str
    features: list[MapFeature] = field(default_factory=list)
    shape: str = "circle"  # points: circle | square | diamond | triangle
    size: float = 8  # points: symbol diameter in px
    weight: float = 2  # lines: stroke width in px
    dash: str = ""  # lines: SVG/Leaflet dash array, e.g. "6 4"
    opacity: float = 1.0
    fit: bool = True  # False: context drawn but not used to frame the map
    visible: bool = True  # interactive map: shown when the page opens
    min_zoom: int = 0  # interactive map: hidden below this zoom (dense layers)


# --- layers ---------------------------------------------------------------------------------


def substation_layers(substation: Substation) -> list[MapLayer]:
    """The substation and one generalised line per feeder (not its thousands of spans).

    Transformers are left to the feeder maps: at this scale they would be a cloud of dots.
    """
    lines = _generalised_feeders("f.substation_id = %s", [substation.pk])
    layers = [
        MapLayer(
            name=f"Alimentador {code} {name}",
            kind="line",
            color=FEEDER_PALETTE[i % len(FEEDER_PALETTE)],
            weight=3,
            features=[
                MapFeature(label=f"Alimentador {code} {name}", url=_url("feeder", pk), geojson=geom)
            ],
        )
        for i, (pk, code, name, geom) in enumerate(lines)
    ]
    layers.append(_substation_layer(substation))
    return layers


def feeder_layers(feeder: Feeder) -> list[MapLayer]:
    """All the feeder's spans, poles, transformers and equipment, its substation (and purchase
    node, for a sub-feeder), and the other feeders that cross its extent (generalised, as
    context)."""
    spans = Span.objects.filter(feeder=feeder).order_by("pk")
    poles = Pole.objects.filter(feeder=feeder).order_by("pk")
    transformers = Transformer.objects.filter(feeder=feeder).order_by("pk")
    equipment = Equipment.objects.filter(feeder=feeder).order_by("pk")
    others = _generalised_feeders(
        "f.id <> %s AND f.outline && (SELECT outline FROM network_feeder WHERE id = %s)",
        [feeder.pk, feeder.pk],
    )
    layers = [_others_layer(others)] if others else []
    layers += [
        _span_layer(spans),
        _pole_layer(poles),
        *_equipment_layers(equipment),
        _transformer_layer(transformers),
    ]
    if feeder.purchase_node_id:
        # A sub-feeder starts at its purchase node, which may be far from the substation.
        node = Pole.objects.get(pk=feeder.purchase_node_id)
        layers.append(
            MapLayer(
                name="Punto de compra",
                kind="point",
                color="#111111",
                shape="diamond",
                size=14,
                features=[MapFeature(node.location, f"Punto de compra: poste {node.plate}")],
            )
        )
    substation = Substation.objects.get(pk=feeder.substation_id)
    layers.append(_substation_layer(substation, fit=not feeder.purchase_node_id))
    return [layer for layer in layers if layer.features]


def transformer_layers(
    transformer: Transformer, radius_m: float = SURROUNDINGS_M
) -> list[MapLayer]:
    """The transformer and everything within `radius_m` metres; its feeder's line and its
    substation as context (drawn, but the map is framed on the surroundings)."""
    centre = transformer.location

    def near(model, field_name: str, line: bool = False):
        geography = (LineStringField if line else PointField)(geography=True, srid=4326)
        return (
            model.objects.filter(**{f"{field_name}__bboverlaps": _bbox_around(centre, radius_m)})
            .annotate(_geog=Cast(field_name, geography))
            .filter(_geog__dwithin=(centre, D(m=radius_m)))
            .order_by("pk")
        )

    feeder = Feeder.objects.select_related("substation").get(pk=transformer.feeder_id)
    line = _generalised_feeders("f.id = %s", [feeder.pk])
    layers = [
        MapLayer(
            name=f"Alimentador {feeder.code} (trazado general)",
            kind="line",
            color=CONTEXT_COLOR,
            weight=5,
            opacity=0.45,
            fit=False,
            features=[
                MapFeature(label=f"Alimentador {c} {n}", url=_url("feeder", pk), geojson=g)
                for pk, c, n, g in line
            ],
        ),
        MapLayer(
            name=f"Entorno de {_num(radius_m, 0)} m",
            kind="line",
            color="#555555",
            weight=1,
            dash="4 4",
            features=[MapFeature(_circle(centre, radius_m))],
        ),
        _span_layer(near(Span, "geom", line=True)),
        _pole_layer(near(Pole, "location")),
        *_equipment_layers(near(Equipment, "location")),
        _transformer_layer(near(Transformer, "location").exclude(pk=transformer.pk)),
        MapLayer(
            name=f"Transformador {transformer.code}",
            kind="point",
            color="#ff6f00",
            shape="triangle",
            size=18,
            features=[
                MapFeature(
                    transformer.location,
                    f"Transformador {transformer.code} · {_kva(transformer.capacity_kva)} · "
                    f"poste {transformer.pole.plate}",
                    _url("transformer", transformer.pk),
                )
            ],
        ),
        _substation_layer(feeder.substation, fit=False),
    ]
    return [layer for layer in layers if layer.features]


def _span_layer(spans) -> MapLayer:
    return MapLayer(
        name="Vanos",
        kind="line",
        color=SPAN_COLOR,
        weight=2,
        features=[
            MapFeature(label=f"Vano {code} · {_num(length)} m", geojson=geojson)
            for code, length, geojson in spans.annotate(
                geojson=AsGeoJSON("geom", precision=PRECISION)
            ).values_list("code", "length_m", "geojson")
        ],
    )


def _pole_layer(poles) -> MapLayer:
    return MapLayer(
        name="Postes",
        kind="point",
        color="#4a4a4a",
        size=3.5,
        min_zoom=15,  # below it a feeder's poles (~50 m apart) hide its spans
        features=[
            MapFeature(label=f"Poste {plate}", geojson=geojson)
            for plate, geojson in poles.annotate(
                geojson=AsGeoJSON("location", precision=PRECISION)
            ).values_list("plate", "geojson")
        ],
    )


def _transformer_layer(transformers) -> MapLayer:
    return MapLayer(
        name="Transformadores",
        kind="point",
        color="#ef8a00",
        shape="triangle",
        size=11,
        features=[
            MapFeature(geom, f"Transformador {code} · {_kva(kva)}", _url("transformer", pk))
            for pk, code, kva, geom in transformers.values_list(
                "pk", "code", "capacity_kva", "location"
            )
        ],
    )


def _equipment_layers(equipment) -> list[MapLayer]:
    by_category: dict[str, list[MapFeature]] = {}
    for code, kind, geom in equipment.values_list("code", "kind", "location"):
        kind = Equipment.Kind(kind)
        by_category.setdefault(Equipment.CATEGORY_OF[kind], []).append(
            MapFeature(geom, f"{kind.label} {code}")
        )
    layers = []
    for category in Equipment.Category:  # a fixed legend order
        if category in by_category:
            color, shape = EQUIPMENT_STYLE[category]
            layers.append(
                MapLayer(
                    name=category.label,
                    kind="point",
                    color=color,
                    shape=shape,
                    size=10,
                    features=by_category[category],
                )
            )
    return layers


def _substation_layer(substation: Substation, fit: bool = True) -> MapLayer:
    return MapLayer(
        name="Subestación",
        kind="point",
        color="#111111",
        shape="square",
        size=16,
        fit=fit,
        features=[
            MapFeature(
                substation.location,
                f"Subestación {substation.code} {substation.name}",
                _url("substation", substation.pk),
            )
        ],
    )


def _others_layer(others: list[tuple[int, str, str, str]]) -> MapLayer:
    return MapLayer(
        name="Otros alimentadores",
        kind="line",
        color=CONTEXT_COLOR,
        weight=2,
        dash="6 4",
        fit=False,
        features=[
            MapFeature(label=f"Alimentador {c} {n}", url=_url("feeder", pk), geojson=g)
            for pk, c, n, g in others
        ],
    )


def _generalised_feeders(where: str, params: list) -> list[tuple[int, str, str, str]]:
    """(pk, code, name, GeoJSON line) per feeder, from its stored outline (spans merged and
    simplified, network.services.outline)."""
    sql = f"""
        SELECT f.id, f.code, f.name, ST_AsGeoJSON(f.outline, {PRECISION})
          FROM network_feeder f
         WHERE f.outline IS NOT NULL AND {where}
         ORDER BY f.code
    """
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def _bbox_around(centre: Point, metres: float) -> Polygon:
    """A lon/lat box a little larger than `metres` around `centre`: the GiST index prefilter."""
    dlon, dlat = _degrees_per_metre(centre.y)
    margin = 1.01
    return Polygon.from_bbox(
        (
            centre.x - metres * dlon * margin,
            centre.y - metres * dlat * margin,
            centre.x + metres * dlon * margin,
            centre.y + metres * dlat * margin,
        )
    )


def _circle(centre: Point, metres: float) -> GEOSGeometry:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_Buffer(ST_GeogFromText(%s), %s, 'quad_segs=16')::geometry",
            [centre.ewkt, metres],
        )
        return GEOSGeometry(cur.fetchone()[0])


def _url(name: str, pk: int) -> str:
    try:
        return reverse(f"network:{name}", args=[pk])
    except NoReverseMatch:
        return ""


def _kva(value: Decimal) -> str:
    return f"{_num(value, 0 if value == int(value) else 1)} kVA"


def _num(value, decimals: int = 1) -> str:
    """A figure as Chileans write it (1.234,5), like the templates' `num` filter."""
    text = f"{Decimal(value):,.{decimals}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")


# --- projection -----------------------------------------------------------------------------

WGS84_A = 6378137.0
WGS84_E2 = 0.00669437999014


def _degrees_per_metre(lat: float) -> tuple[float, float]:
    """Degrees of longitude and latitude per metre at `lat` (WGS84 radii of curvature)."""
    phi = math.radians(lat)
    w = 1 - WGS84_E2 * math.sin(phi) ** 2
    meridional = WGS84_A * (1 - WGS84_E2) / w**1.5
    prime_vertical = WGS84_A / math.sqrt(w)
    return (
        math.degrees(1 / (prime_vertical * math.cos(phi))),
        math.degrees(1 / meridional),
    )


# --- GeoJSON --------------------------------------------------------------------------------


def _round(coords, digits: int = PRECISION):
    if isinstance(coords[0], (int, float)):
        return [round(coords[0], digits), round(coords[1], digits)]
    return [_round(c, digits) for c in coords]


def _geojson_geometry(geom: GEOSGeometry) -> dict:
    kind = geom.geom_type
    if kind == "GeometryCollection":
        return {"type": kind, "geometries": [_geojson_geometry(g) for g in geom]}
    if kind == "Polygon":
        return {"type": kind, "coordinates": [_round(ring.coords) for ring in geom]}
    if kind == "MultiPolygon":
        return {"type": kind, "coordinates": [[_round(r.coords) for r in p] for p in geom]}
    if kind in ("MultiPoint", "MultiLineString"):
        return {"type": kind, "coordinates": [_round(g.coords) for g in geom]}
    return {"type": kind, "coordinates": _round(geom.coords)}


def _feature_collection(features: Iterable[MapFeature]) -> str:
    """A GeoJSON FeatureCollection as JSON text; geometries from SQL are spliced in as they
    came, without a parse and a dump per feature."""
    out = []
    for f in features:
        if f.geojson is not None:
            geometry = f.geojson
        elif f.geometry is None or f.geometry.empty:
            continue
        else:
            geometry = json.dumps(_geojson_geometry(f.geometry), separators=(",", ":"))
        properties = {"label": f.label} if f.label else {}
        if f.url:
            properties["url"] = f.url
        props = json.dumps(properties, separators=(",", ":"), ensure_ascii=False)
        out.append(f'{{"type":"Feature","geometry":{geometry},"properties":{props}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(out) + "]}"


# --- interactive map ------------------------------------------------------------------------


def _ordered(layers: Sequence[MapLayer]) -> list[MapLayer]:
    """Lines under points; otherwise the caller's order."""
    return [layer for layer in layers if layer.kind != "point"] + [
        layer for layer in layers if layer.kind == "point"
    ]


def render_interactive(layers: list[MapLayer], height: int = 420) -> SafeString:
    """A Leaflet map fragment: map div, legend, data block and the local scripts.

    Every asset comes from our static files; the only external URL is the optional base layer.
    Several fragments may share a page: ids are unique and map.js initialises each once.
    """
    map_id = f"map-{uuid.uuid4().hex[:12]}"
    data = {
        "base": (
            {"url": settings.MAP_BASE_LAYER_URL, "attribution": settings.MAP_BASE_LAYER_ATTRIBUTION}
            if settings.MAP_BASE_LAYER_URL
            else None
        ),
        "layers": [
            {
                "name": layer.name,
                "kind": layer.kind,
                "color": layer.color,
                "shape": layer.shape,
                "size": layer.size,
                "weight": layer.weight,
                "dash": layer.dash,
                "opacity": layer.opacity,
                "fit": layer.fit,
                "visible": layer.visible,
                "minZoom": layer.min_zoom,
                "symbol": _legend_symbol(layer),
                "icon": _marker_icon(layer) if layer.kind == "point" else "",
                "data": f"@@collection-{index}@@",
            }
            for index, layer in enumerate(_ordered(layers))
        ],
    }
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for index, layer in enumerate(_ordered(layers)):
        payload = payload.replace(
            f'"@@collection-{index}@@"', _feature_collection(layer.features), 1
        )
    # Inside <script>: no character may close the element or start markup.
    payload = payload.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
    legend = "".join(
        f"<li>{_legend_symbol(layer)}<span>{escape(layer.name)}</span></li>" for layer in layers
    )
    html = (
        f'<div class="map-block" id="{map_id}-block">'
        f'<link rel="stylesheet" href="{static("vendor/leaflet/leaflet.css")}">'
        f"<style>"
        f"@media screen and (min-width: 601px) {{ #{map_id} {{ height: {int(height)}px; }} }}"
        f"#{map_id} {{ background: #f7f7f4; }}"
        f"#{map_id}-block .map-legend {{ display: flex; flex-wrap: wrap; gap: 4px 16px;"
        f" list-style: none; margin: 6px 0 0; padding: 0; font-size: .85rem; }}"
        f"#{map_id}-block .map-legend li {{ display: flex; align-items: center; gap: 6px; }}"
        f"#{map_id}-block .map-legend svg {{ flex: none; }}"
        # The portal's form styles must not reach Leaflet's layer control.
        f"#{map_id} .leaflet-control-layers label {{ display: block; font-weight: normal;"
        f" font-size: .8rem; margin: 0; }}"
        f"#{map_id} .leaflet-control-layers input {{ width: auto; padding: 0; margin: 0 4px 0 0;"
        f" vertical-align: middle; }}"
        f"#{map_id} .leaflet-control-layers svg {{ vertical-align: middle; }}"
        f"@media print {{ #{map_id} .leaflet-control-layers {{ display: none; }} }}"
        f"</style>"
        f'<div class="map" id="{map_id}" data-map="{map_id}-data" role="region"'
        f' aria-label="Mapa"></div>'
        f'<ul class="map-legend" aria-label="Leyenda del mapa">{legend}</ul>'
        f'<script type="application/json" id="{map_id}-data">{payload}</script>'
        f'<script src="{static("vendor/leaflet/leaflet.js")}" defer></script>'
        f'<script src="{static("js/map.js")}" defer></script>'
        f"</div>"
    )
    return mark_safe(html)


# --- static map (PDF) -----------------------------------------------------------------------

FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
SVG_NS = "http://www.w3.org/2000/svg"


def _symbol(shape: str, cx: float, cy: float, size: float, color: str, stroke: str) -> str:
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


def _point_stroke(layer: MapLayer) -> str:
    return "none" if layer.size <= 5 else "#ffffff" if layer.shape != "circle" else "#222222"


def _line_attrs(layer: MapLayer, weight: float | None = None) -> str:
    attrs = (
        f'fill="none" stroke="{layer.color}" stroke-width="{weight or layer.weight:g}"'
        f' stroke-linecap="round" stroke-linejoin="round"'
    )
    if layer.dash:
        attrs += f' stroke-dasharray="{layer.dash}"'
    if layer.opacity < 1:
        attrs += f' stroke-opacity="{layer.opacity:g}"'
    return attrs


def _legend_symbol(layer: MapLayer, width: int = 26, height: int = 16) -> str:
    """A small standalone SVG of the layer's symbol (legend and layer control)."""
    if layer.kind == "point":
        size = min(max(layer.size, 6), height - 2)
        body = _symbol(layer.shape, width / 2, height / 2, size, layer.color, _point_stroke(layer))
    else:
        body = (
            f'<path d="M2 {height / 2:g}H{width - 2}" {_line_attrs(layer, min(layer.weight, 5))}/>'
        )
    return (
        f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' aria-hidden="true">{body}</svg>'
    )


def _marker_icon(layer: MapLayer) -> str:
    """The layer's point symbol for a Leaflet divIcon (circles are drawn on the canvas)."""
    if layer.shape == "circle":
        return ""
    w = layer.size + 2
    body = _symbol(layer.shape, w / 2, w / 2, layer.size, layer.color, _point_stroke(layer))
    return f'<svg width="{w:g}" height="{w:g}" viewBox="0 0 {w:g} {w:g}">{body}</svg>'


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


def _fit(layers: Sequence[MapLayer], x: float, y: float, w: float, h: float) -> _Frame:
    extents = [
        f.geometry.extent
        for layer in layers
        if layer.fit
        for f in layer.features
        if f.geometry is not None and not f.geometry.empty
    ]
    if not extents:  # nothing to frame on: frame on the context instead
        extents = [f.geometry.extent for layer in layers for f in layer.features] or [
            (-70.65, -33.45, -70.65, -33.45)
        ]
    xmin = min(e[0] for e in extents)
    ymin = min(e[1] for e in extents)
    xmax = max(e[2] for e in extents)
    ymax = max(e[3] for e in extents)
    lon0, lat0 = (xmin + xmax) / 2, (ymin + ymax) / 2
    dlon, dlat = _degrees_per_metre(lat0)
    width_m = max((xmax - xmin) / dlon, 200.0)
    height_m = max((ymax - ymin) / dlat, 200.0)
    margin = 0.92  # keep symbols clear of the frame
    px_per_m = min(w * margin / width_m, h * margin / height_m)
    return _Frame(lon0, lat0, 1 / dlon, 1 / dlat, px_per_m, x + w / 2, y + h / 2)


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


def render_static_svg(
    layers: list[MapLayer], width: int = 900, height: int = 520, title: str = ""
) -> SafeString:
    """An inline SVG map for WeasyPrint: features, legend, scale bar, north arrow, frame."""
    uid = uuid.uuid4().hex[:10]
    pad = 8
    panel_w = 240
    top = pad + (28 if title else 0)
    map_x, map_y = pad, top
    map_w = width - 2 * pad - panel_w - 10
    map_h = height - top - pad
    frame = _fit(layers, map_x, map_y, map_w, map_h)
    ordered = _ordered(layers)

    parts = [
        f'<svg xmlns="{SVG_NS}" width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
        f' font-family="{FONT}" role="img" aria-label="{escape(title or "Mapa")}">',
        f'<defs><clipPath id="clip-{uid}"><rect x="{map_x}" y="{map_y}" width="{map_w}"'
        f' height="{map_h}"/></clipPath></defs>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<rect x="{map_x}" y="{map_y}" width="{map_w}" height="{map_h}" fill="#f7f7f4"/>',
    ]
    if title:
        parts.append(
            f'<text x="{pad}" y="{pad + 17}" font-size="16" font-weight="bold" fill="#222">'
            f"{escape(title)}</text>"
        )
    parts.append(f'<g clip-path="url(#clip-{uid})">')
    shown: set[int] = set()
    for index, layer in enumerate(ordered):
        parts.append(f'<g class="layer" data-layer="{escape(layer.name)}">')
        if layer.kind == "point":
            for feature in layer.features:
                for lon, lat in _point_coords(feature.geometry):
                    px, py = frame.xy(lon, lat)
                    if map_x <= px <= map_x + map_w and map_y <= py <= map_y + map_h:
                        shown.add(index)
                    parts.append(
                        _symbol(layer.shape, px, py, layer.size, layer.color, _point_stroke(layer))
                    )
        else:
            d = "".join(_path_data(f.geometry, frame) for f in layer.features)
            if d:
                parts.append(f'<path d="{d}" {_line_attrs(layer)}/>')
                if any(
                    _inside(f.geometry, frame, map_x, map_y, map_w, map_h) for f in layer.features
                ):
                    shown.add(index)
        parts.append("</g>")
    parts.append("</g>")

    parts.append(_north_arrow(map_x + map_w - 24, map_y + 14))
    parts.append(_scale_bar(frame.px_per_m, map_x + 12, map_y + map_h - 14, map_w))
    parts.append(
        f'<rect x="{map_x}" y="{map_y}" width="{map_w}" height="{map_h}" fill="none"'
        f' stroke="#333333" stroke-width="0.8"/>'
    )

    # Legend: every layer, in the caller's order.
    lx = map_x + map_w + 10
    ly = map_y
    parts.append(
        f'<g class="legend"><rect x="{lx}" y="{ly}" width="{panel_w}" height="{map_h}"'
        f' fill="#ffffff" stroke="#333333" stroke-width="0.8"/>'
        f'<text x="{lx + 10}" y="{ly + 20}" font-size="14" font-weight="bold" fill="#222">'
        f"Leyenda</text>"
    )
    y = ly + 40
    for layer in layers:
        name = layer.name
        if ordered.index(layer) not in shown:
            name += " (fuera del encuadre)"
        lines = _wrap(name, 25)
        sym_y = y - 4
        if layer.kind == "point":
            size = min(max(layer.size, 6), 14)
            parts.append(
                _symbol(layer.shape, lx + 22, sym_y, size, layer.color, _point_stroke(layer))
            )
        else:
            attrs = _line_attrs(layer, min(layer.weight, 5))
            parts.append(f'<path d="M{lx + 10} {sym_y}H{lx + 34}" {attrs}/>')
        for k, text in enumerate(lines):
            parts.append(
                f'<text x="{lx + 44}" y="{y + k * 16}" font-size="13" fill="#222">'
                f"{escape(text)}</text>"
            )
        y += 16 * len(lines) + 8
    parts.append("</g></svg>")
    return mark_safe("".join(parts))


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
