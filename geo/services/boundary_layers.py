"""Reading a boundary layer: features by CUT code, as valid polygons in SRID 4326.

Any layer GDAL reads works. Geometries are moved to WGS84 and repaired when GEOS can; a
feature that cannot be taken becomes a Problem naming its position, code and name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, SpatialReference
from django.contrib.gis.gdal.layer import Layer
from django.contrib.gis.geos import GEOSException, GEOSGeometry, MultiPolygon, Polygon
from tqdm import tqdm

from .boundary_report import ERROR, WARNING, BoundaryImportError, Problem
from .cut import normalize_code

SRID = 4326
_POLYGONAL = ("Polygon", "MultiPolygon")


@dataclass(frozen=True)
class Fields:
    """Attribute names of a layer; matched case-insensitively (Shapefiles change case)."""

    code: str
    name: str
    province: str | None = None


@dataclass
class Piece:
    """A readable polygonal feature, before features sharing a code are merged."""

    index: int
    raw_code: str
    name: str
    province: str
    geom: GEOSGeometry


class _Skip(Exception):
    pass


@contextmanager
def _quiet_gis_logs() -> Iterator[None]:
    """GDAL/GEOS log every notice; the importer turns them into reasons of its own."""
    logger = logging.getLogger("django.contrib.gis")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _open_layer(path: Path, layer_name: str | None) -> Layer:
    if not path.exists():
        raise BoundaryImportError(f"{path}: no existe")
    try:
        source = DataSource(str(path))
    except GDALException as exc:
        raise BoundaryImportError(f"{path}: GDAL no puede leerlo ({exc})") from exc
    names = [layer.name for layer in source]
    if layer_name is None and len(names) != 1:
        raise BoundaryImportError(
            f"{path.name} tiene {len(names)} capas ({', '.join(names)}); elija una con la "
            "opción de capa"
        )
    try:
        layer = source[layer_name if layer_name is not None else 0]
    except IndexError as exc:
        raise BoundaryImportError(
            f"{path.name}: no hay capa {layer_name!r}; capas: {', '.join(names)}"
        ) from exc
    return layer  # keeps its DataSource alive


def _field(layer: Layer, wanted: str | None, path: Path, required: bool) -> str | None:
    if wanted is None:
        return None
    by_lower = {name.lower(): name for name in layer.fields}
    found = by_lower.get(wanted.lower())
    if found is None and required:
        raise BoundaryImportError(
            f"{path.name}: la capa {layer.name} no tiene el campo {wanted!r}; "
            f"campos: {', '.join(layer.fields)}"
        )
    return found


def _transform_for(layer: Layer, path: Path) -> CoordTransform | None:
    srs = layer.srs
    if srs is None or srs.srid == SRID:
        return None  # GeoJSON without "crs" is WGS84 by definition
    try:
        return CoordTransform(srs, SpatialReference(SRID))
    except GDALException as exc:
        raise BoundaryImportError(
            f"{path.name}: no se puede transformar {srs.name} a WGS84"
        ) from exc


def _ring_problem(ogr) -> str:
    """Why GEOS refused an OGR polygon; looks at rings only, never at every coordinate."""
    polygons = [ogr] if ogr.geom_name == "POLYGON" else list(ogr)
    for polygon in polygons:
        for ring in polygon:
            if ring.point_count < 4:
                return f"anillo con {ring.point_count} puntos (mínimo 4)"
            if ring[0] != ring[ring.point_count - 1]:
                return "anillo sin cerrar"
    return "GEOS no la acepta"


def _polygonal_part(geom: GEOSGeometry) -> list[Polygon]:
    if geom.geom_type == "Polygon":
        return [geom]
    if geom.geom_type in ("MultiPolygon", "GeometryCollection"):
        return [p for g in geom for p in _polygonal_part(g)]
    return []


def _make_valid(geom: GEOSGeometry) -> GEOSGeometry | None:
    """Repair polygon by polygon, then union the parts if they overlap.

    Simplified multipolygons are mostly invalid between their parts (an island drawn twice,
    "nested shells"): the union keeps that land, where MakeValid on the whole would cut it out
    as a hole, and it is faster on Magallanes' thousands of islands. Each broken polygon gets
    GEOS MakeValid, keeping only its polygonal part (collapsed rings become lines: dropped).
    """
    parts: list[Polygon] = []
    for polygon in _polygonal_part(geom):
        parts.extend(_polygonal_part(polygon if polygon.valid else polygon.make_valid()))
    if not parts:
        return None
    fixed = MultiPolygon(*parts, srid=geom.srid)
    return fixed if fixed.valid else fixed.unary_union


def _geometry(feature, transform: CoordTransform | None) -> tuple[GEOSGeometry, list[str]]:
    """A valid polygonal GEOS geometry in SRID 4326 and the repairs it needed, or _Skip."""
    try:
        ogr = feature.geom
    except GDALException:
        raise _Skip("sin geometría (nula, vacía o ilegible)") from None
    if ogr.is_3d:
        ogr.set_3d(False)
    if ogr.is_measured:
        ogr.set_measured(False)
    kind = ogr.geom_type.name
    if kind not in _POLYGONAL:
        raise _Skip(f"geometría no poligonal ({kind})")
    if ogr.empty:
        raise _Skip("geometría vacía")
    repairs: list[str] = []
    if transform is not None:
        try:
            ogr.transform(transform)
        except GDALException:
            raise _Skip("no se puede transformar a WGS84") from None
    try:
        geom = ogr.geos
    except GEOSException:
        problem = _ring_problem(ogr)
        if problem != "anillo sin cerrar":
            raise _Skip(f"geometría ilegible: {problem}") from None
        ogr.close_rings()
        repairs.append(problem)
        try:
            geom = ogr.geos
        except GEOSException:
            raise _Skip(f"geometría ilegible: {_ring_problem(ogr)}") from None
    geom.srid = SRID
    reason = geom.valid_reason
    if reason != "Valid Geometry":
        fixed = _make_valid(geom)
        if fixed is None or fixed.empty or not fixed.valid:
            raise _Skip(f"geometría inválida irreparable ({reason})")
        geom = fixed
        repairs.append(reason)
    return geom, repairs


def read_layer(
    path: Path,
    layer_name: str | None,
    fields: Fields,
    digits: int,
    needs_name: bool,
    problems: list[Problem],
    progress: bool,
) -> dict[str, list[Piece]]:
    """Readable features by normalized code; unreadable ones become problems."""
    pieces: dict[str, list[Piece]] = {}
    with _quiet_gis_logs():
        layer = _open_layer(path, layer_name)
        try:
            _collect(layer, path, fields, digits, needs_name, problems, progress, pieces)
        except GDALException as exc:
            raise BoundaryImportError(f"{path.name}: error de GDAL al leer ({exc})") from exc
    return pieces


def _collect(
    layer: Layer,
    path: Path,
    fields: Fields,
    digits: int,
    needs_name: bool,
    problems: list[Problem],
    progress: bool,
    pieces: dict[str, list[Piece]],
) -> None:
    code_field = _field(layer, fields.code, path, required=True)
    name_field = _field(layer, fields.name, path, required=needs_name)
    province_field = _field(layer, fields.province, path, required=False)
    transform = _transform_for(layer, path)

    def text(feature, name: str | None) -> str:
        value = feature.get(name) if name else None
        return "" if value is None else str(value).strip()

    features = tqdm(layer, total=len(layer), desc=path.name, unit="feature", disable=not progress)
    for index, feature in enumerate(features, start=1):
        raw = text(feature, code_field)
        name = text(feature, name_field)
        problem = partial(_feature_problem, problems, path.name, index, raw, name)
        try:
            code = normalize_code(raw, digits)
        except ValueError:
            problem(f"código no numérico {raw!r}")
            continue
        if code is None:
            problem(f"sin código (campo {code_field} vacío)")
            continue
        if needs_name and not name:
            problem(f"sin nombre (campo {name_field} vacío)")
            continue
        try:
            geom, repairs = _geometry(feature, transform)
        except _Skip as skip:
            problem(str(skip))
            continue
        for repair in repairs:
            problem(f"geometría reparada ({repair})", "cargada", WARNING)
        piece = Piece(index, raw, name, text(feature, province_field), geom)
        pieces.setdefault(code, []).append(piece)


def _feature_problem(
    problems: list[Problem],
    source: str,
    index: int,
    raw: str,
    name: str,
    reason: str,
    outcome: str = "omitida",
    severity: str = ERROR,
) -> None:
    problems.append(Problem(source, reason, outcome, severity, index, raw, name))
