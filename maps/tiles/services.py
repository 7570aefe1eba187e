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

The map page's own layers (network.layers.OVERLAYS) are not in `red` (the admin's map widget
and the detail maps draw `red`); the page fetches two more tiles per cell, `boundaries` (under
the network) and the composite `capas` (over it):

    boundaries     3-22    región boundaries (comunas from z8) as lines, clipped to the tile
                           first and simplified to half a pixel
    capacity       14-22   pole location, its available-capacity class (capacity.services.query
                           CLASSES) and the popup's figures; grey `sin_datos` without a result
    places         5-22    names at a point inside each boundary: regiones to z10, comunas
                           from z11
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction

from capacity.models import FeederCapacity, PoleCapacity, Run
from capacity.services.query import CLASSES
from geo.models import Comuna, Region
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
    # Instead of `select`: the whole layer expression at a zoom, for layers whose rows depend
    # on it (the boundaries: which levels, how simplified).
    build: Callable[[int], str] | None = None

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
                      s.name AS substation, {as_of}, {geom} AS geom
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
                      v.phases, v.capacity_a, {as_of}, {geom} AS geom
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
                      {as_of}, {geom} AS geom
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
                      t.feeder_id AS feeder, f.code AS feeder_code, {as_of}, {geom} AS geom
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
                      e.feeder_id AS feeder, f.code AS feeder_code, {{as_of}}, {{geom}} AS geom
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
            """SELECT s.id, s.code, s.name, s.high_voltage_kv::float8 AS kv, {as_of},
                      {geom} AS geom
                 FROM network_substation s
                WHERE {bbox}""",
            "location",
            "s",
        ),
    )
}
NETWORK = tuple(LAYERS)
COMPOSITE = registry.COMPOSITE


def _local_date(column: str) -> str:
    """dd/mm/aaaa of a timestamp in the portal's time zone (a literal: tile statements are
    prepared once per layer and zoom)."""
    zone = settings.TIME_ZONE
    if not re.fullmatch(r"[A-Za-z0-9_/+-]{1,64}", zone):
        raise ValueError(f"unexpected TIME_ZONE {zone!r}")
    return f"to_char(timezone('{zone}', {column}), 'DD/MM/YYYY')"


def capacity_class_sql(column: str) -> str:
    """The class code (capacity.services.query.CLASSES) of an available capacity in MW, or
    registry.CAPACITY_NO_DATA for none."""
    whens = " ".join(
        f"WHEN {column} < {high!r} THEN '{code}'"
        for code, _label, _low, high in CLASSES
        if high is not None
    )
    top = next(code for code, _label, _low, high in CLASSES if high is None)
    return f"CASE WHEN {column} IS NULL THEN '{registry.CAPACITY_NO_DATA}' {whens} ELSE '{top}' END"


def _mw(column: str, digits: int = 3) -> str:
    # Rounded and single precision: the values repeat more, and the tile stores each once.
    return f"round({column}::numeric, {digits})::float4"


def _capacity_select() -> str:
    fc, pc, run = (m._meta.db_table for m in (FeederCapacity, PoleCapacity, Run))
    ok, missing = FeederCapacity.Status.OK.value, FeederCapacity.Status.MISSING.value
    return f"""SELECT p.id, p.plate, p.feeder_id AS feeder, f.code AS feeder_code, {{as_of}},
                      {capacity_class_sql("c.remaining_mw")} AS class,
                      CASE WHEN c.pole_id IS NOT NULL THEN NULL
                           WHEN fc.status = '{missing}' THEN '{missing}'
                           ELSE 'sin_calculo' END AS no_data,
                      {_mw("c.remaining_mw")} AS remaining_mw, {_mw("c.hosting_mw")} AS hosting_mw,
                      {_mw("c.downstream_mw")} AS downstream_mw, c.criterion,
                      c.limit_kind, c.limit_code, {_mw("c.limit_value", 2)} AS limit_value,
                      {_mw("c.scc_mva", 1)} AS scc_mva, {_mw("c.ik3_max_ka", 2)} AS ik3_max_ka,
                      {_mw("c.ik3_min_ka", 2)} AS ik3_min_ka,
                      {_mw("c.ik1_min_ka", 2)} AS ik1_min_ka,
                      c.run_id AS run, {_local_date("r.started_at")} AS run_date,
                      CASE WHEN fc.stale AND c.pole_id IS NOT NULL THEN true END AS stale,
                      {{geom}} AS geom
                 FROM network_pole p JOIN network_feeder f ON f.id = p.feeder_id
                 LEFT JOIN {fc} fc ON fc.feeder_id = p.feeder_id
                 LEFT JOIN {pc} c ON c.pole_id = p.id AND fc.status = '{ok}'
                 LEFT JOIN {run} r ON r.id = c.run_id
                WHERE {{bbox}}"""


def _half_pixel(z: int) -> float:
    """Half a pixel of a 256-pixel tile at zoom `z`, in degrees of longitude."""
    return 360.0 / 2**z / 256 / 2


LABEL_BUFFER = EXTENT // 2  # a name drawn across a tile edge is drawn by both tiles


def _boundaries(z: int) -> str:
    """Región lines at every zoom, comuna lines from registry.COMUNA_LINE_ZOOM: each boundary
    clipped to the tile (before anything else: a región weighs megabytes) and simplified to
    half a pixel."""
    levels = [("region", Region._meta.db_table)]
    if z >= registry.COMUNA_LINE_ZOOM:
        levels.append(("comuna", Comuna._meta.db_table))
    rows = " UNION ALL ".join(
        f"SELECT '{level}' AS level, b.code, b.name, b.boundary FROM {table} b"
        f" WHERE b.boundary && {ENVELOPE_4326}"
        for level, table in levels
    )
    line = (
        f"ST_Simplify(ST_ClipByBox2D(ST_Boundary(s.boundary), {ENVELOPE_4326}::box2d),"
        f" {_half_pixel(z)!r})"
    )
    geom = f"ST_AsMVTGeom(ST_Transform({line}, 3857), {ENVELOPE}, {EXTENT}, {BUFFER}, true)"
    return (
        f"(SELECT COALESCE(ST_AsMVT(t, '{registry.BOUNDARIES.code}', {EXTENT}, 'geom'), ''::bytea)"
        f" FROM (SELECT s.level, s.code, s.name, {geom} AS geom FROM ({rows}) s) t)"
    )


def _places(z: int) -> str:
    """The names: of the regiones up to registry.REGION_LABEL_MAX_ZOOM, of the comunas from
    registry.COMUNA_LABEL_ZOOM, each at a point inside its boundary. The rows reach half a
    tile beyond the edges, so that a name that crosses an edge is drawn whole."""
    envelope = "ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => 0.5), 4326)"
    levels = []
    if z <= registry.REGION_LABEL_MAX_ZOOM:
        levels.append(("region", Region._meta.db_table))
    if z >= registry.COMUNA_LABEL_ZOOM:
        levels.append(("comuna", Comuna._meta.db_table))
    if not levels:
        return "''::bytea"
    rows = " UNION ALL ".join(
        f"SELECT '{level}' AS level, b.code, b.name, ST_PointOnSurface(b.boundary) AS point"
        f" FROM {table} b WHERE b.boundary && {envelope}"
        for level, table in levels
    )
    geom = f"ST_AsMVTGeom(ST_Transform(s.point, 3857), {ENVELOPE}, {EXTENT}, {LABEL_BUFFER}, true)"
    return (
        f"(SELECT COALESCE(ST_AsMVT(t, '{registry.PLACES.code}', {EXTENT}, 'geom'), ''::bytea)"
        f" FROM (SELECT s.level, s.code, s.name, {geom} AS geom FROM ({rows}) s"
        f" WHERE s.point && {envelope}) t)"
    )


def _overlay(layer: registry.Layer, **kwargs) -> TileLayer:
    return TileLayer(
        layer.code, layer.name, layer.min_zoom, layer.max_zoom, kwargs.pop("select", ""),
        kwargs.pop("column", ""), kwargs.pop("alias", ""), **kwargs,
    )  # fmt: skip


# The map page's layers beyond the network (network.layers.OVERLAYS).
OVERLAYS: dict[str, TileLayer] = {
    registry.BOUNDARIES.code: _overlay(registry.BOUNDARIES, build=_boundaries),
    registry.CAPACITY.code: _overlay(
        registry.CAPACITY, select=_capacity_select(), column="location", alias="p"
    ),
    registry.PLACES.code: _overlay(registry.PLACES, build=_places),
}
LAYERS.update(OVERLAYS)
COMPOSITES: dict[str, tuple[str, ...]] = {
    COMPOSITE: NETWORK,
    **{name: tuple(codes) for name, codes in registry.COMPOSITES.items() if name != COMPOSITE},
}
LAYER_NAMES = (*LAYERS, *COMPOSITES)


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
    chosen = [LAYERS[code] for code in COMPOSITES[name]] if name in COMPOSITES else [LAYERS[name]]
    return [layer for layer in chosen if layer.shown_at(z)]


def _layer_sql(layer: TileLayer, z: int) -> str:
    if layer.build is not None:
        return layer.build(z)
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
    rows = layer.select.format(
        geom=geom, bbox=f"{column} && {ENVELOPE_4326}", as_of=_as_of(layer.alias)
    )
    # No `WHERE geom IS NOT NULL`: ST_AsMVT skips rows without geometry, and the filter would
    # be pushed into the scan and compute ST_AsMVTGeom twice per row.
    return (
        f"(SELECT COALESCE(ST_AsMVT(t, '{layer.name}', {extent}, 'geom'), ''::bytea)"
        f" FROM ({rows}) t)"
    )


def _as_of(alias: str) -> str:
    return f"to_char({alias}.as_of, 'DD/MM/YYYY') AS as_of"


def tile_sql(name: str, z: int, x: int, y: int) -> tuple[str, dict]:
    """The SELECT that returns the tile as one bytea column (`data`), and its parameters."""
    parts = [_layer_sql(layer, z) for layer in layers_at(name, z)]
    expression = " || ".join(parts) if parts else "''::bytea"
    return f"SELECT {expression} AS data", tile_params(z, x, y)


def tile_params(z: int, x: int, y: int) -> dict:
    """The parameters of tile_sql's statement for the tile at z/x/y."""
    return {"z": z, "x": x, "y": y, "margin": MARGIN}


def render(name: str, z: int, x: int, y: int) -> bytes:
    """The tile, straight from the database (no cache); b"" when it holds nothing."""
    if not layers_at(name, z):
        return b""
    sql, params = tile_sql(name, z, x, y)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(SERIAL)
        cur.execute(sql, params)
        return bytes(cur.fetchone()[0])


def poles_extent(feeder_ids) -> tuple[float, float, float, float] | None:
    """The lon/lat box around the poles of these feeders."""
    ids = sorted({int(pk) for pk in feeder_ids if pk is not None})
    if not ids:
        return None
    with connection.cursor() as cur:
        cur.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
            " FROM (SELECT ST_Extent(location) AS e FROM network_pole WHERE feeder_id = ANY(%s)) b",
            [ids],
        )
        row = cur.fetchone()
    return None if row is None or row[0] is None else tuple(row)


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
