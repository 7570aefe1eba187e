"""Import of regiones and comunas boundaries from GIS files, matched by CUT code.

Any layer GDAL reads (GeoJSON, Shapefile, GeoPackage...) works; geometries are moved to SRID
4326, repaired when GEOS can (MakeValid, keeping the polygonal part) and stored as valid
MultiPolygons. Every feature that cannot be taken is reported by file, feature index, code and
name, and the rest is loaded.

With a CUT table (the clregions CSVs) the table is the reference: codes, names, provinces and
the región of each comuna come from it, because the GIS files disagree with it (names such as
"Marchigüe" for Marchihue, provinces renamed since, codes that are not comunas at all), and the
files only contribute geometry. Without it, codes and names come from the features.

This module writes; `cut` reads the CUT table, `boundary_layers` the GIS files, and
`boundary_report` holds what the user is told.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.contrib.gis.geos import GeometryCollection, MultiPolygon, Polygon
from django.db import transaction
from django.utils import timezone

from geo.lib.utm import REGION_ZONES
from geo.models import Comuna, Region

from .boundary_layers import SRID, Fields, Piece, read_layer
from .boundary_report import ERROR, INFO, WARNING, BoundaryImportError, ImportResult, Problem
from .cut import COMUNA_DIGITS, REGION_DIGITS, CutComuna, CutTable, normalize_code, read_cut_table

# Callers need one module, wherever each part of the import lives.
__all__ = [
    "COMUNA_DIGITS",
    "COMUNA_FIELDS",
    "DEFAULT_UTM_ZONE",
    "ERROR",
    "INFO",
    "LEGAL_BOUNDARIES",
    "REGION_DIGITS",
    "REGION_FIELDS",
    "SRID",
    "WARNING",
    "BoundaryImportError",
    "CutComuna",
    "CutTable",
    "Fields",
    "ImportResult",
    "Problem",
    "import_boundaries",
    "normalize_code",
    "read_cut_table",
]

DEFAULT_UTM_ZONE = 19
# Attribute names in the national files (fcortes, ../shared/data/boundaries).
REGION_FIELDS = Fields("codregion", "Region")
COMUNA_FIELDS = Fields("cod_comuna", "Comuna", "Provincia")

# Comunas that national GIS files do not draw, with the boundary their legal definition gives.
# Antártica (12202) is the Territorio Chileno Antártico of DS 1.747 (1940): the sector between
# the meridians 53° W and 90° W, drawn from 60° S (the Antarctic Treaty's limit) to the pole.
LEGAL_BOUNDARIES: dict[str, tuple[tuple[float, float, float, float], str]] = {
    "12202": (
        (-90.0, -90.0, -53.0, -60.0),
        "DS 1.747 de 1940 (sector entre 53° O y 90° O, al sur de 60° S)",
    ),
}


def _merge(pieces: list[Piece], source: str, problems: list[Problem]) -> MultiPolygon:
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


def _unknown(source: str, pieces: list[Piece], reason: str, problems: list[Problem]) -> None:
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
    region_fields: Fields = REGION_FIELDS,
    comuna_fields: Fields = COMUNA_FIELDS,
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
        read_layer(
            regiones, regiones_layer, region_fields, REGION_DIGITS, cut is None, problems, progress
        )
        if regiones
        else {}
    )
    comuna_pieces = (
        read_layer(
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
    pieces: dict[str, list[Piece]],
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
    pieces: dict[str, list[Piece]],
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
