"""The interactive map of the detail pages: layers as an HTML fragment for our own Leaflet
init (`static/js/map.js`), fed by one GeoJSON FeatureCollection per layer in a
`<script type="application/json">` block."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable

from django.conf import settings
from django.contrib.gis.geos import GEOSGeometry
from django.templatetags.static import static
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from maps.drawing.features import PRECISION, MapFeature, MapLayer, ordered
from maps.drawing.style import legend_symbol, marker_icon


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


def render_interactive(layers: list[MapLayer]) -> SafeString:
    """A Leaflet map fragment: map div, legend, data block and the local scripts.

    Every asset comes from our static files; the only external URL is the optional base layer.
    Several fragments may share a page: ids are unique and map.js initialises each once. Its
    styles are static/css/maps.css (no inline <style>: the Content-Security-Policy has none).
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
                "symbol": legend_symbol(layer),
                "icon": marker_icon(layer) if layer.kind == "point" else "",
                "data": f"@@collection-{index}@@",
            }
            for index, layer in enumerate(ordered(layers))
        ],
    }
    payload = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    for index, layer in enumerate(ordered(layers)):
        payload = payload.replace(
            f'"@@collection-{index}@@"', _feature_collection(layer.features), 1
        )
    # Inside <script>: no character may close the element or start markup.
    payload = payload.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")
    legend = "".join(
        f"<li>{legend_symbol(layer)}<span>{escape(layer.name)}</span></li>" for layer in layers
    )
    html = (
        f'<div class="map-block" id="{map_id}-block">'
        f'<link rel="stylesheet" href="{static("vendor/leaflet/leaflet.css")}">'
        f'<link rel="stylesheet" href="{static("css/maps.css")}">'
        f'<div class="map" id="{map_id}" data-map="{map_id}-data" role="region"'
        f' aria-label="Mapa"></div>'
        f'<ul class="map-legend" aria-label="Leyenda del mapa">{legend}</ul>'
        f'<script type="application/json" id="{map_id}-data">{payload}</script>'
        f'<script src="{static("vendor/leaflet/leaflet.js")}" defer></script>'
        f'<script src="{static("js/map.js")}" defer></script>'
        f"</div>"
    )
    return mark_safe(html)
