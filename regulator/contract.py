"""SEC's contract: the JSON Schemas of the records, the envelope and the batch manifest, and
how a line of a page is written (docs/regulator_contract.md).

The schemas are files in `regulator/schemas/` (what is published to SEC); they are generated
from the record types (`regulator.records`) by `manage.py export_regulator_schemas`, and a test
keeps the files and the generator equal, so that a model change shows up as a change of the
contract in review. Validators are Draft 2020-12, built once per schema.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any

from django.contrib.gis.db.models import GeometryField, LineStringField, PointField
from django.db import models
from jsonschema import Draft202012Validator

from regulator.records import ENTITIES, Column, Record, RecordType, record_type

# 1.1: tipos_conductor and solicitudes_conexion; the capacity data of spans (conductor type),
# equipment (the span it switches), transformers (vk, vector group) and substations (upstream
# short-circuit power). 1.2: the customers' tariff option (clientes.tariff).
CONTRACT_VERSION = "1.2"
SCHEMA_DIR = Path(__file__).parent / "schemas"
# The schemas' identifiers; once published they are served at
# /regulador/esquemas/v<major>/<file> on the portal's host (docs/regulator_contract.md).
SCHEMA_ID = "urn:cl:portal-red-distribucion:regulador:v1:{name}"
DRAFT = "https://json-schema.org/draft/2020-12/schema"

ENVELOPE = "envelope"
MANIFEST = "manifest"

OPS = ("insert", "update", "delete", "truncate")
MANIFEST_KINDS = ("inicial", "delta")
# Pages are gzip JSON Lines: one envelope per line, UTF-8, compact separators, at this level.
GZIP_LEVEL = 6

POSITIVE = (
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
)
SHA256 = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
DATE = {"type": "string", "format": "date", "pattern": r"^\d{4}-\d{2}-\d{2}$"}
DATETIME = {
    "type": "string",
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$",
}
POSITION = {
    "type": "array",
    "prefixItems": [
        {"type": "number", "minimum": -180, "maximum": 180},
        {"type": "number", "minimum": -90, "maximum": 90},
    ],
    "minItems": 2,
    "maxItems": 2,
}
GEOJSON = {
    PointField: {
        "type": "object",
        "description": "GeoJSON Point, WGS84 (EPSG:4326), 7 decimales.",
        "properties": {"type": {"const": "Point"}, "coordinates": POSITION},
        "required": ["type", "coordinates"],
        "additionalProperties": False,
    },
    LineStringField: {
        "type": "object",
        "description": "GeoJSON LineString, WGS84 (EPSG:4326), 7 decimales.",
        "properties": {
            "type": {"const": "LineString"},
            "coordinates": {"type": "array", "items": POSITION, "minItems": 2},
        },
        "required": ["type", "coordinates"],
        "additionalProperties": False,
    },
}


# --- Writing a line ----------------------------------------------------------------------------


def envelope(rt: RecordType, op: str, record: Record, version: int) -> dict[str, Any]:
    """One line of a page: the entity, the operation, the key, the version and (but for a
    delete, which carries only the key) the record."""
    line = {"entity": rt.entity, "op": op, "key": rt.key(record), "version": version}
    if op != "delete":
        line["record"] = record
    return line


def delete_envelope(entity: str, key: dict[str, Any], version: int) -> dict[str, Any]:
    return {"entity": entity, "op": "delete", "key": key, "version": version}


def truncate_envelope(entity: str, version: int) -> dict[str, Any]:
    """The entity was emptied (a TRUNCATE): the receiver deletes every record of it it holds
    with an older version; the lines after it in the batch are what the entity holds now."""
    return {"entity": entity, "op": "truncate", "version": version}


def dumps_line(line: dict[str, Any]) -> bytes:
    """The bytes of one JSON Lines line, as every page writes it."""
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


def gzip_size(lines: list[bytes]) -> int:
    return len(gzip.compress(b"".join(lines), compresslevel=GZIP_LEVEL, mtime=0))


# --- Building the schemas ----------------------------------------------------------------------


def _nullable(rt: RecordType, column: Column) -> bool:
    model, parts = rt.model, column.path.split("__")
    for part in parts[:-1]:
        relation = model._meta.get_field(part)
        if relation.null:
            return True
        model = relation.related_model
    return model._meta.get_field(parts[-1]).null


def field_schema(field: models.Field) -> dict[str, Any]:
    """The JSON Schema of one model field's value, as `records._plain` writes it."""
    if isinstance(field, GeometryField):
        return dict(GEOJSON[type(field)])
    if field.choices:
        values = [value for value, _label in field.flatchoices]
        if field.blank and "" not in values and isinstance(field, models.CharField):
            values.append("")
        schema: dict[str, Any] = {"enum": values}
    elif isinstance(field, models.BooleanField):
        schema = {"type": "boolean"}
    elif isinstance(field, models.DateTimeField):
        schema = dict(DATETIME)
    elif isinstance(field, models.DateField):
        schema = dict(DATE)
    elif isinstance(field, (models.DecimalField, models.FloatField)):
        schema = {"type": "number"}
    elif isinstance(field, (models.IntegerField, models.AutoField)):
        schema = {"type": "integer"}
        if isinstance(field, (*POSITIVE, models.AutoField)):
            schema["minimum"] = 0
    elif isinstance(field, models.CharField):
        schema = {"type": "string"}
        if field.max_length:
            schema["maxLength"] = field.max_length
    else:  # pragma: no cover - a new field type must be mapped before it joins the contract
        raise TypeError(f"sin esquema JSON para {field!r}")
    if field.verbose_name:
        schema["description"] = str(field.verbose_name)
    return schema


def _with_null(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema:
        return {**schema, "enum": [*schema["enum"], None]}
    if schema.get("type") == "object":
        return {"anyOf": [schema, {"type": "null"}]}
    return {**schema, "type": [schema["type"], "null"]}


def record_schema(rt: RecordType) -> dict[str, Any]:
    """The JSON Schema of one entity's records, with the key's schema in `$defs.key`."""
    properties: dict[str, Any] = {}
    for column in rt.columns:
        schema = dict(column.schema or field_schema(rt.model_field(column)))
        if column.schema is None and "__" in column.path and "description" in schema:
            relation = rt.model._meta.get_field(column.path.split("__")[0])
            schema["description"] = f"{relation.verbose_name}: {schema['description']}"
        nullable = column.expression is None and _nullable(rt, column)
        properties[column.name] = _with_null(schema) if nullable else schema
    for name, _fn, schema in rt.derived:
        properties[name] = schema
    ordered = {name: properties[name] for name in rt.field_names}
    key_properties = {"id": _not_null(ordered["id"])}
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID.format(name=rt.entity),
        "title": rt.label,
        "description": f"Registro «{rt.entity}» del contrato {CONTRACT_VERSION} con la SEC.",
        "type": "object",
        "properties": ordered,
        "required": list(ordered),
        "additionalProperties": False,
        "$defs": {
            "key": {
                "type": "object",
                "properties": key_properties,
                "required": list(key_properties),
                "additionalProperties": False,
            }
        },
    }


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    if isinstance(schema.get("type"), list):
        schema["type"] = next(t for t in schema["type"] if t != "null")
    schema.pop("description", None)
    return schema


def envelope_schema() -> dict[str, Any]:
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID.format(name=ENVELOPE),
        "title": "Línea de una página (sobre)",
        "description": "Cada línea de una página JSON Lines: la entidad, la operación, la clave, "
        "la versión y, en un alta o una modificación, el registro completo (validado por el "
        "esquema de su entidad). Una eliminación lleva sólo la clave; un vaciado (truncate), "
        "ni clave ni registro: el receptor borra todos los registros de la entidad con versión "
        "anterior.",
        "type": "object",
        "properties": {
            "entity": {"enum": list(ENTITIES)},
            "op": {"enum": list(OPS)},
            "key": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"type": ["string", "integer"]},
            },
            "version": {
                "type": "integer",
                "minimum": 0,
                "description": "El número del lote que trae el cambio: crece con cada cambio de "
                "la clave; el receptor aplica una línea sólo si su versión es mayor que la que "
                "tiene.",
            },
            "record": {"type": "object"},
        },
        "required": ["entity", "op", "version"],
        "additionalProperties": False,
        "allOf": [
            {
                "if": {"properties": {"op": {"const": "truncate"}}},
                "then": {"not": {"anyOf": [{"required": ["key"]}, {"required": ["record"]}]}},
            },
            {
                "if": {"properties": {"op": {"const": "delete"}}},
                "then": {"required": ["key"], "not": {"required": ["record"]}},
            },
            {
                "if": {"properties": {"op": {"enum": ["insert", "update"]}}},
                "then": {"required": ["key", "record"]},
            },
        ],
    }


def manifest_schema() -> dict[str, Any]:
    file_entry = {
        "file": {"type": "string", "pattern": r"^[a-z_]+-(\d{4,}|\d{4}-\d{2})\.(jsonl|csv)\.gz$"},
        "records": {"type": "integer", "minimum": 0},
        "bytes": {"type": "integer", "minimum": 0},
        "sha256": SHA256,
    }
    page = {
        "type": "object",
        "properties": file_entry,
        "required": list(file_entry),
        "additionalProperties": False,
    }
    count = {"type": "integer", "minimum": 0}
    entity = {
        "type": "object",
        "properties": {
            "pages": {"type": "array", "items": page},
            "records": count,
            "truncated": {
                "type": "boolean",
                "description": "La entidad se vació en este lote (una línea truncate).",
            },
            "inserted": count,
            "updated": count,
            "deleted": count,
        },
        "required": ["pages", "records", "truncated", "inserted", "updated", "deleted"],
        "additionalProperties": False,
    }
    partition_fields = {
        "partition": {"type": "string", "description": "Nombre de la partición mensual."},
        "month": {"type": "string", "pattern": r"^\d{4}-\d{2}$"},
        **file_entry,
    }
    partition = {
        "type": "object",
        "properties": partition_fields,
        "required": list(partition_fields),
        "additionalProperties": False,
    }
    return {
        "$schema": DRAFT,
        "$id": SCHEMA_ID.format(name=MANIFEST),
        "title": "Manifiesto de un lote",
        "description": "Un lote numerado e inmutable: sus páginas por entidad con conteos, "
        "tamaños y sha256, encadenado al manifiesto del lote anterior.",
        "type": "object",
        "properties": {
            "batch": {"type": "integer", "minimum": 0},
            "kind": {"enum": list(MANIFEST_KINDS)},
            "contract_version": {"type": "string", "pattern": r"^\d+\.\d+$"},
            "created_at": DATETIME,
            "previous_manifest_sha256": {
                "anyOf": [SHA256, {"type": "null"}],
                "description": "sha256 de los bytes del manifiesto del lote anterior; nulo "
                "sólo en el lote 0.",
            },
            "entities": {
                "type": "object",
                "propertyNames": {"enum": list(ENTITIES)},
                "additionalProperties": entity,
            },
            "interval_partitions": {
                "type": "array",
                "items": partition,
                "description": "Particiones mensuales del almacén de lecturas de 15 minutos, "
                "como archivos (no se capturan fila a fila).",
            },
        },
        "required": [
            "batch",
            "kind",
            "contract_version",
            "created_at",
            "previous_manifest_sha256",
            "entities",
            "interval_partitions",
        ],
        "additionalProperties": False,
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": "inicial"}}},
                "then": {"properties": {"batch": {"const": 0}}},
                "else": {"properties": {"batch": {"minimum": 1}}},
            },
            {
                "if": {"properties": {"batch": {"const": 0}}},
                "then": {"properties": {"previous_manifest_sha256": {"type": "null"}}},
                "else": {"properties": {"previous_manifest_sha256": SHA256}},
            },
        ],
    }


def generated_schemas() -> dict[str, dict[str, Any]]:
    """Every schema of the contract by file name, as the generator builds it."""
    schemas = {f"{e}.schema.json": record_schema(record_type(e)) for e in ENTITIES}
    schemas[f"{ENVELOPE}.schema.json"] = envelope_schema()
    schemas[f"{MANIFEST}.schema.json"] = manifest_schema()
    return schemas


def schema_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, ensure_ascii=False, indent=2) + "\n"


def write_schemas(directory: Path = SCHEMA_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in generated_schemas().items():
        path = directory / name
        path.write_text(schema_text(schema), encoding="utf-8")
        written.append(path)
    return written


# --- Reading and validating --------------------------------------------------------------------


@cache
def schema_for(entity: str) -> dict[str, Any]:
    """The published schema of `entity` (or of "envelope", "manifest"), read from its file."""
    if entity not in (*ENTITIES, ENVELOPE, MANIFEST):
        raise KeyError(f"sin esquema: {entity!r}")
    return json.loads((SCHEMA_DIR / f"{entity}.schema.json").read_text(encoding="utf-8"))


@cache
def validator_for(entity: str) -> Draft202012Validator:
    schema = schema_for(entity)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


@cache
def key_validator_for(entity: str) -> Draft202012Validator:
    return Draft202012Validator(schema_for(entity)["$defs"]["key"])


def validate(line: dict[str, Any]) -> None:
    """Raise `jsonschema.ValidationError` unless `line` is a valid envelope whose key and
    record are valid for its entity."""
    validator_for(ENVELOPE).validate(line)
    entity = line["entity"]
    if "key" in line:
        key_validator_for(entity).validate(line["key"])
    if "record" in line:
        validator_for(entity).validate(line["record"])


def validate_record(entity: str, record: Record) -> None:
    validator_for(entity).validate(record)


def validate_manifest(manifest: dict[str, Any]) -> None:
    validator_for(MANIFEST).validate(manifest)
