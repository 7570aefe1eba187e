"""The four files of a CIS export: their columns, row checks and how each is applied.

docs/import_billing.md is the operator's version of this module; keep the two in step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.months import month_start
from metering.models.billing import (
    BillingDocument,
    EgContract,
    RemanenteMovement,
    normalize_folio,
)

from . import pdfs
from .parse import parse_choice, parse_clp, parse_date, parse_kwh, parse_month, parse_text
from .stage import CUSTOMER_JOIN, TABLE, Stage, StageColumn


@dataclass
class Context:
    today: date
    as_of: date
    distributor: int
    pdfs: pdfs.PdfReader


Parser = Callable[[str, Context], Any]


@dataclass(frozen=True)
class Column:
    name: str  # the CSV header, also the staging column
    sql_type: str  # text, date, numeric, bigint; "pdf" stages name, hash, size and path
    parse: Parser
    required: bool = True  # must be in the header
    blank: bool = False  # an empty cell is allowed (no value)

    def staged(self) -> list[StageColumn]:
        if self.sql_type != "pdf":
            return [StageColumn(self.name, self.sql_type)]
        return [
            StageColumn(self.name, "text"),
            StageColumn(f"{self.name}__sha256", "text"),
            StageColumn(f"{self.name}__size", "bigint"),
            StageColumn(f"{self.name}__source", "text"),
        ]

    def cells(self, value: Any, raw: str) -> list[Any]:
        if self.sql_type != "pdf":
            return [value]
        if value is None:
            return [None, None, None, None]
        return [raw, value.sha256, value.size, value.source]


RowCheck = Callable[[dict[str, Any], Context], list[tuple[str, str]]]


@dataclass(frozen=True)
class FileSpec:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # what identifies a row within the file
    load: Callable[[Stage, Context], None]
    check: RowCheck | None = None

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def allowed(self) -> list[str]:
        return [c.name for c in self.columns]


# --- parsers with the run's context ---------------------------------------------------------


def text(max_length: int) -> Parser:
    return lambda value, ctx: parse_text(value, max_length)


def kwh(value: str, ctx: Context) -> Any:
    return parse_kwh(value)


def clp(value: str, ctx: Context) -> int:
    return parse_clp(value)


def clp_non_negative(value: str, ctx: Context) -> int:
    amount = parse_clp(value)
    if amount < 0:
        raise ValueError("no puede ser negativo")
    return amount


def any_date(value: str, ctx: Context) -> date:
    return parse_date(value)


def past_date(value: str, ctx: Context) -> date:
    day = parse_date(value)
    if day > ctx.today:
        raise ValueError("fecha futura")
    return day


def past_month(value: str, ctx: Context) -> date:
    month = parse_month(value)
    if month > month_start(ctx.today):
        raise ValueError("mes futuro")
    return month


def choice(choices: type) -> Parser:
    codes = dict(choices.choices)
    return lambda value, ctx: parse_choice(value, codes)


def folio(value: str, ctx: Context) -> str:
    return parse_text(normalize_folio(value), 20)


def pdf(value: str, ctx: Context) -> pdfs.PdfRef:
    return ctx.pdfs(value)


CUSTOMER = Column("cliente", "text", text(20))


# --- consumos.csv ---------------------------------------------------------------------------

READINGS = (
    ("lectura_consumo_inicial_kwh", "consumption_start_kwh"),
    ("lectura_consumo_final_kwh", "consumption_end_kwh"),
    ("lectura_inyeccion_inicial_kwh", "injection_start_kwh"),
    ("lectura_inyeccion_final_kwh", "injection_end_kwh"),
)
BILL_OPTIONAL = {
    "cargo_neto_clp": "net_charge_clp",
    "inyeccion_kwh": "injection_kwh",
    "valor_inyeccion_clp": "injection_value_clp",
    "lectura_desde": "read_from",
    "lectura_hasta": "read_to",
    **dict(READINGS),
}


def check_bill(row: dict[str, Any], ctx: Context) -> list[tuple[str, str]]:
    start, end = row.get("lectura_desde"), row.get("lectura_hasta")
    if start and end and start > end:
        return [("lectura_hasta", "anterior a lectura_desde")]
    if end and end > ctx.today:
        return [("lectura_hasta", "fecha futura")]
    return []


def load_bills(stage: Stage, ctx: Context) -> None:
    stage.reject_unknown_customers()
    stage.reject_repeated(["cliente", "mes"])
    values = {
        "customer_id": "c.id",
        "month": "s.mes",
        "consumption_kwh": "s.consumo_kwh",
        "charges_clp": "s.cargos_clp",
    }
    values |= {target: f"s.{name}" for name, target in BILL_OPTIONAL.items() if name in stage.names}
    update = [c for c in values if c not in ("customer_id", "month")]
    if "medidor" in stage.names:
        values["meter"] = "COALESCE(s.medidor, '')"
        update.append("meter")
    else:
        # NOT NULL is checked on the proposed row before the conflict: a new row needs a value.
        values["meter"] = "''"
    stage.upsert(
        "metering_monthlybill",
        ["customer_id", "month"],
        values,
        update=update,
        source=f"{TABLE} s {CUSTOMER_JOIN}",
    )


BILLS = FileSpec(
    name="consumos.csv",
    columns=(
        CUSTOMER,
        Column("mes", "date", past_month),
        Column("consumo_kwh", "numeric", kwh),
        Column("cargos_clp", "bigint", clp_non_negative),
        Column("cargo_neto_clp", "bigint", clp, required=False, blank=True),
        Column("inyeccion_kwh", "numeric", kwh, required=False, blank=True),
        Column("valor_inyeccion_clp", "bigint", clp_non_negative, required=False, blank=True),
        Column("medidor", "text", text(30), required=False, blank=True),
        Column("lectura_desde", "date", any_date, required=False, blank=True),
        Column("lectura_hasta", "date", any_date, required=False, blank=True),
        *(Column(name, "numeric", kwh, required=False, blank=True) for name, _ in READINGS),
    ),
    key=("cliente", "mes"),
    load=load_bills,
    check=check_bill,
)


# --- documentos.csv -------------------------------------------------------------------------


def check_document(row: dict[str, Any], ctx: Context) -> list[tuple[str, str]]:
    if row["periodo"] > month_start(row["fecha_emision"]):
        return [("periodo", "posterior al mes de emisión")]
    return []


def store_pdfs(stage: Stage, columns: list[str]) -> None:
    """Copy the accepted lines' PDFs into the store and register them; a file that changed
    since it was checked refuses its lines."""
    for column in columns:
        refs = stage.fetch(
            f"SELECT DISTINCT {column}__sha256, {column}__size, {column}__source FROM {TABLE} "
            f"WHERE {column}__sha256 IS NOT NULL"
        )
        changed = []
        for sha256, size, source in refs:
            try:
                pdfs.store(pdfs.PdfRef(sha256, size, source))
            except pdfs.PdfChanged:
                changed.append(source)
            except OSError as exc:
                raise OSError(f"no se pudo guardar el PDF {source}: {exc}") from exc
        if changed:
            stage.reject(
                f"SELECT line, %(column)s, {column}, 'el archivo cambió durante la importación' "
                f"FROM {TABLE} WHERE {column}__source = ANY(%(changed)s)",
                {"column": column, "changed": changed},
            )
        stage.execute(
            f"""
            INSERT INTO metering_billingpdf (as_of, sha256, size)
            SELECT DISTINCT %(as_of)s, {column}__sha256, {column}__size FROM {TABLE}
             WHERE {column}__sha256 IS NOT NULL
            ON CONFLICT (sha256) DO NOTHING
            """
        )


def load_documents(stage: Stage, ctx: Context) -> None:
    stage.reject_unknown_customers()
    stage.reject_repeated(["tipo", "folio"])
    # A folio moving to another customer would show one customer's invoice to another: the
    # operator decides (deleting the stored document in the admin), the import never does.
    stage.reject(
        f"""
        SELECT s.line, 'folio', s.folio,
               'el folio ya está registrado para el cliente ' || owner.number
          FROM {TABLE} s {CUSTOMER_JOIN}
          JOIN metering_billingdocument d
            ON d.distributor_id = %(distributor)s AND d.kind = s.tipo AND d.folio = s.folio
          JOIN network_customer owner ON owner.id = d.customer_id
         WHERE d.customer_id <> c.id
        """
    )
    store_pdfs(stage, ["archivo_pdf"])
    replaced = stage.fetch(
        f"""
        SELECT d.pdf_id
          FROM {TABLE} s
          JOIN metering_billingdocument d
            ON d.distributor_id = %(distributor)s AND d.kind = s.tipo AND d.folio = s.folio
          JOIN metering_billingpdf p ON p.id = d.pdf_id
         WHERE p.sha256 <> s.archivo_pdf__sha256
        """
    )
    values = {
        "distributor_id": "%(distributor)s",
        "customer_id": "c.id",
        "kind": "s.tipo",
        "folio": "s.folio",
        "issued_on": "s.fecha_emision",
        "period": "s.periodo",
        "amount_clp": "s.monto_clp",
        "pdf_id": "p.id",
    }
    stage.upsert(
        "metering_billingdocument",
        ["distributor_id", "kind", "folio"],
        values,
        update=["issued_on", "period", "amount_clp", "pdf_id"],
        source=(
            f"{TABLE} s {CUSTOMER_JOIN} "
            "JOIN metering_billingpdf p ON p.sha256 = s.archivo_pdf__sha256"
        ),
    )
    pdfs.prune(pdf_id for (pdf_id,) in replaced)


DOCUMENTS = FileSpec(
    name="documentos.csv",
    columns=(
        CUSTOMER,
        Column("tipo", "text", choice(BillingDocument.Kind)),
        Column("folio", "text", folio),
        Column("fecha_emision", "date", past_date),
        Column("periodo", "date", past_month),
        Column("monto_clp", "bigint", clp_non_negative),
        Column("archivo_pdf", "pdf", pdf),
    ),
    key=("tipo", "folio"),
    load=load_documents,
    check=check_document,
)


# --- remanentes.csv -------------------------------------------------------------------------


def check_movement(row: dict[str, Any], ctx: Context) -> list[tuple[str, str]]:
    amount = row["monto_clp"]
    if row["tipo"] == RemanenteMovement.Kind.ADJUSTMENT:
        return [("monto_clp", "un ajuste no puede ser 0")] if amount == 0 else []
    if amount <= 0:
        return [("monto_clp", "debe ser positivo (el tipo dice si suma o resta)")]
    return []


def load_movements(stage: Stage, ctx: Context) -> None:
    stage.reject_unknown_customers()
    stage.reject_repeated(["id_movimiento"])
    stage.reject(
        f"""
        SELECT s.line, 'id_movimiento', s.id_movimiento,
               'el movimiento ya está registrado para el cliente ' || owner.number
          FROM {TABLE} s {CUSTOMER_JOIN}
          JOIN metering_remanentemovement m
            ON m.distributor_id = %(distributor)s AND m.external_id = s.id_movimiento
          JOIN network_customer owner ON owner.id = m.customer_id
         WHERE m.customer_id <> c.id
        """
    )
    values = {
        "distributor_id": "%(distributor)s",
        "customer_id": "c.id",
        "external_id": "s.id_movimiento",
        "date": "s.fecha",
        "kind": "s.tipo",
        "amount_clp": "s.monto_clp",
        "balance_clp": "s.saldo_clp",
    }
    if "kwh" in stage.names:
        values["kwh"] = "s.kwh"
    stage.upsert(
        "metering_remanentemovement",
        ["distributor_id", "external_id"],
        values,
        update=[c for c in values if c not in ("distributor_id", "customer_id", "external_id")],
        source=f"{TABLE} s {CUSTOMER_JOIN}",
    )


MOVEMENTS = FileSpec(
    name="remanentes.csv",
    columns=(
        CUSTOMER,
        Column("id_movimiento", "text", text(40)),
        Column("fecha", "date", past_date),
        Column("tipo", "text", choice(RemanenteMovement.Kind)),
        Column("monto_clp", "bigint", clp),
        Column("saldo_clp", "bigint", clp_non_negative),
        Column("kwh", "numeric", kwh, required=False, blank=True),
    ),
    key=("id_movimiento",),
    load=load_movements,
    check=check_movement,
)


# --- contratos_eg.csv -----------------------------------------------------------------------

CONTRACT_PDFS = {
    "contrato_pdf": "contract_pdf_id",
    "protocolo_pdf": "protocol_pdf_id",
    "estudio_pdf": "study_pdf_id",
}


def load_contracts(stage: Stage, ctx: Context) -> None:
    stage.reject_unknown_customers(require_eg=True)
    stage.reject_repeated(["cliente"])
    present = {name: target for name, target in CONTRACT_PDFS.items() if name in stage.names}
    store_pdfs(stage, list(present))
    values = {
        "customer_id": "c.id",
        "number": "s.numero_contrato",
        "signed_on": "s.fecha_firma",
        "liquidation_form": "s.forma_liquidacion",
        "liquidation_date": "s.fecha_liquidacion",
    }
    joins = [f"{TABLE} s {CUSTOMER_JOIN}"]
    replaced: list[int] = []
    for index, (name, target) in enumerate(present.items()):
        alias = f"p{index}"
        values[target] = f"{alias}.id"
        joins.append(f"LEFT JOIN metering_billingpdf {alias} ON {alias}.sha256 = s.{name}__sha256")
        replaced += [
            pdf_id
            for (pdf_id,) in stage.fetch(
                f"""
                SELECT e.{target}
                  FROM {TABLE} s {CUSTOMER_JOIN}
                  JOIN metering_egcontract e ON e.customer_id = c.id
                  JOIN metering_billingpdf p ON p.id = e.{target}
                 WHERE p.sha256 <> s.{name}__sha256
                """
            )
        ]
    stage.upsert(
        "metering_egcontract",
        ["customer_id"],
        values,
        update=[c for c in values if c != "customer_id"],
        source=" ".join(joins),
        # An export without a document keeps the stored copy: the signed contract is not
        # something an incomplete export may take away.
        keep_when_null=present.values(),
    )
    pdfs.prune(replaced)


CONTRACTS = FileSpec(
    name="contratos_eg.csv",
    columns=(
        CUSTOMER,
        Column("numero_contrato", "text", text(30)),
        Column("fecha_firma", "date", past_date),
        Column("forma_liquidacion", "text", choice(EgContract.LiquidationForm)),
        Column("fecha_liquidacion", "date", any_date),
        *(Column(name, "pdf", pdf, required=False, blank=True) for name in CONTRACT_PDFS),
    ),
    key=("cliente",),
    load=load_contracts,
)


FILES = (CONTRACTS, BILLS, DOCUMENTS, MOVEMENTS)


def parse_line(
    spec: FileSpec, cells: dict[str, str], ctx: Context
) -> tuple[list[Any], list[tuple[str, str, str]]]:
    """The staged cells of one line, or the (field, value, reason) of what is wrong with it."""
    values: dict[str, Any] = {}
    errors: list[tuple[str, str, str]] = []
    for column in spec.columns:
        if column.name not in cells:
            continue
        raw = cells[column.name]
        if raw == "":
            if not column.blank:
                errors.append((column.name, raw, "vacío"))
            values[column.name] = None
            continue
        try:
            values[column.name] = column.parse(raw, ctx)
        except ValueError as exc:
            errors.append((column.name, raw, str(exc)))
    if not errors and spec.check is not None:
        errors = [(name, cells[name], reason) for name, reason in spec.check(values, ctx)]
    if errors:
        return [], errors
    row: list[Any] = []
    for column in spec.columns:
        if column.name in cells:
            row += column.cells(values[column.name], cells[column.name])
    return row, []


def staged_columns(spec: FileSpec, header: set[str]) -> list[StageColumn]:
    return [
        staged for column in spec.columns if column.name in header for staged in column.staged()
    ]
