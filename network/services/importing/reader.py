"""Reading one mapped layer with GDAL: GeoJSON, GeoPackage, Shapefile, KML/KMZ, CSV.

Fatal problems (file, layer, column, CRS, a layer of the wrong geometry type) raise
NetworkImportError before anything is written; a feature that cannot be taken becomes an
error Problem naming file, feature and reason, and the rest of the layer is read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.contrib.gis.gdal import CoordTransform, DataSource, GDALException, SpatialReference
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
from .report import ERROR, INFO, EntityCounts, NetworkImportError, Problem

SRID = 4326
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

    def problem(
        self, check: str, reason: str, outcome: str = "omitida", severity: str = ERROR
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
        )

    @property
    def key_field(self) -> str:
        return TARGETS[self.entity].key


@dataclass
class LayerRows:
    rows: dict[str, SourceRow]  # by source id, in layer order
    filtered: set[str]  # ids left out by `where`
    dropped: dict[str, str]  # ids of skipped features -> reason


@contextmanager
def _gdal_errors() -> Iterator[list[str]]:
    """Collect what GDAL logs; GDAL reports an unknown GeoJSON CRS only that way."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("django.contrib.gis")
    handler = Collect(level=logging.DEBUG)
    level, propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield messages
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        logger.propagate = propagate


def _open(entity: EntityMapping) -> tuple[DataSource, Layer]:
    path = entity.path
    where = f"{path.name} ([{entity.name}])"
    if not path.exists():
        raise NetworkImportError(f"{path}: no existe ([{entity.name}])")
    with _gdal_errors() as messages:
        source, layers = None, []
        if path.suffix.lower() == ".kmz":
            # A KMZ zipped around one doc.kml keeps its attributes only when read as that
            # document; one written by LIBKML has an empty doc.kml and its data under layers/.
            try:
                source = DataSource(f"/vsizip/{path}/doc.kml")
                layers = list(source)
            except GDALException:
                source = None
            if source is not None and not _has_data(layers, entity.layer):
                source = None
        if source is None:
            try:
                source = DataSource(str(path))
            except GDALException:
                raise NetworkImportError(f"{where}: GDAL no puede leerlo") from None
            layers = list(source)
        layer = _choose_layer(entity, layers, where)
        layer.srs  # noqa: B018  (GDAL reports an unknown CRS while reading it)
    crs_errors = [m for m in messages if "crs" in m.lower() or "proj" in m.lower()]
    if crs_errors:
        raise NetworkImportError(
            f"{where}, capa {layer.name}: CRS desconocido ({crs_errors[0].strip()}); "
            "declare crs en el mapeo o corrija el archivo"
        )
    return source, layer


def _has_data(layers: list[Layer], name: str | None) -> bool:
    return any(len(layer) and (name is None or layer.name == name) for layer in layers)


def _choose_layer(entity: EntityMapping, layers: list[Layer], where: str) -> Layer:
    names = [layer.name for layer in layers]
    if entity.layer is not None:
        for layer in layers:
            if layer.name == entity.layer:
                return layer
        raise NetworkImportError(
            f"{where}: no hay capa {entity.layer!r}; capas: {', '.join(names)}"
        )
    if len(layers) == 1:
        return layers[0]
    non_empty = [layer for layer in layers if len(layer)]
    if len(non_empty) == 1:  # a KMZ's empty document layer next to its data
        return non_empty[0]
    raise NetworkImportError(
        f"{where}: tiene {len(layers)} capas ({', '.join(names)}); indique layer en el mapeo"
    )


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


def _transform(entity: EntityMapping, layer: Layer, driver: str) -> CoordTransform | None:
    where = f"{entity.path.name}, capa {layer.name}"
    srs = layer.srs
    if srs is None:
        if entity.crs:
            srs = _srs(entity.crs, where)
        elif driver in ("GeoJSON", "KML", "LIBKML"):
            return None  # WGS84 by definition of the format
        elif layer.geom_type.name == "None":
            return None
        else:
            raise NetworkImportError(
                f"{where}: CRS desconocido (el archivo no lo declara; un Shapefile necesita "
                "su .prj); declare crs en el mapeo"
            )
    elif entity.crs:
        srs = _srs(entity.crs, where)  # the mapping overrides a wrong declaration
    if srs.srid == SRID:
        return None
    try:
        return CoordTransform(srs, SpatialReference(SRID))
    except GDALException as exc:
        raise NetworkImportError(f"{where}: CRS desconocido ({srs.name}); no pasa a WGS84") from exc


def _srs(text: str, where: str) -> SpatialReference:
    try:
        with _gdal_errors():
            srs = SpatialReference(text)
        srs.srid  # noqa: B018  (forces PROJ to resolve it)
        return srs
    except (GDALException, ValueError, TypeError) as exc:
        raise NetworkImportError(f"{where}: CRS desconocido en el mapeo ({text!r})") from exc


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
) -> LayerRows:
    source_ds, layer = _open(entity)
    try:
        return _read(entity, source_ds, layer, counts, problems, translate, progress)
    except GDALException as exc:
        raise NetworkImportError(f"{entity.path.name}: error de GDAL al leer ({exc})") from exc


def _read(entity, source_ds, layer, counts, problems, translate, progress) -> LayerRows:
    columns = _columns(entity, layer)
    transform = _transform(entity, layer, source_ds.driver.name)
    _check_layer_type(entity, layer)
    target = entity.target
    model_fields = {
        name: target.model._meta.get_field(name)
        for name in entity.fields
        if name not in target.extra
    }
    label = entity.path.name
    result = LayerRows({}, set(), {})
    seen_at: dict[str, int] = {}
    right_type = wrong_type = 0

    def skip(feature: int, ident: str, check: str, reason: str) -> None:
        problem = Problem(entity.name, check, reason, "omitida", ERROR, label, feature, ident)
        problems.append(problem)
        if ident:
            result.dropped.setdefault(ident, reason)

    features = tqdm(layer, total=len(layer), desc=label, unit=" f", disable=not progress)
    with _gdal_errors():
        for index, feature in enumerate(features, start=1):
            counts.read += 1
            raw = {column: feature.get(name) for column, name in columns.items()}
            if any(key_text(raw[c]) not in accepted for c, accepted in entity.where.items()):
                counts.filtered += 1
                ident = key_text(raw[entity.id_column])
                if ident:
                    result.filtered.add(ident)
                continue
            ident = key_text(raw[entity.id_column])
            if ident is None:
                skip(index, "", "id", f"sin id (columna {entity.id_column} vacía)")
                continue
            if ident in seen_at:
                first = seen_at[ident]
                skip(index, ident, "duplicado", f"id repetido: ya está en la feature {first}")
                continue
            seen_at[ident] = index
            geom = None
            if target.geometry:
                try:
                    geom = _geometry(feature, target.geom_type, transform, translate)
                    right_type += 1
                except _WrongType as exc:
                    wrong_type += 1
                    skip(index, ident, "geometria", str(exc))
                    continue
                except RowError as exc:
                    skip(index, ident, "geometria", str(exc))
                    continue
            row = {column: normalize(value) for column, value in raw.items()}
            try:
                values, extra = _values(entity, row, model_fields)
            except RowError as exc:
                skip(index, ident, "valor", str(exc))
                continue
            result.rows[ident] = SourceRow(entity.name, label, index, ident, values, geom, extra)
    if target.geometry and wrong_type and not right_type:
        raise NetworkImportError(
            f"{label}, capa {layer.name}: ninguna feature es {target.geom_type}; "
            f"[{entity.name}] no puede leer esta capa"
        )
    if counts.filtered:
        conditions = ", ".join(
            f"{c} = {v[0]}" if len(v) == 1 else f"{c} en ({', '.join(map(str, v))})"
            for c, v in entity.where.items()
        )
        problems.append(
            Problem(
                entity.name,
                "filtro",
                f"{counts.filtered} de {counts.read} features no cumplen where ({conditions})",
                "no son de esta sección",
                INFO,
                label,
            )
        )
    return result


class _WrongType(RowError):
    pass


def _geometry(
    feature, expected: str, transform: CoordTransform | None, translate: Callable | None
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
    if transform is not None:
        try:
            ogr.transform(transform)
        except GDALException:
            raise RowError("no se puede transformar a WGS84") from None
    try:
        geom = ogr.geos
    except GEOSException:
        raise RowError("geometría ilegible") from None
    geom.srid = SRID
    if geom.geom_type.startswith("Multi"):
        geom = _single(geom, expected)
    if translate is not None:
        geom = _moved(geom, translate)
    coords = [geom.coords] if expected == "Point" else list(geom.coords)
    if any(not all(map(_finite, c)) for c in coords):
        raise RowError("coordenadas no numéricas")
    if expected == "Point":
        lon, lat = geom.coords
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise RowError(f"coordenadas fuera de rango ({lon:.6f}, {lat:.6f})")
    else:
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
        value = spec.value(row)
        if name in entity.target.extra:
            extra[name] = value if spec.ref is None else key_text(value)
            continue
        if value is None and (entity.name, name) == ("spans", "length_m"):
            values[name] = None  # measured from the trace later, with a warning
            continue
        values[name] = coerce(spec, model_fields[name], value)
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
