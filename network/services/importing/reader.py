"""Reading one mapped layer with GDAL: GeoJSON, GeoPackage, Shapefile, KML/KMZ, CSV.

Fatal problems (file, layer, column, CRS, a layer of the wrong geometry type) raise
NetworkImportError before anything is written; a feature that cannot be taken becomes an
error Problem naming file, feature and reason, and the rest of the layer is read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.contrib.gis.gdal import CoordTransform, GDALException, SpatialReference
from django.contrib.gis.gdal.layer import Layer
from django.contrib.gis.geos import GEOSException, GEOSGeometry, LineString, Point
from django.db import models
from tqdm import tqdm

from .mapping import (
    TARGETS,
    EntityMapping,
    FieldSpec,
    RowError,
    Translation,
    key_text,
    normalize,
)
from .placement import Placement
from .report import ERROR, INFO, EntityCounts, NetworkImportError, Position, Problem
from .sources import gdal_errors, gdal_text, open_layer
from .territory import Territory
from .values import where_matches

SRID = 4326
DROPPED_RAW = 10_000
_ACCEPTED = {
    "Point": ("Point", "MultiPoint"),
    "LineString": ("LineString", "MultiLineString"),
}


@dataclass
class SourceRow:
    """One feature as model values; references still hold the source ids they point at."""

    entity: str
    source: str
    feature: int
    ident: str
    values: dict[str, Any]
    geom: GEOSGeometry | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    layer: str = ""

    def problem(
        self,
        check: str,
        reason: str,
        outcome: str = "omitida",
        severity: str = ERROR,
        field: str = "",
    ) -> Problem:
        return Problem(
            self.entity,
            check,
            reason,
            outcome,
            severity,
            self.source,
            self.feature,
            self.ident,
            str(self.values.get(self.key_field) or ""),
            self.layer,
            field,
        )

    @property
    def key_field(self) -> str:
        return TARGETS[self.entity].key


@dataclass
class LayerRows:
    rows: dict[str, SourceRow]  # by source id, in layer order
    filtered: set[str]  # ids left out by `where`
    dropped: dict[str, str]  # ids of skipped features -> reason
    layer: str = ""
    # Columns of skipped spans (up to DROPPED_RAW), so that a pole they left alone names them.
    dropped_raw: dict[str, dict[str, Any]] = field(default_factory=dict)


def _columns(entity: EntityMapping, layer: Layer) -> dict[str, str]:
    """Mapping column -> layer field; case-insensitive (Shapefiles and KML change case)."""
    by_lower = {name.lower(): name for name in layer.fields}
    resolved = {}
    for column, used_in in entity.columns.items():
        found = by_lower.get(column.lower())
        if found is None:
            raise NetworkImportError(
                f"{entity.path.name}, capa {layer.name}: no existe la columna {column!r} "
                f"(mapeo [{entity.name}] {used_in}); columnas: {', '.join(layer.fields)}"
            )
        resolved[column] = found
    return resolved


@dataclass(frozen=True)
class Crs:
    """The CRS a layer is read in, as the messages name it."""

    transform: CoordTransform | None  # None: already WGS84
    label: str
    geographic: bool
    wkt: str | None  # None: WGS84


def _transform(entity: EntityMapping, layer: Layer, driver: str) -> Crs:
    where = f"{entity.path.name}, capa {layer.name}"
    srs = layer.srs
    origin = ""
    if srs is None:
        if entity.crs:
            srs, origin = _srs(entity.crs, where), ", declarado en el mapeo"
        elif driver in ("GeoJSON", "KML", "LIBKML"):
            # WGS84 by definition of the format
            return Crs(None, f"WGS 84 (EPSG:4326, el de todo {driver})", True, None)
        elif layer.geom_type.name == "None":
            return Crs(None, "sin geometría", True, None)
        else:
            raise NetworkImportError(
                f"{where}: CRS desconocido (el archivo no lo declara; un Shapefile necesita "
                "su .prj); declare crs en el mapeo"
            )
    elif entity.crs:
        # the mapping overrides a wrong declaration
        srs, origin = _srs(entity.crs, where), ", declarado en el mapeo en vez del del archivo"
    code = srs.srid
    label = (f"{srs.name} (EPSG:{code})" if code else srs.name) + origin
    geographic = bool(srs.geographic)
    if code == SRID:
        return Crs(None, label, True, None)
    try:
        transform = CoordTransform(srs, SpatialReference(SRID))
    except GDALException as exc:
        raise NetworkImportError(
            f"{where}: CRS desconocido ({srs.name}); no pasa a WGS84 ({exc})"
        ) from exc
    return Crs(transform, label, geographic, srs.wkt)


def _srs(text: str, where: str) -> SpatialReference:
    with gdal_errors() as messages:
        try:
            srs = SpatialReference(text)
            srs.srid  # noqa: B018  (forces PROJ to resolve it)
            return srs
        except (GDALException, ValueError, TypeError) as exc:
            detail = gdal_text(messages, exc)
            raise NetworkImportError(
                f"{where}: CRS desconocido en el mapeo ({text!r}: {detail})"
            ) from exc


def _check_layer_type(entity: EntityMapping, layer: Layer) -> None:
    expected = entity.target.geom_type
    if expected is None:
        return
    declared = layer.geom_type.name.removesuffix("25D").removesuffix("Z").removesuffix("M")
    if declared in ("Unknown", "Geometry", "GeometryCollection"):
        return  # mixed or undeclared: checked feature by feature
    if declared not in _ACCEPTED[expected]:
        raise NetworkImportError(
            f"{entity.path.name}, capa {layer.name}: geometría {layer.geom_type.name}, pero "
            f"[{entity.name}] necesita {expected}"
        )


def read_layer(
    entity: EntityMapping,
    counts: EntityCounts,
    problems: list[Problem],
    translate: Callable | None,
    progress: bool = False,
    *,
    territory: Territory | None = None,
    position: Position | None = None,
) -> LayerRows:
    position = position if position is not None else Position()
    position.at("leer", entity.name, entity.path.name)
    source_ds, layer = open_layer(entity)
    position.layer = layer.name
    with gdal_errors() as messages:
        try:
            return _read(
                entity, source_ds, layer, counts, problems, translate, progress, territory, position
            )
        except GDALException as exc:
            where = position.describe()
            raise NetworkImportError(
                f"{where}: error de GDAL al leer ({gdal_text(messages[-3:], exc)})"
            ) from exc


def _read(
    entity, source_ds, layer, counts, problems, translate, progress, territory, position
) -> LayerRows:
    columns = _columns(entity, layer)
    crs = _transform(entity, layer, source_ds.driver.name)
    _check_layer_type(entity, layer)
    target = entity.target
    model_fields = {
        name: target.model._meta.get_field(name)
        for name in entity.fields
        if name not in target.extra
    }
    label = entity.path.name
    result = LayerRows({}, set(), {}, layer.name)
    seen_at: dict[str, int] = {}
    right_type = wrong_type = 0
    placement = None
    if target.geometry and territory is not None:
        placement = Placement(
            entity.name, label, layer.name, crs.label, crs.geographic, crs.wkt, territory, translate
        )

    def skip(feature: int, ident: str, check: str, reason: str, field: str = "") -> None:
        problem = Problem(
            entity.name, check, reason, "omitida", ERROR, label, feature, ident, "", layer.name
        )
        problem = dataclasses.replace(problem, field=field)
        problems.append(problem)
        if ident:
            result.dropped.setdefault(ident, reason)
            if entity.name == "spans" and len(result.dropped_raw) < DROPPED_RAW:
                result.dropped_raw[ident] = {c: normalize(v) for c, v in raw.items()}

    features = tqdm(layer, total=len(layer), desc=label, unit=" f", disable=not progress)
    for index, feature in enumerate(features, start=1):
        position.feature, position.ident = index, ""
        counts.read += 1
        raw = {column: feature.get(name) for column, name in columns.items()}
        ident = key_text(raw[entity.id_column])
        position.ident = ident or ""
        if not all(where_matches(raw[c], accepted) for c, accepted in entity.where.items()):
            counts.filtered += 1
            if ident:
                result.filtered.add(ident)
            continue
        if ident is None:
            skip(index, "", "id", f"sin id (columna {entity.id_column} vacía)", entity.id_column)
            continue
        if ident in seen_at:
            first = seen_at[ident]
            reason = f"id {ident} repetido: ya está en la feature {first}"
            skip(index, ident, "duplicado", reason, entity.id_column)
            continue
        seen_at[ident] = index
        geom = None
        if target.geometry:
            try:
                geom = _geometry(feature, target.geom_type, crs.transform, translate, placement)
                right_type += 1
            except _WrongType as exc:
                wrong_type += 1
                skip(index, ident, "geometria", str(exc), target.geometry)
                continue
            except RowError as exc:
                check = "territorio" if isinstance(exc, _Outside) else "geometria"
                skip(index, ident, check, str(exc), target.geometry)
                continue
        row = {column: normalize(value) for column, value in raw.items()}
        try:
            values, extra = _values(entity, row, model_fields)
        except RowError as exc:
            skip(index, ident, "valor", str(exc), getattr(exc, "field", ""))
            continue
        result.rows[ident] = SourceRow(
            entity.name, label, index, ident, values, geom, extra, layer.name
        )
    position.feature, position.ident = None, ""
    if target.geometry and wrong_type and not right_type:
        raise NetworkImportError(
            f"{label}, capa {layer.name}: ninguna feature es {target.geom_type}; "
            f"[{entity.name}] no puede leer esta capa"
        )
    if placement is not None:
        for problem in placement.finish():
            problems.append(problem)
    if counts.filtered:
        conditions = ", ".join(
            f"{c} = {v[0]}" if len(v) == 1 else f"{c} en ({', '.join(map(str, v))})"
            for c, v in entity.where.items()
        )
        problems.append(
            Problem(
                entity.name,
                "filtro",
                f"{counts.filtered} de {counts.read} features no cumplen where ({conditions}; "
                "los números se comparan con una tolerancia de una millonésima)",
                "no son de esta sección",
                INFO,
                label,
                layer=layer.name,
            )
        )
    return result


class _WrongType(RowError):
    pass


class _Outside(RowError):
    pass


def _geometry(
    feature,
    expected: str,
    transform: CoordTransform | None,
    translate: Callable | None,
    placement: Placement | None,
) -> GEOSGeometry:
    try:
        ogr = feature.geom
    except GDALException:
        raise RowError("sin geometría (nula o ilegible)") from None
    if ogr.is_3d:
        ogr.set_3d(False)
    if ogr.is_measured:
        ogr.set_measured(False)
    kind = ogr.geom_type.name
    if kind not in _ACCEPTED[expected]:
        raise _WrongType(f"geometría {kind}, se esperaba {expected}")
    if ogr.empty:
        raise RowError("geometría vacía")
    raw = tuple(ogr.extent)
    if not all(map(_finite, raw)):
        raise RowError("coordenadas no numéricas")
    if placement is not None and placement.beyond_degrees(raw):
        raise RowError(
            f"coordenadas fuera de rango para un CRS geográfico ({raw[0]:.1f}, {raw[1]:.1f}); "
            "¿son proyectadas?"
        )
    geom = None
    try:
        geom = _wgs84(ogr, expected, transform, translate)
    finally:
        if placement is not None:
            placement.feature(raw, None if geom is None else geom.extent)
    if placement is not None and not placement.territory.touches(geom.extent):
        x, y = geom.coords if expected == "Point" else geom.coords[0]
        territory = placement.territory.label
        raise _Outside(f"fuera del territorio: está en ({x:.5f}, {y:.5f}), lejos de {territory}")
    return geom


def _wgs84(
    ogr, expected: str, transform: CoordTransform | None, translate: Callable | None
) -> GEOSGeometry:
    if transform is not None:
        with gdal_errors() as messages:
            try:
                ogr.transform(transform)
            except GDALException as exc:
                detail = gdal_text(messages, exc)
                raise RowError(f"no se puede transformar a WGS84 ({detail})") from None
    try:
        geom = ogr.geos
    except GEOSException as exc:
        raise RowError(f"geometría ilegible ({exc})") from None
    geom.srid = SRID
    if geom.geom_type.startswith("Multi"):
        geom = _single(geom, expected)
    if translate is not None:
        geom = _moved(geom, translate)
    coords = [geom.coords] if expected == "Point" else list(geom.coords)
    if any(not all(map(_finite, c)) for c in coords):
        raise RowError("coordenadas no numéricas")
    xmin, ymin, xmax, ymax = geom.extent
    if not (-180 <= xmin <= xmax <= 180 and -90 <= ymin <= ymax <= 90):
        raise RowError(f"coordenadas fuera de rango ({xmin:.6f}, {ymin:.6f})")
    if expected != "Point":
        distinct = {c for c in coords}
        if len(distinct) < 2:
            raise RowError("geometría inválida: línea de un solo punto (longitud cero)")
    if not geom.valid:
        raise RowError(f"geometría inválida ({geom.valid_reason})")
    return geom


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")


def _single(geom: GEOSGeometry, expected: str) -> GEOSGeometry:
    parts = list(geom)
    if len(parts) == 1:
        single = parts[0]
    elif expected == "LineString":
        merged = geom.merged  # ST_LineMerge: parts that touch end to end become one line
        if merged.geom_type != "LineString":
            raise RowError(f"MultiLineString de {len(parts)} partes que no forman una línea")
        single = merged
    else:
        raise RowError(f"MultiPoint de {len(parts)} puntos")
    single.srid = SRID
    return single


def _moved(geom: GEOSGeometry, translate: Callable) -> GEOSGeometry:
    if geom.geom_type == "Point":
        (lon,), (lat,) = translate([geom.x], [geom.y])
        return Point(lon, lat, srid=SRID)
    xs, ys = zip(*geom.coords, strict=True)
    lons, lats = translate(xs, ys)
    return LineString(list(zip(lons, lats, strict=True)), srid=SRID)


def _values(
    entity: EntityMapping, row: dict[str, Any], model_fields: dict[str, models.Field]
) -> tuple[dict[str, Any], dict[str, Any]]:
    values: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for name, spec in entity.fields.items():
        try:
            value = spec.value(row)
            if name in entity.target.extra:
                extra[name] = value if spec.ref is None else key_text(value)
                continue
            if value is None and (entity.name, name) == ("spans", "length_m"):
                values[name] = None  # measured from the trace later, with a warning
                continue
            values[name] = coerce(spec, model_fields[name], value)
        except RowError as exc:
            exc.field = name
            raise
    return values, extra


def coerce(spec: FieldSpec, model_field: models.Field, value: Any) -> Any:
    """A mapped value as the model field stores it; RowError when it does not fit."""
    label = f"{spec.target} ({spec.describe()})"
    if spec.ref is not None:
        return key_text(value)  # resolved later against the referenced section
    if value is None:
        if model_field.null:
            return None
        if isinstance(model_field, models.CharField) and model_field.blank:
            return ""
        raise RowError(f"falta {label}")
    if isinstance(model_field, models.ForeignKey):  # vnr, comuna: codes resolved later
        return str(normalize(value))
    if isinstance(model_field, models.DecimalField):
        try:
            number = Decimal(repr(float(_plain_number(value, label))))
        except (InvalidOperation, ValueError):
            raise RowError(f"{label}: {value!r} no es un número") from None
        quantum = Decimal(1).scaleb(-model_field.decimal_places)
        number = number.quantize(quantum, rounding=ROUND_HALF_UP)
        if len(number.as_tuple().digits) > model_field.max_digits:
            raise RowError(f"{label}: {number} fuera de rango")
        return number
    if isinstance(model_field, models.BooleanField):
        key = key_text(value)
        if key not in ("1", "0"):
            raise RowError(f"{label}: {value!r} no es verdadero/falso")
        return key == "1"
    if isinstance(model_field, models.IntegerField):
        number = round(_plain_number(value, label))
        positive = models.PositiveIntegerField | models.PositiveSmallIntegerField
        if isinstance(model_field, positive) and number < 0:
            raise RowError(f"{label}: {number} es negativo")
        return int(number)
    if isinstance(model_field, models.CharField):
        text = str(normalize(value))
        if model_field.choices:
            allowed = [str(choice) for choice, _ in model_field.flatchoices]
            if text not in allowed:
                raise RowError(f"{label}: {text!r} no es una opción ({', '.join(allowed)})")
        if len(text) > model_field.max_length:
            raise RowError(f"{label}: más de {model_field.max_length} caracteres ({text!r})")
        return text
    return value


def _plain_number(value: Any, label: str) -> float:
    if isinstance(value, bool):
        raise RowError(f"{label}: {value!r} no es un número")
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip().replace(",", "."))
    except ValueError:
        raise RowError(f"{label}: {value!r} no es un número") from None


def moved_function(translation: Translation | None) -> Callable | None:
    return None if translation is None else translation.function()
