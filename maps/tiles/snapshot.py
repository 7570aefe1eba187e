"""GUARDAR of the map page: the view of a permalink as static-map layers (maps.drawing).

The same zoom rules as the tiles (services.LAYERS), read as GeoJSON from SQL for the lon/lat
box of the view, each layer capped so that a PDF of a dense view stays a PDF.
"""

from __future__ import annotations

import math

from django.contrib.gis.geos import GEOSGeometry, Point
from django.db import connection

from maps.drawing import MapFeature, MapLayer
from maps.drawing.layers import equipment_layers
from maps.tiles import services
from network import layers as registry

PER_LAYER = 3000  # features per layer in a PDF
VIEW_PX = (900, 520)  # the frame of the static map, in screen pixels at the view's zoom


def view_bbox(lon: float, lat: float, z: int) -> tuple[float, float, float, float]:
    """The lon/lat box a VIEW_PX map centred on (lon, lat) at zoom `z` shows."""
    cx, cy = services.lonlat_to_tile(lon, lat, z)
    half_w, half_h = VIEW_PX[0] / 256 / 2, VIEW_PX[1] / 256 / 2
    n = 2**z

    def lon_of(tx: float) -> float:
        return tx / n * 360.0 - 180.0

    def lat_of(ty: float) -> float:
        ty = min(max(ty, 0.0), float(n))
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * ty / n))))

    return lon_of(cx - half_w), lat_of(cy + half_h), lon_of(cx + half_w), lat_of(cy - half_h)


def _rows(sql: str, bbox: tuple[float, float, float, float]) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, {"w": bbox[0], "s": bbox[1], "e": bbox[2], "n": bbox[3], "cap": PER_LAYER})
        return cur.fetchall()


ENVELOPE = "ST_MakeEnvelope(%(w)s, %(s)s, %(e)s, %(n)s, 4326)"


def view_layers(
    bbox: tuple[float, float, float, float], z: int, selected: dict | None = None
) -> list[MapLayer]:
    """What the map shows at zoom `z` inside `bbox`, plus the selected asset and the frame."""
    shown = {layer.name for layer in services.layers_at(services.COMPOSITE, z)}
    frame = GEOSGeometry(
        "POLYGON(({0} {1},{2} {1},{2} {3},{0} {3},{0} {1}))".format(*bbox), srid=4326
    )
    layers = [
        MapLayer(
            name="Vista del mapa",
            kind="line",
            color="#777777",
            weight=0.8,
            dash="2 3",
            features=[MapFeature(frame)],
        )
    ]
    if registry.FEEDERS.code in shown:
        tolerance = 360.0 / 2**z / 512
        rows = _rows(
            f"""SELECT f.code, f.name, ST_AsGeoJSON(ST_Simplify(f.outline, {tolerance!r}), 6)
                  FROM network_feeder f WHERE f.outline && {ENVELOPE}
                 ORDER BY f.code LIMIT %(cap)s""",
            bbox,
        )
        layers.append(
            MapLayer(
                name=registry.FEEDERS.legend,
                kind="line",
                color=registry.FEEDERS.color,
                weight=1.6,
                fit=False,
                features=[MapFeature(label=f"{c} {n}", geojson=g) for c, n, g in rows],
            )
        )
    if registry.SPANS.code in shown:
        rows = _rows(
            f"""SELECT v.code, ST_AsGeoJSON(v.geom, 6) FROM network_span v
                 WHERE v.geom && {ENVELOPE} ORDER BY v.id LIMIT %(cap)s""",
            bbox,
        )
        layers.append(
            MapLayer(
                name=registry.SPANS.legend,
                kind="line",
                color=registry.SPANS.color,
                weight=1.4,
                fit=False,
                features=[MapFeature(label=c, geojson=g) for c, g in rows],
            )
        )
    # Symbols a little smaller than on the detail maps: a view holds many more of them.
    for layer, table, size in (
        (registry.POLES, "network_pole", 3),
        (registry.TRANSFORMERS, "network_transformer", 9),
    ):
        if layer.code in shown:
            rows = _rows(
                f"""SELECT ST_AsGeoJSON(t.location, 6) FROM {table} t
                     WHERE t.location && {ENVELOPE} ORDER BY t.id LIMIT %(cap)s""",
                bbox,
            )
            layers.append(
                MapLayer(
                    name=layer.legend,
                    kind="point",
                    color=layer.color,
                    shape=layer.shape,
                    size=size,
                    fit=False,
                    features=[MapFeature(geojson=g) for (g,) in rows],
                )
            )
    if registry.EQUIPMENT.code in shown:
        rows = _rows(
            f"""SELECT e.kind, ST_AsGeoJSON(e.location, 6) FROM network_equipment e
                 WHERE e.location && {ENVELOPE} ORDER BY e.id LIMIT %(cap)s""",
            bbox,
        )
        # A view holds many more devices than a detail map: smaller symbols.
        layers += equipment_layers(
            ((kind, MapFeature(geojson=geojson)) for kind, geojson in rows), size=8, fit=False
        )
    rows = _rows(
        f"""SELECT ST_AsGeoJSON(s.location, 6) FROM network_substation s
             WHERE s.location && {ENVELOPE} ORDER BY s.id LIMIT %(cap)s""",
        bbox,
    )
    layers.append(
        MapLayer(
            name=registry.SUBSTATIONS.name,
            kind="point",
            color=registry.SUBSTATIONS.color,
            shape=registry.SUBSTATIONS.shape,
            size=12,
            fit=False,
            features=[MapFeature(geojson=g) for (g,) in rows],
        )
    )
    if selected:
        layers.append(
            MapLayer(
                name=f"Seleccionado: {selected['label']}",
                kind="point",
                color=registry.SELECTED_COLOR,
                shape="diamond",
                size=16,
                fit=False,
                features=[MapFeature(Point(selected["lon"], selected["lat"], srid=4326))],
            )
        )
    return [layer for layer in layers if layer.features]
