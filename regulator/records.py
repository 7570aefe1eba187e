"""The record types SEC receives (annex §6): one per entity, streamed as plain JSON dicts.

A record is what the site shows of one row, flat: references to other rows are their codes
(the feeder's code, the pole's plate, the VNR code, the comuna's CUT code), never nested
objects, so that a record means the same thing in SEC's mirror as here. Every record also
carries the row's `id`. The conventions (docs/regulator_contract.md):

- geometries are GeoJSON in WGS84 (EPSG:4326), coordinates rounded to 7 decimals (~1 cm);
- decimals are JSON numbers (integral values as integers), never strings;
- dates are ISO 8601 (`2026-01-01`), instants ISO 8601 in UTC (`2026-01-01T03:00:00+00:00`);
- derived values the site computes on the fly (UTM coordinates, the región of a comuna, a
  feeder's generalised outline) are not sent: SEC derives them from what is.

The key of a record is its row's id, `{"id": 123}`: the primary key, which never changes for
the life of the row, so a delete, a renamed code or a row moved to another feeder or
distributor is still the same key in SEC's mirror (docs/regulator_contract.md says why). The
natural codes travel in the record.

Streams read through `values()` and `.iterator(chunk_size=...)`: memory stays flat whatever
the table's size, and geometries are written as GeoJSON by PostGIS.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from django.contrib.gis.db.models import GeometryField
from django.contrib.gis.db.models.functions import AsGeoJSON
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from capacity.models import ConnectionRequest
from demand.models import MonthlyDemand
from metering.models import (
    BillingDocument,
    EgContract,
    MonthlyBill,
    RegisterRead,
    RemanenteMovement,
)
from network.models import (
    ConductorType,
    Customer,
    Distributor,
    Equipment,
    EquipmentSetting,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
    Transformer,
)
from vnr.models import COST_FIELDS, VnrCode

COORDINATE_DECIMALS = 7
CHUNK_SIZE = 2000

Record = dict[str, Any]


@dataclass(frozen=True)
class Column:
    """One field of a record: its name in the contract and where `values()` reads it.

    `path` is a lookup from the entity's model (`feeder__code`); `expression` replaces it
    when the value needs SQL (a coalesce); `schema` overrides the JSON Schema derived from
    the model field at the end of `path`."""

    name: str
    path: str
    expression: Any = None
    schema: dict | None = None


def col(spec: str, expression: Any = None, schema: dict | None = None) -> Column:
    """`"name"` (a field of the model) or `"name=path__to__field"`."""
    name, _, path = spec.partition("=")
    return Column(name, path or name, expression, schema)


@dataclass(frozen=True)
class RecordType:
    """One entity SEC receives: its contract name, its model, its fields and its key."""

    entity: str
    model: type[models.Model]
    label: str
    columns: tuple[Column, ...]
    where: Q | None = None
    derived: tuple[tuple[str, Callable[[Record], Any], dict], ...] = field(default=())

    @property
    def field_names(self) -> tuple[str, ...]:
        names = [c.name for c in self.columns]
        position = names.index("as_of") if "as_of" in names else len(names)
        for name, _fn, _schema in self.derived:
            names.insert(position, name)
            position += 1
        return tuple(names)

    def base_queryset(self) -> models.QuerySet:
        """The rows SEC receives (all of them but for `where`), in id order."""
        rows = self.model._default_manager.all()
        if self.where is not None:
            rows = rows.filter(self.where)
        return rows.order_by("pk")

    def values(self, rows: models.QuerySet | None = None) -> models.QuerySet:
        """`rows` (by default `base_queryset()`) as the `values()` the records are made of."""
        rows = self.base_queryset() if rows is None else rows
        plain, expressions = [], {}
        for column in self.columns:
            alias = self._alias(column)
            if column.expression is not None:
                expressions[alias] = column.expression
            elif self._is_geometry(column):
                expressions[alias] = AsGeoJSON(column.path, precision=COORDINATE_DECIMALS)
            elif alias == column.path:
                plain.append(column.path)
            else:
                expressions[alias] = F(column.path)
        return rows.values(*plain, **expressions)

    def records(
        self, rows: models.QuerySet | None = None, chunk_size: int = CHUNK_SIZE
    ) -> Iterator[Record]:
        """Stream the records of `rows` (by default every row SEC receives), flat memory."""
        for row in self.values(rows).iterator(chunk_size=chunk_size):
            yield self.to_record(row)

    @cached_property
    def _plan(self) -> tuple[tuple[str, str, bool], ...]:
        return tuple((c.name, self._alias(c), self._is_geometry(c)) for c in self.columns)

    def to_record(self, row: dict) -> Record:
        record = {name: _plain(row[alias], geometry=geom) for name, alias, geom in self._plan}
        for name, fn, _schema in self.derived:
            record[name] = fn(record)
        return {name: record[name] for name in self.field_names}

    def key(self, record: Record) -> dict[str, Any]:
        return {"id": record["id"]}

    def model_field(self, column: Column) -> models.Field:
        model, parts = self.model, column.path.split("__")
        for part in parts[:-1]:
            model = model._meta.get_field(part).related_model
        return model._meta.get_field(parts[-1])

    def _alias(self, column: Column) -> str:
        # values() may not give an expression a model field's name ("distributor" is the
        # foreign key; its code is read under an alias and renamed in Python).
        plain = column.expression is None and "__" not in column.path
        if plain and not self._is_geometry(column):
            return column.path
        return f"c_{column.name}"

    def _is_geometry(self, column: Column) -> bool:
        return column.expression is None and isinstance(self.model_field(column), GeometryField)


def _plain(value: Any, geometry: bool = False) -> Any:
    """A value `values()` read, as JSON: numbers, ISO 8601 strings, GeoJSON objects."""
    if value is None:
        return None
    if geometry:
        return json.loads(value)
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


DISTRIBUTOR = col("distributor=distributor__code")
AS_OF = col("as_of")

_CATEGORIES = sorted({str(c) for c in Equipment.CATEGORY_OF.values()})

RECORD_TYPES: tuple[RecordType, ...] = (
    RecordType(
        "distribuidoras",
        Distributor,
        "Empresas distribuidoras",
        (col("id"), col("code"), col("name"), col("rut"), col("synthetic"), AS_OF),
    ),
    RecordType(
        "subestaciones",
        Substation,
        "Subestaciones",
        (
            col("id"),
            DISTRIBUTOR,
            col("code"),
            col("name"),
            col("comuna=comuna__code"),
            col("high_voltage_kv"),
            col("scc_max_mva"),
            col("scc_min_mva"),
            col("scc_rx"),
            col("scc_x0x1"),
            col("scc_r0x0"),
            AS_OF,
            col("location"),
        ),
    ),  # fmt: skip
    RecordType(
        "transformadores_poder",
        PowerTransformer,
        "Transformadores de poder AT/MT",
        (
            col("id"),
            col("distributor=substation__distributor__code"),
            col("substation=substation__code"),
            col("code"),
            col("name"),
            col("capacity_mva"),
            col("primary_kv"),
            col("secondary_kv"),
            AS_OF,
        ),
    ),  # fmt: skip
    RecordType(
        "alimentadores",
        Feeder,
        "Alimentadores",
        (
            col("id"),
            DISTRIBUTOR,
            col("code"),
            col("name"),
            col("kind"),
            col("substation=substation__code"),
            col("owner=owner__code"),
            col("purchase_node=purchase_node__plate"),
            col("nominal_voltage_kv"),
            col("capacity_a"),
            col("power_kva"),
            col("short_circuit_kva"),
            AS_OF,
        ),
    ),  # fmt: skip
    RecordType(
        "postes",
        Pole,
        "Postes",
        (
            col("id"),
            DISTRIBUTOR,
            col("plate"),
            col("feeder=feeder__code"),
            col("mt_voltage_kv"),
            col("bt_voltage_v"),
            col("material"),
            col("height_m"),
            col("vnr=vnr__code"),
            AS_OF,
            col("location"),
        ),
    ),  # fmt: skip
    RecordType(
        "tipos_conductor",
        ConductorType,
        "Tipos de conductor (catálogo)",
        (
            col("id"),
            col("code"),
            col("name"),
            col("material"),
            col("section_mm2"),
            col("insulation"),
            col("r20_ohm_km"),
            col("operating_temp_c"),
            col("r_op_ohm_km"),
            col("x_ohm_km"),
            col("r0_ohm_km"),
            col("x0_ohm_km"),
            col("ampacity_a"),
            AS_OF,
        ),
    ),  # fmt: skip
    RecordType(
        "vanos",
        Span,
        "Vanos",
        (
            col("id"),
            DISTRIBUTOR,
            col("code"),
            col("feeder=feeder__code"),
            col("from_pole=from_pole__plate"),
            col("to_pole=to_pole__plate"),
            col("length_m"),
            col("conductor_material"),
            col("conductor_insulation"),
            col("conductor_type=conductor_type__code"),
            col("capacity_a"),
            col("phases"),
            col("vnr=vnr__code"),
            AS_OF,
            col("geom"),
        ),
    ),  # fmt: skip
    RecordType(
        "equipos",
        Equipment,
        "Equipos",
        (
            col("id"),
            DISTRIBUTOR,
            col("code"),
            col("kind"),
            col("feeder=feeder__code"),
            col("pole=pole__plate"),
            col("span=span__code"),
            col("capacity_a"),
            col("capacity_kva"),
            col("connection"),
            col("operating_mode"),
            col("voltage_setpoints"),
            col("transformation_ratio"),
            col("vnr=vnr__code"),
            AS_OF,
            col("location"),
        ),
        derived=(
            (
                "category",
                lambda r: str(Equipment.CATEGORY_OF[Equipment.Kind(r["kind"])]),
                {"type": "string", "enum": _CATEGORIES},
            ),
        ),
    ),  # fmt: skip
    RecordType(
        "ajustes_equipos",
        EquipmentSetting,
        "Ajustes mensuales de equipos",
        (
            col("id"),
            col("distributor=equipment__distributor__code"),
            col("equipment=equipment__code"),
            col("month"),
            col("capacity_a"),
            col("capacity_kva"),
            col("connection"),
            col("operating_mode"),
            col("voltage_setpoints"),
            col("transformation_ratio"),
            AS_OF,
        ),
    ),  # fmt: skip
    RecordType(
        "transformadores_distribucion",
        Transformer,
        "Transformadores de distribución",
        (
            col("id"),
            DISTRIBUTOR,
            col("code"),
            col("plate"),
            col("name"),
            col("feeder=feeder__code"),
            col("pole=pole__plate"),
            col("capacity_kva"),
            col("connection"),
            col("vector_group"),
            col("vk_percent"),
            col("primary_kv"),
            col("secondary_v"),
            col("kind"),
            col("phases"),
            col("smmc"),
            col("vnr=vnr__code"),
            AS_OF,
            col("location"),
        ),
    ),  # fmt: skip
    RecordType(
        "clientes",
        Customer,
        "Clientes",
        (
            col("id"),
            DISTRIBUTOR,
            col("number"),
            col("rut"),
            col("name"),
            col("email"),
            col("phone"),
            col("address"),
            col("comuna=comuna__code"),
            col("billing_day"),
            col("service_capacity_kw"),
            col("transformer=transformer__code"),
            col("is_eg"),
            col("eg_capacity_kw"),
            col("eg_technology"),
            col("eg_connected_on"),
            col("tariff"),
            AS_OF,
            col("location"),
        ),
    ),  # fmt: skip
    RecordType(
        "demandas_mensuales",
        MonthlyDemand,
        "Demandas mensuales",
        (
            col("id"),
            col(
                "distributor=feeder__distributor__code",
                Coalesce(F("feeder__distributor__code"), F("transformer__distributor__code")),
                {
                    "type": "string",
                    "maxLength": 20,
                    "description": "empresa distribuidora del alimentador o transformador",
                },
            ),
            col("feeder=feeder__code"),
            col("transformer=transformer__code"),
            col("month"),
            col("max_kw"),
            col("min_kw"),
            col("excludes_load_transfer"),
            col("computed"),
            AS_OF,
        ),
    ),  # fmt: skip
    RecordType(
        "codigos_vnr",
        VnrCode,
        "Códigos VNR",
        (col("id"), col("code"), col("description"), col("unit"), *map(col, COST_FIELDS), AS_OF),
    ),
    RecordType(
        "facturaciones_mensuales",
        MonthlyBill,
        "Facturaciones mensuales",
        (
            col("id"),
            col("distributor=customer__distributor__code"),
            col("customer=customer__number"),
            col("month"),
            col("consumption_kwh"),
            col("charges_clp"),
            col("injection_kwh"),
            col("injection_value_clp"),
            col("net_charge_clp"),
            col("meter"),
            col("read_from"),
            col("read_to"),
            col("consumption_start_kwh"),
            col("consumption_end_kwh"),
            col("injection_start_kwh"),
            col("injection_end_kwh"),
            AS_OF,
        ),
    ),  # fmt: skip
    RecordType(
        "documentos_facturacion",
        BillingDocument,
        "Documentos de facturación (metadatos)",
        (
            col("id"),
            DISTRIBUTOR,
            col("customer=customer__number"),
            col("kind"),
            col("folio"),
            col("issued_on"),
            col("period"),
            col("amount_clp"),
            col("pdf_sha256=pdf__sha256"),
            col("pdf_bytes=pdf__size"),
            AS_OF,
        ),
    ),  # fmt: skip
    RecordType(
        "movimientos_remanente",
        RemanenteMovement,
        "Movimientos de remanentes",
        (
            col("id"),
            DISTRIBUTOR,
            col("customer=customer__number"),
            col("external_id"),
            col("date"),
            col("kind"),
            col("amount_clp"),
            col("kwh"),
            col("balance_clp"),
            AS_OF,
        ),
    ),  # fmt: skip
    RecordType(
        "contratos_eg",
        EgContract,
        "Contratos de conexión EG",
        (
            col("id"),
            col("distributor=customer__distributor__code"),
            col("customer=customer__number"),
            col("number"),
            col("signed_on"),
            col("liquidation_form"),
            col("liquidation_date"),
            col("contract_pdf_sha256=contract_pdf__sha256"),
            col("protocol_pdf_sha256=protocol_pdf__sha256"),
            col("study_pdf_sha256=study_pdf__sha256"),
            AS_OF,
        ),
    ),  # fmt: skip
    RecordType(
        "lecturas_registro",
        RegisterRead,
        "Lecturas de registro de medidores de clientes",
        (
            col("id"),
            col("distributor=meter__customer__distributor__code"),
            col("customer=meter__customer__number"),
            col("meter=meter__serial"),
            col("obis=obis__code"),
            col("ts"),
            col("value"),
            col("quality"),
        ),
        # What §5 VIII shows: the reads of customers' meters (totalizers and feeder heads
        # reach SEC as monthly demands).
        where=Q(meter__kind="customer", meter__customer__isnull=False),
    ),  # fmt: skip
    RecordType(
        "solicitudes_conexion",
        ConnectionRequest,
        "Solicitudes de conexión (cola PMGD)",
        (
            col("id"),
            DISTRIBUTOR,
            col("public_id"),
            col("state"),
            col("submitted_on"),
            col("mw"),
            col("pole=pole__plate"),
            col("feeder=feeder__code"),
            col("technology"),
            AS_OF,
        ),
    ),  # fmt: skip
)

BY_ENTITY: dict[str, RecordType] = {rt.entity: rt for rt in RECORD_TYPES}
ENTITIES: tuple[str, ...] = tuple(BY_ENTITY)


def record_type(entity: str) -> RecordType:
    try:
        return BY_ENTITY[entity]
    except KeyError:
        raise KeyError(f"entidad desconocida: {entity!r} (son {', '.join(ENTITIES)})") from None


def for_model(model: type[models.Model]) -> RecordType | None:
    """The record type of a model (capture and cut map a changed table to its entity)."""
    return next((rt for rt in RECORD_TYPES if rt.model is model), None)


def stream(entity: str, rows: Iterable | None = None, chunk_size: int = CHUNK_SIZE):
    """The records of one entity (all of them, or those of the queryset `rows`)."""
    return record_type(entity).records(rows, chunk_size=chunk_size)
