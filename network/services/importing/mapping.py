"""The column-mapping file of `import_network` (TOML): which layer feeds which model, how.

The format is documented in docs/import_network.md. Everything here is checked before a file
is opened, so a mistake in the mapping is a fatal error naming the mapping and the key. The
checked mapping is made of `spec`; `targets` names the models it feeds, `values` how it takes
a value, `translation` its `[translate]`.
"""

from __future__ import annotations

import dataclasses
import tomllib
from datetime import date
from pathlib import Path
from typing import Any

from django.db import models

from .report import NetworkImportError
from .spec import (
    MISSING,
    DerivedFeeders,
    DistributorSpec,
    EntityMapping,
    FieldSpec,
    Mapping,
    Tolerances,
)
from .targets import ORDER, TARGETS, Target
from .translation import Translation
from .values import Expression, RowError, fill, key_text, normalize, template_names

# The rest of the importer reads the mapping's parts from here, wherever they live.
__all__ = [
    "ORDER",
    "TARGETS",
    "DerivedFeeders",
    "DistributorSpec",
    "EntityMapping",
    "Expression",
    "FieldSpec",
    "Mapping",
    "RowError",
    "Target",
    "Tolerances",
    "Translation",
    "fill",
    "key_text",
    "load_mapping",
    "normalize",
    "template_names",
]

# Set by the importer, never mapped.
_IMPLICIT = {"id", "as_of", "distributor", "outline"}
# Not supported yet: sub-feeders need their purchase pole before their own poles exist.
_UNSUPPORTED = {"owner", "purchase_node"}
_SPEC_KEYS = {"column", "expr", "template", "constant", "map", "default", "ref", "fallback"}


def _fatal(mapping: Path, message: str) -> NetworkImportError:
    return NetworkImportError(f"{mapping.name}: {message}")


def load_mapping(
    path: Path, source: Path | None = None, files: dict[str, Path] | None = None
) -> Mapping:
    """Read and check a mapping file; relative file names resolve against `source`.

    Without `source` they resolve against the mapping's `source_dir` (itself relative to the
    mapping file) or, failing that, the mapping file's own directory. `files` replaces the file
    of single sections (entity -> path), as `--file` does on the command line.
    """
    path = Path(path)
    if not path.is_file():
        raise NetworkImportError(f"{path}: el archivo de mapeo no existe")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise _fatal(path, f"TOML inválido ({exc})") from exc
    files = dict(files or {})

    known = {"network", "distributor", "translate", "tolerances", *ORDER}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise _fatal(path, f"secciones desconocidas: {', '.join(unknown)}")
    network = _table(path, raw, "network")
    base = _source_dir(path, network, source)
    distributor = _distributor(path, raw)

    derived = None
    feeders_raw = raw.get("feeders")
    if isinstance(feeders_raw, dict) and feeders_raw.get("derive") is not None:
        derived = _derived_feeders(path, feeders_raw)
    entities: dict[str, EntityMapping] = {}
    for name in ORDER:
        if name not in raw or (name == "feeders" and derived is not None):
            continue
        entities[name] = _entity(path, name, _table(path, raw, name), base, files.pop(name, None))
    if files:
        raise _fatal(path, f"--file para secciones que no están: {', '.join(sorted(files))}")
    for required in ("substations", "poles", "spans"):
        if required not in entities:
            raise _fatal(path, f"falta la sección [{required}]")
    if derived is None and "feeders" not in entities:
        raise _fatal(path, 'falta [feeders]: con derive = "topology" o con un archivo')
    _check_references(path, entities, derived)

    as_of = network.get("as_of")
    if as_of is not None and not isinstance(as_of, date):
        raise _fatal(path, "[network] as_of debe ser una fecha (2024-05-31)")
    return Mapping(
        path=path,
        name=str(network.get("name") or path.stem),
        distributor=distributor,
        entities=entities,
        derived_feeders=derived,
        translation=_translation(path, raw.get("translate")),
        tolerances=_tolerances(path, raw.get("tolerances")),
        as_of=as_of,
    )


def _table(path: Path, raw: dict, name: str) -> dict:
    value = raw.get(name, {})
    if not isinstance(value, dict):
        raise _fatal(path, f"[{name}] debe ser una tabla")
    return value


def _source_dir(path: Path, network: dict, source: Path | None) -> Path:
    if source is not None:
        base = Path(source)
    elif network.get("source_dir"):
        base = path.parent / str(network["source_dir"])
    else:
        base = path.parent
    return base


def _distributor(path: Path, raw: dict) -> DistributorSpec:
    table = _table(path, raw, "distributor")
    code, name = table.get("code"), table.get("name")
    if not code or not name:
        raise _fatal(path, "[distributor] necesita code y name")
    if len(str(code)) > 20:
        raise _fatal(path, "[distributor] code tiene más de 20 caracteres")
    return DistributorSpec(str(code), str(name), str(table.get("rut", "")))


def _translation(path: Path, raw: Any) -> Translation | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise _fatal(path, "[translate] debe ser una tabla")

    def pair(key: str) -> tuple[float, float]:
        value = raw.get(key)
        ok = isinstance(value, list) and len(value) == 2
        if not ok or not all(isinstance(v, int | float) for v in value):
            raise _fatal(path, f"[translate] {key} debe ser [lon, lat]")
        lon, lat = float(value[0]), float(value[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise _fatal(path, f"[translate] {key} fuera de rango: [{lon}, {lat}]")
        return lon, lat

    extra = set(raw) - {"from", "to", "rotate_deg"}
    if extra:
        raise _fatal(path, f"[translate] claves desconocidas: {', '.join(sorted(extra))}")
    rotate = raw.get("rotate_deg", 0.0)
    if not isinstance(rotate, int | float):
        raise _fatal(path, "[translate] rotate_deg debe ser un número")
    return Translation(pair("from"), pair("to"), float(rotate))


def _tolerances(path: Path, raw: Any) -> Tolerances:
    if raw is None:
        return Tolerances()
    if not isinstance(raw, dict):
        raise _fatal(path, "[tolerances] debe ser una tabla")
    names = {f.name for f in dataclasses.fields(Tolerances)}
    extra = set(raw) - names
    if extra:
        raise _fatal(path, f"[tolerances] claves desconocidas: {', '.join(sorted(extra))}")
    values = {}
    for key, value in raw.items():
        if not isinstance(value, int | float) or value < 0:
            raise _fatal(path, f"[tolerances] {key} debe ser un número positivo")
        values[key] = float(value)
    return Tolerances(**values)


def _derived_feeders(path: Path, raw: dict) -> DerivedFeeders:
    if raw.get("derive") != "topology":
        raise _fatal(path, '[feeders] derive sólo admite "topology"')
    extra = set(raw) - {"derive", "code", "name", "open_mode", "short_circuit_kva"}
    if extra:
        raise _fatal(
            path,
            f"[feeders] con derive no admite {', '.join(sorted(extra))} (no se lee un archivo)",
        )
    defaults = DerivedFeeders()
    for key in ("code", "name"):
        try:
            names = template_names(str(raw.get(key, getattr(defaults, key))))
        except ValueError as exc:
            raise _fatal(path, f"[feeders] {key}: {exc}") from None
        unknown = set(names) - {"substation", "substation_name", "head", "n"}
        if unknown:
            raise _fatal(
                path,
                f"[feeders] {key}: {{{sorted(unknown)[0]}}} no existe; use {{substation}}, "
                "{substation_name}, {head} o {n}",
            )
    scc = raw.get("short_circuit_kva")
    if scc is not None and (not isinstance(scc, int | float) or scc <= 0):
        raise _fatal(path, "[feeders] short_circuit_kva debe ser un número positivo")
    return DerivedFeeders(
        code=str(raw.get("code", defaults.code)),
        name=str(raw.get("name", defaults.name)),
        open_mode=str(raw.get("open_mode", defaults.open_mode)),
        short_circuit_kva=None if scc is None else int(scc),
    )


def _entity(path: Path, name: str, raw: dict, base: Path, override: Path | None) -> EntityMapping:
    section = f"[{name}]"
    extra = set(raw) - {"file", "layer", "crs", "id", "where", "fields"}
    if extra:
        raise _fatal(path, f"{section}: claves desconocidas: {', '.join(sorted(extra))}")
    if override is None and not raw.get("file"):
        raise _fatal(path, f"{section}: falta file")
    if not raw.get("id") or not isinstance(raw.get("id"), str):
        raise _fatal(path, f"{section}: falta id (la columna que identifica cada fila)")
    where_raw = raw.get("where", {})
    if not isinstance(where_raw, dict):
        raise _fatal(path, f"{section}: where debe ser una tabla columna = valor(es)")
    where = {
        str(column): tuple(value if isinstance(value, list) else [value])
        for column, value in where_raw.items()
    }
    for column, values in where.items():
        if not values or not all(isinstance(v, str | int | float | bool) for v in values):
            raise _fatal(path, f"{section}: where {column} debe ser un valor o una lista")
    fields_raw = raw.get("fields", {})
    if not isinstance(fields_raw, dict):
        raise _fatal(path, f"{section}: fields debe ser una tabla")
    target = TARGETS[name]
    fields = {}
    for field_name, spec in fields_raw.items():
        fields[field_name] = _field_spec(path, name, target, field_name, spec)
    _check_required(path, name, target, fields)
    file_path = override if override is not None else base / str(raw["file"])
    return EntityMapping(
        name=name,
        path=Path(file_path),
        layer=raw.get("layer"),
        crs=raw.get("crs"),
        id_column=raw["id"],
        where=where,
        fields=fields,
    )


def _model_field(target: Target, name: str) -> models.Field | None:
    try:
        return target.model._meta.get_field(name)
    except Exception:  # FieldDoesNotExist, but also reverse relations
        return None


def _field_spec(path: Path, entity: str, target: Target, name: str, raw: Any) -> FieldSpec:
    where = f"[{entity}.fields] {name}"
    model_field = _model_field(target, name)
    if name in _UNSUPPORTED:
        raise _fatal(path, f"{where}: no soportado por el importador (subalimentadores)")
    concrete = model_field is not None and model_field.concrete and not model_field.auto_created
    if name in _IMPLICIT or name == target.geometry or (not concrete and name not in target.extra):
        raise _fatal(path, f"{where}: {target.model.__name__} no tiene un campo importable así")
    if isinstance(raw, str):
        raw = {"column": raw}
    elif not isinstance(raw, dict):
        raw = {"constant": raw}
    extra = set(raw) - _SPEC_KEYS
    if extra:
        raise _fatal(path, f"{where}: claves desconocidas: {', '.join(sorted(extra))}")
    sources = [k for k in ("column", "expr", "template", "constant") if k in raw]
    if len(sources) != 1:
        raise _fatal(path, f"{where}: indique una (y sólo una) de column, expr, template, constant")
    try:
        expr = Expression.parse(str(raw["expr"])) if "expr" in raw else None
        template = str(raw["template"]) if "template" in raw else None
        if template is not None:
            template_names(template)
    except ValueError as exc:
        raise _fatal(path, f"{where}: {exc}") from None
    value_map = raw.get("map")
    if value_map is not None:
        if not isinstance(value_map, dict) or not value_map:
            raise _fatal(path, f"{where}: map debe ser una tabla valor = resultado")
        value_map = {key_text(k): v for k, v in value_map.items()}
    ref = raw.get("ref")
    if ref is not None and target.refs.get(name) != ref:
        expected = target.refs.get(name)
        hint = f"debe ser {expected!r}" if expected else "este campo no referencia otra sección"
        raise _fatal(path, f"{where}: ref {ref!r} inválido, {hint}")
    if name in target.refs and ref is None:
        raise _fatal(path, f'{where}: falta ref = "{target.refs[name]}"')
    fallback = raw.get("fallback")
    if fallback is not None and name != "vnr":
        raise _fatal(path, f"{where}: fallback sólo vale para vnr")
    return FieldSpec(
        target=name,
        column=raw.get("column"),
        expr=expr,
        template=template,
        constant=raw.get("constant", MISSING),
        value_map=value_map,
        default=raw.get("default", MISSING),
        ref=ref,
        fallback=None if fallback is None else str(fallback),
    )


def _check_required(path: Path, entity: str, target: Target, fields: dict) -> None:
    optional = {"feeder", "comuna"}  # derived from the topology / located from the geometry
    for model_field in target.model._meta.concrete_fields:
        name = model_field.name
        if name in fields or name in _IMPLICIT or name in _UNSUPPORTED or name in optional:
            continue
        if name == target.geometry:
            continue
        if model_field.null or model_field.has_default() or getattr(model_field, "blank", False):
            continue
        raise _fatal(path, f"[{entity}.fields] falta {name} ({model_field.verbose_name})")


def _check_references(
    path: Path, entities: dict[str, EntityMapping], derived: DerivedFeeders | None
) -> None:
    for entity in entities.values():
        for spec in entity.fields.values():
            if spec.ref == "feeders" and derived is not None:
                raise _fatal(
                    path,
                    f"[{entity.name}.fields] feeder: los alimentadores se derivan de la "
                    "topología; quite este campo o quite derive de [feeders]",
                )
            if spec.ref and spec.ref not in entities and spec.ref != "feeders":
                raise _fatal(path, f"[{entity.name}.fields] {spec.target}: falta [{spec.ref}]")
        hangs = entity.name in ("poles", "spans", "equipment", "transformers")
        if derived is None and hangs and "feeder" not in entity.fields:
            raise _fatal(path, f'[{entity.name}.fields] falta feeder (ref = "feeders")')
    if "busbar" not in entities["substations"].fields and derived is not None:
        raise _fatal(
            path,
            "[substations.fields] falta busbar: la columna con el nodo de la barra MT, de "
            "donde salen los alimentadores",
        )
