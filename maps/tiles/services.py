"""Vector tiles of the network: one Mapbox Vector Tile layer per kind of asset, from PostGIS.

A tile is one SQL statement: rows picked through the GiST index (`geom && envelope`, the
envelope taken to SRID 4326 once, as a constant), projected and clipped by ST_AsMVTGeom,
encoded by ST_AsMVT. The composite layer `red` concatenates the layers shown at the tile's
zoom (an MVT is a sequence of layers, so encoded layers concatenate), so the map fetches one
tile per grid cell instead of six.

What shows at which zoom keeps every tile small at national scale (3,112 feeders, 2.1 M poles
and spans, 126 k transformers):

    layer          zooms   geometry and detail
    substations    0-22    location
    feeders        6-13    Feeder.outline (spans merged, simplified to 10 m); below z12
                           simplified again to half a pixel, branches under two pixels left out
    transformers   13-22   location
    equipment      13-22   location
    spans          14-22   geom
    poles          15-22   location (below z15 a feeder's poles, ~50 m apart, hide its spans)

Below z6 the country is drawn by its substations only (a z5 tile is a third of Chile: its
feeders are specks). Feeders stop at z13 because from z14 their spans draw the same lines in
full detail, each span carrying its feeder.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from django.db import connection, transaction

from network import layers as registry
from network.models import Equipment

MAX_ZOOM = registry.MAX_ZOOM
EXTENT = 4096  # tile units per side, the MVT default
BUFFER = 256  # units drawn beyond each edge: point symbols and line caps are not cut off
MARGIN = BUFFER / EXTENT  # the same buffer as a fraction of the tile, for the row filter
MAX_LATITUDE = 85.0511287798066

# ST_AsMVTGeom's high declared cost makes the planner pick parallel plans for dense tiles, whose
# worker start-up costs more than the work (a dense z14 tile: 28 ms in parallel, 9 ms without).
# The cache's INSERT ... SELECT never runs in parallel; a plain render is told not to.
SERIAL = "SET LOCAL max_parallel_workers_per_gather = 0"

ENVELOPE = "ST_TileEnvelope(%(z)s, %(x)s, %(y)s)"
# Rows whose bounding box touches the tile or its buffer, through the GiST index of the column.
ENVELOPE_4326 = "ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326)"


def _category_sql() -> str:
    whens = " ".join(
        f"WHEN '{kind.value}' THEN '{category.value}'"
        for kind, category in Equipment.CATEGORY_OF.items()
    )
    return f"CASE e.kind {whens} END"


@dataclass(frozen=True)
class TileLayer:
    name: str  # in the URL and in the tile
    label: str  # legend and layer switcher
    min_zoom: int
    max_zoom: int
    select: str  # the rows: properties plus `{geom}` as the tile geometry, filtered by `{bbox}`
    column: str  # the geometry column, in SRID 4326
    alias: str

    def shown_at(self, z: int) -> bool:
        return self.min_zoom <= z <= self.max_zoom


# Drawing order: lines under points, the substations on top.
LAYERS: dict[str, TileLayer] = {
    layer.name: layer
    for layer in (
        TileLayer(
            registry.FEEDERS.code,
            registry.FEEDERS.name,
            registry.FEEDERS.min_zoom,
            registry.FEEDERS.max_zoom,
            """SELECT f.id, f.code, f.name, f.kind, f.nominal_voltage_kv::float8 AS kv,
                      s.name AS substation, {geom} AS geom
                 FROM network_feeder f JOIN network_substation s ON s.id = f.substation_id
                WHERE {bbox}""",
            "outline",
            "f",
        ),
        TileLayer(
            registry.SPANS.code,
            registry.SPANS.name,
            registry.SPANS.min_zoom,
            registry.SPANS.max_zoom,
            """SELECT v.id, v.code, v.feeder_id AS feeder, f.code AS feeder_code,
                      v.length_m::float8 AS length_m, v.conductor_material AS conductor,
                      v.phases, v.capacity_a, {geom} AS geom
                 FROM network_span v JOIN network_feeder f ON f.id = v.feeder_id
                WHERE {bbox}""",
            "geom",
            "v",
        ),
        TileLayer(
            registry.POLES.code,
            registry.POLES.name,
            registry.POLES.min_zoom,
            registry.POLES.max_zoom,
            """SELECT p.id, p.plate, p.feeder_id AS feeder, f.code AS feeder_code,
                      p.material, p.mt_voltage_kv::float8 AS kv, p.height_m::float8 AS height_m,
                      {geom} AS geom
                 FROM network_pole p JOIN network_feeder f ON f.id = p.feeder_id
                WHERE {bbox}""",
            "location",
            "p",
        ),
        TileLayer(
            registry.TRANSFORMERS.code,
            registry.TRANSFORMERS.name,
            registry.TRANSFORMERS.min_zoom,
            registry.TRANSFORMERS.max_zoom,
            """SELECT t.id, t.code, t.plate, t.name, t.capacity_kva::float8 AS kva, t.phases,
                      t.feeder_id AS feeder, f.code AS feeder_code, {geom} AS geom
                 FROM network_transformer t JOIN network_feeder f ON f.id = t.feeder_id
                WHERE {bbox}""",
            "location",
            "t",
        ),
        TileLayer(
            registry.EQUIPMENT.code,
            registry.EQUIPMENT.name,
            registry.EQUIPMENT.min_zoom,
            registry.EQUIPMENT.max_zoom,
            f"""SELECT e.id, e.code, e.kind, {_category_sql()} AS category,
                      e.feeder_id AS feeder, f.code AS feeder_code, {{geom}} AS geom
                 FROM network_equipment e JOIN network_feeder f ON f.id = e.feeder_id
                WHERE {{bbox}}""",
            "location",
            "e",
        ),
        TileLayer(
            registry.SUBSTATIONS.code,
            registry.SUBSTATIONS.name,
            registry.SUBSTATIONS.min_zoom,
            registry.SUBSTATIONS.max_zoom,
            """SELECT s.id, s.code, s.name, s.high_voltage_kv::float8 AS kv, {geom} AS geom
                 FROM network_substation s
                WHERE {bbox}""",
            "location",
            "s",
        ),
    )
}
COMPOSITE = registry.COMPOSITE
LAYER_NAMES = (*LAYERS, COMPOSITE)


def feeder_detail(z: int) -> tuple[int, float | None, float | None]:
    """(extent, simplification tolerance, shortest branch kept) of feeder outlines at zoom `z`,
    the last two in degrees (of longitude: at Chile's latitudes a degree north-south is a
    little longer on screen, so a little more is dropped that way).

    The outline is already simplified to 10 m, finer than a pixel from z12 on. Below, it is
    simplified to half a pixel, encoded on a grid of half pixels, and its branches shorter
    than two pixels are left out: an outline is a tree of ~36 branches, and every branch, however
    short, would otherwise keep a segment (a z8 tile over Santiago: 190 kB with them, 90 kB
    without).
    """
    if z >= 12:
        return EXTENT, None, None
    extent = 512
    pixel = 360.0 / 2**z / 256
    return extent, pixel / 2, pixel * 2


def valid_address(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z


def layers_at(name: str, z: int) -> list[TileLayer]:
    """The layers a tile of `name` holds at zoom `z` (none outside the layer's zooms)."""
    chosen = LAYERS.values() if name == COMPOSITE else [LAYERS[name]]
    return [layer for layer in chosen if layer.shown_at(z)]


def _layer_sql(layer: TileLayer, z: int) -> str:
    extent, tolerance, shortest = (
        feeder_detail(z) if layer.name == "feeders" else (EXTENT, None, None)
    )
    column = f"{layer.alias}.{layer.column}"
    source = column
    if tolerance:
        source = (
            f"(SELECT ST_Collect(part.geom) FROM ST_Dump(ST_Simplify({column}, {tolerance!r}))"
            f" part WHERE ST_Length(part.geom) > {shortest!r})"
        )
    buffer = BUFFER * extent // EXTENT
    geom = f"ST_AsMVTGeom(ST_Transform({source}, 3857), {ENVELOPE}, {extent}, {buffer}, true)"
    rows = layer.select.format(geom=geom, bbox=f"{column} && {ENVELOPE_4326}")
    # No `WHERE geom IS NOT NULL`: ST_AsMVT skips rows without geometry, and the filter would
    # be pushed into the scan and compute ST_AsMVTGeom twice per row.
    return (
        f"(SELECT COALESCE(ST_AsMVT(t, '{layer.name}', {extent}, 'geom'), ''::bytea)"
        f" FROM ({rows}) t)"
    )


def tile_sql(name: str, z: int, x: int, y: int) -> tuple[str, dict]:
    """The SELECT that returns the tile as one bytea column (`data`), and its parameters."""
    parts = [_layer_sql(layer, z) for layer in layers_at(name, z)]
    expression = " || ".join(parts) if parts else "''::bytea"
    return f"SELECT {expression} AS data", {"z": z, "x": x, "y": y, "margin": MARGIN}


def render(name: str, z: int, x: int, y: int) -> bytes:
    """The tile, straight from the database (no cache); b"" when it holds nothing."""
    if not layers_at(name, z):
        return b""
    sql, params = tile_sql(name, z, x, y)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(SERIAL)
        cur.execute(sql, params)
        return bytes(cur.fetchone()[0])


# --- tile arithmetic (Web Mercator, as ST_TileEnvelope) ------------------------------------


def lonlat_to_tile(lon: float, lat: float, z: int) -> tuple[float, float]:
    """Fractional tile coordinates of a point at zoom `z` (x east, y south, XYZ scheme)."""
    lat = max(-MAX_LATITUDE, min(MAX_LATITUDE, lat))
    n = 2**z
    tx = (lon + 180.0) / 360.0 * n
    phi = math.radians(lat)
    ty = (1.0 - math.log(math.tan(phi) + 1.0 / math.cos(phi)) / math.pi) / 2.0 * n
    return tx, ty


def tile_range(
    bbox: tuple[float, float, float, float], z: int, margin: float = MARGIN
) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1), inclusive: the tiles at zoom `z` whose envelope, grown by `margin`
    of a tile on each side (the buffer the tile is rendered with), touches the lon/lat box."""
    west, south, east, north = bbox
    if west > east or south > north:
        return None
    left, top = lonlat_to_tile(west, north, z)
    right, bottom = lonlat_to_tile(east, south, z)
    last = 2**z - 1
    x0, x1 = max(0, math.floor(left - margin)), min(last, math.floor(right + margin))
    y0, y1 = max(0, math.floor(top - margin)), min(last, math.floor(bottom + margin))
    if x0 > x1 or y0 > y1:
        return None
    return x0, y0, x1, y1


def tile_bounds(z: int, x: int, y: int) -> tuple[float, float, float, float]:
    """The tile's lon/lat box (west, south, east, north)."""
    n = 2**z

    def lat(row: float) -> float:
        return math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * row / n))))

    return x / n * 360.0 - 180.0, lat(y + 1), (x + 1) / n * 360.0 - 180.0, lat(y)
