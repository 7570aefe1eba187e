"""Import of regiones and comunas boundaries from GIS files, matched by CUT code.

Any layer GDAL reads (GeoJSON, Shapefile, GeoPackage...) works; geometries are moved to SRID
4326, repaired when GEOS can (MakeValid, keeping the polygonal part) and stored as valid
MultiPolygons. Every feature that cannot be taken is reported by file, feature index, code and
name, and the rest is loaded.

With a CUT table (the clregions CSVs) the table is the reference: codes, names, provinces and
the región of each comuna come from it, because the GIS files disagree with it (names such as
"Marchigüe" for Marchihue, provinces renamed since, codes that are not comunas at all), and the
files only contribute geometry. Without it, codes and names come from the features.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path

from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, SpatialReference
from django.contrib.gis.gdal.layer import Layer
from django.contrib.gis.geos import (
    GeometryCollection,
    GEOSException,
    GEOSGeometry,
    MultiPolygon,
    Polygon,
)
from django.db import transaction
from django.utils import timezone
from tqdm import tqdm

from geo.lib.utm import REGION_ZONES
from geo.models import Comuna, Region

SRID = 4326
REGION_DIGITS = 2
COMUNA_DIGITS = 5
DEFAULT_UTM_ZONE = 19

# Severities: errors make the run fail (after committing what loaded), warnings do not.
ERROR = "error"
WARNING = "aviso"
INFO = "info"

# Comunas that national GIS files do not draw, with the boundary their legal definition gives.
# Antártica (12202) is the Territorio Chileno Antártico of DS 1.747 (1940): the sector between
# the meridians 53° W and 90° W, drawn from 60° S (the Antarctic Treaty's limit) to the pole.
LEGAL_BOUNDARIES: dict[str, tuple[tuple[float, float, float, float], str]] = {
    "12202": (
        (-90.0, -90.0, -53.0, -60.0),
        "DS 1.747 de 1940 (sector entre 53° O y 90° O, al sur de 60° S)",
    ),
}

_CODE = re.compile(r"^(\d+)(?:\.0*)?$")
_POLYGONAL = ("Polygon", "MultiPolygon")


class BoundaryImportError(Exception):
    """A fatal problem (file missing or unreadable, bad CUT table); nothing is written."""


@dataclass(frozen=True)
class Problem:
    """One thing the import could not take as it was, in the words the user reads.

    `feature` is the position of the feature in its layer, counting from 1 (GeoJSON has no
    stable ids); None for a CUT entry that no feature provides.
    """

    source: str
    reason: str
    outcome: str
    severity: str = ERROR
    feature: int | None = None
    code: str | None = None
    name: str | None = None

    def __str__(self) -> str:
        where = self.source if self.feature is None else f"{self.source} feature {self.feature}"
        ident = ", ".join(
            part for part in (f"código {self.code}" if self.code else "", self.name or "") if part
        )
        if ident:
            where = f"{where} ({ident})"
        return f"{where}: {self.reason}, {self.outcome}"


@dataclass
class ImportResult:
    regiones: int = 0
    comunas: int = 0
    regiones_with_boundary: int = 0
    comunas_with_boundary: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> int:
        return sum(p.severity == ERROR and p.feature is not None for p in self.problems)

    @property
    def without_boundary(self) -> int:
        return sum(p.severity == ERROR and p.feature is None for p in self.problems)

    @property
    def repaired(self) -> int:
        return sum(p.severity == WARNING for p in self.problems)

    @property
    def failed(self) -> bool:
        return any(p.severity == ERROR for p in self.problems)

    def summary(self) -> str:
        return (
            f"{self.regiones} regiones ({self.regiones_with_boundary} con límite), "
            f"{self.comunas} comunas ({self.comunas_with_boundary} con límite); "
            f"{self.skipped} omitidas, {self.repaired} reparadas, "
            f"{self.without_boundary} del CUT sin geometría"
        )

    def write_report(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(
                ["archivo", "feature", "codigo", "nombre", "gravedad", "motivo", "resultado"]
            )
            for p in self.problems:
                writer.writerow(
                    [
                        p.source,
                        p.feature or "",
                        p.code or "",
                        p.name or "",
                        p.severity,
                        p.reason,
                        p.outcome,
                    ]
                )


@dataclass(frozen=True)
class Fields:
    """Attribute names of a layer; matched case-insensitively (Shapefiles change case)."""

    code: str
    name: str
    province: str | None = None


@dataclass(frozen=True)
class CutComuna:
    name: str
    province: str
    region: str


@dataclass(frozen=True)
class CutTable:
    regiones: dict[str, str]
    comunas: dict[str, CutComuna]


@dataclass
class _Piece:
    """A readable polygonal feature, before features sharing a code are merged."""

    index: int
    raw_code: str
    name: str
    province: str
    geom: GEOSGeometry


class _Skip(Exception):
    pass


def normalize_code(value: object, digits: int) -> str | None:
    """CUT code as stored: 6204, "6204", 6204.0 and "06204" all give "06204" (digits=5).

    None for a missing or blank value; ValueError if it is not a whole number.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    match = _CODE.match(text)
    if not match:
        raise ValueError(text)
    return match.group(1).zfill(digits)


def read_cut_table(directory: Path) -> CutTable:
    """The CUT table as published by clregions: *regions.csv, *provinces.csv, *communes.csv."""
    if not directory.is_dir():
        raise BoundaryImportError(f"{directory}: no existe o no es un directorio")
    regions = {r["id"]: r for r in _read_csv(directory, "regions", ("id", "name"))}
    provinces = {r["id"]: r for r in _read_csv(directory, "provinces", ("id", "name", "region_id"))}
    communes = _read_csv(directory, "communes", ("id", "name", "province_id"))
    regiones = {
        normalize_code(code, REGION_DIGITS): row["name"].strip() for code, row in regions.items()
    }
    comunas: dict[str, CutComuna] = {}
    for row in communes:
        province = provinces.get(row["province_id"].strip().zfill(3))
        region = province and normalize_code(province["region_id"], REGION_DIGITS)
        if province is None or region not in regiones:
            raise BoundaryImportError(
                f"Tabla CUT inconsistente: la comuna {row['id']} apunta a la provincia "
                f"{row['province_id']}, que no existe o no tiene región"
            )
        code = normalize_code(row["id"], COMUNA_DIGITS)
        comunas[code] = CutComuna(row["name"].strip(), province["name"].strip(), region)
    if not regiones or not comunas:
        raise BoundaryImportError(f"Tabla CUT vacía en {directory}")
    return CutTable(regiones, comunas)


def _read_csv(directory: Path, kind: str, columns: tuple[str, ...]) -> list[dict[str, str]]:
    matches = sorted(directory.glob(f"*{kind}.csv"))
    if len(matches) != 1:
        raise BoundaryImportError(
            f"Tabla CUT: se esperaba un archivo *{kind}.csv en {directory}, hay {len(matches)}"
        )
    try:
        with matches[0].open(newline="", encoding="utf-8-sig") as src:
            rows = list(csv.DictReader(src))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise BoundaryImportError(f"{matches[0]}: no se puede leer ({exc})") from exc
    missing = [c for c in columns if rows and c not in rows[0]]
    if missing:
        raise BoundaryImportError(f"{matches[0].name}: faltan las columnas {', '.join(missing)}")
    # Spreadsheets drop the leading zeros of "01"; padding happens where the width is known.
    return [{k: (v or "").strip() for k, v in row.items() if k} for row in rows]


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


def _read_layer(
    path: Path,
    layer_name: str | None,
    fields: Fields,
    digits: int,
    needs_name: bool,
    problems: list[Problem],
    progress: bool,
) -> dict[str, list[_Piece]]:
    """Readable features by normalized code; unreadable ones become problems."""
    pieces: dict[str, list[_Piece]] = {}
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
    pieces: dict[str, list[_Piece]],
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
        piece = _Piece(index, raw, name, text(feature, province_field), geom)
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


def _merge(pieces: list[_Piece], source: str, problems: list[Problem]) -> MultiPolygon:
    """One MultiPolygon per code: multipart units are sometimes split over several features."""
    first = pieces[0]
    if len(pieces) == 1:
        geom = first.geom
    else:
        for piece in pieces[1:]:
            problems.append(
                Problem(
                    source,
                    f"mismo código que la feature {first.index}",
                    "geometrías unidas",
                    INFO,
                    piece.index,
                    piece.raw_code,
                    piece.name,
                )
            )
        geom = GeometryCollection(*(p.geom for p in pieces), srid=SRID).unary_union
    if geom.geom_type == "Polygon":
        geom = MultiPolygon(geom, srid=SRID)
    return geom


def _unknown(source: str, pieces: list[_Piece], reason: str, problems: list[Problem]) -> None:
    for piece in pieces:
        problems.append(
            Problem(source, reason, "omitida", ERROR, piece.index, piece.raw_code, piece.name)
        )


def _no_feature(source: str, code: str, name: str, kept: bool) -> Problem:
    outcome = "conserva el límite anterior" if kept else "queda sin límite"
    return Problem(
        source, "ninguna feature válida con este código del CUT", outcome, code=code, name=name
    )


def import_boundaries(
    *,
    regiones: Path | None = None,
    comunas: Path | None = None,
    cut_table: Path | None = None,
    regiones_layer: str | None = None,
    comunas_layer: str | None = None,
    region_fields: Fields = Fields("codregion", "Region"),
    comuna_fields: Fields = Fields("cod_comuna", "Comuna", "Provincia"),
    progress: bool = False,
) -> ImportResult:
    """Load regiones and/or comunas; idempotent (update_or_create by code).

    Everything is read and checked before the first write, and the writes are one transaction:
    a fatal error (BoundaryImportError) leaves the database as it was. Problems with single
    features do not stop the run; they are returned, and what could be loaded is committed.
    """
    if not (regiones or comunas or cut_table):
        raise BoundaryImportError("Nada que importar: indique regiones, comunas o tabla CUT")
    problems: list[Problem] = []
    cut = read_cut_table(cut_table) if cut_table else None
    region_pieces = (
        _read_layer(
            regiones, regiones_layer, region_fields, REGION_DIGITS, cut is None, problems, progress
        )
        if regiones
        else {}
    )
    comuna_pieces = (
        _read_layer(
            comunas, comunas_layer, comuna_fields, COMUNA_DIGITS, cut is None, problems, progress
        )
        if comunas
        else {}
    )

    result = ImportResult(problems=problems)
    today = timezone.localdate()
    with transaction.atomic():
        _save_regiones(result, cut, regiones, region_pieces, today)
        _save_comunas(result, cut, comunas, comuna_pieces, today)
        # PostGIS links the same GEOS, so this should never fire; if it does, store nothing.
        invalid = [
            str(row)
            for model, codes in ((Region, region_pieces), (Comuna, comuna_pieces))
            for row in model.objects.filter(code__in=list(codes), boundary__isvalid=False)
        ]
        if invalid:
            raise BoundaryImportError(
                f"PostGIS rechaza límites como inválidos: {', '.join(invalid)}"
            )
    order = {name: i for i, name in enumerate(p.name for p in (regiones, comunas) if p)}
    problems.sort(key=lambda p: (order.get(p.source, 99), p.feature or 10**9, p.code or ""))
    return result


def _save_regiones(
    result: ImportResult,
    cut: CutTable | None,
    path: Path | None,
    pieces: dict[str, list[_Piece]],
    today: date,
) -> None:
    source = path.name if path else ""
    if cut is not None:
        known = cut.regiones
    else:
        known = {code: p[0].name for code, p in pieces.items() if code in REGION_ZONES}
    for code in sorted(set(pieces) - set(known)):
        _unknown(source, pieces[code], "código desconocido", result.problems)
    for code, name in sorted(known.items()):
        defaults: dict[str, object] = {"name": name, "as_of": today}
        if code in pieces:
            defaults["boundary"] = _merge(pieces[code], source, result.problems)
            result.regiones_with_boundary += 1
        region, _ = Region.objects.update_or_create(
            code=code,
            defaults=defaults,
            create_defaults={**defaults, "utm_zone": REGION_ZONES.get(code, DEFAULT_UTM_ZONE)},
        )
        result.regiones += 1
        if path and code not in pieces:
            result.problems.append(_no_feature(source, code, name, region.boundary is not None))


def _save_comunas(
    result: ImportResult,
    cut: CutTable | None,
    path: Path | None,
    pieces: dict[str, list[_Piece]],
    today: date,
) -> None:
    source = path.name if path else ""
    regions = {r.code: r for r in Region.objects.all()}
    entries: dict[str, CutComuna] = {}
    if cut is not None:
        entries = cut.comunas
        for code in sorted(set(pieces) - set(entries)):
            _unknown(source, pieces[code], "código desconocido", result.problems)
    else:
        for code, group in sorted(pieces.items()):
            if len(code) != COMUNA_DIGITS or code[:REGION_DIGITS] not in regions:
                reason = f"código desconocido (no hay región {code[:REGION_DIGITS]})"
                _unknown(source, group, reason, result.problems)
                continue
            entries[code] = CutComuna(group[0].name, group[0].province, code[:REGION_DIGITS])
    for code, entry in sorted(entries.items()):
        defaults: dict[str, object] = {
            "name": entry.name,
            "province": entry.province,
            "region": regions[entry.region],
            "as_of": today,
        }
        legal = path is not None and code not in pieces and code in LEGAL_BOUNDARIES
        if code in pieces:
            defaults["boundary"] = _merge(pieces[code], source, result.problems)
            result.comunas_with_boundary += 1
        elif legal:
            bbox, basis = LEGAL_BOUNDARIES[code]
            defaults["boundary"] = MultiPolygon(Polygon.from_bbox(bbox), srid=SRID)
            result.comunas_with_boundary += 1
            result.problems.append(
                Problem(
                    source,
                    f"sin feature en el archivo; límite según su definición legal, {basis}",
                    "cargada",
                    INFO,
                    code=code,
                    name=entry.name,
                )
            )
        comuna, _ = Comuna.objects.update_or_create(code=code, defaults=defaults)
        result.comunas += 1
        if path and code not in pieces and not legal:
            result.problems.append(
                _no_feature(source, code, entry.name, comuna.boundary is not None)
            )
