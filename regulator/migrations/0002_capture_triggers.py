"""The capture triggers (regulator/capture.py) on every table SEC receives.

The list and the SQL are frozen here as it stood when this migration was written; a table added to
capture.CAPTURED later gets a migration of its own (tests/regulator/test_capture.py checks the
database against CAPTURED).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import migrations

# The first capture function and triggers, frozen as they were written (0003 replaces them).
CHANGE_TABLE = "regulator_change"
FUNCTION = "regulator_capture"
EVENTS = ("insert", "update", "delete", "truncate")


@dataclass(frozen=True)
class Captured:
    entity: str  # the outbox's aggregatetype: the record type of SEC's contract (records.py)
    table: str
    key: tuple[str, ...] = ("id",)

    @property
    def aggregateid(self) -> str:
        """SQL for the row key as text (columns joined by '/' when the key has several)."""
        if len(self.key) == 1:
            return f"{self.key[0]}::text"
        return "concat_ws('/', {})".format(", ".join(f"{c}::text" for c in self.key))

    @property
    def payload(self) -> str:
        """SQL for the jsonb payload: the key only; the cut reads the current rows."""
        return "jsonb_build_object({})".format(", ".join(f"'{c}', {c}" for c in self.key))


FUNCTION_SQL = f"""
CREATE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
-- TG_ARGV: entity, aggregateid expression, payload expression. Every trigger names its
-- transition table "changed", so one dynamic INSERT serves insert, update and delete.
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO {CHANGE_TABLE} (aggregatetype, aggregateid, type, payload)
        VALUES (TG_ARGV[0], '*', 'truncate', jsonb_build_object('table', TG_TABLE_NAME));
    ELSE
        EXECUTE format(
            'INSERT INTO {CHANGE_TABLE} (aggregatetype, aggregateid, type, payload) '
            'SELECT %L, %s, %L, %s FROM changed',
            TG_ARGV[0], TG_ARGV[1], lower(TG_OP), TG_ARGV[2]);
    END IF;
    RETURN NULL;
END
$$;
"""
DROP_FUNCTION_SQL = f"DROP FUNCTION IF EXISTS {FUNCTION}();"

TRANSITION = {"insert": "NEW", "update": "NEW", "delete": "OLD"}


def trigger_name(event: str) -> str:
    return f"{FUNCTION}_{event}"


def create_triggers_sql(captured: Iterable[Captured]) -> list[str]:
    """One statement each (RunSQL runs a list as it is, without splitting it)."""
    statements = []
    for c in captured:
        args = ", ".join(_literal(a) for a in (c.entity, c.aggregateid, c.payload))
        for event in EVENTS:
            referencing = (
                f" REFERENCING {TRANSITION[event]} TABLE AS changed" if event in TRANSITION else ""
            )
            statements.append(
                f"CREATE TRIGGER {trigger_name(event)} AFTER {event.upper()} ON {c.table}"
                f"{referencing} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}({args});"
            )
    return statements


def drop_triggers_sql(captured: Iterable[Captured]) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {trigger_name(event)} ON {c.table};"
        for c in captured
        for event in EVENTS
    ]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


TABLES = [
    Captured("distribuidoras", "network_distributor"),
    Captured("subestaciones", "network_substation"),
    Captured("transformadores_poder", "network_powertransformer"),
    Captured("alimentadores", "network_feeder"),
    Captured("postes", "network_pole"),
    Captured("vanos", "network_span"),
    Captured("equipos", "network_equipment"),
    Captured("ajustes_equipos", "network_equipmentsetting"),
    Captured("transformadores_distribucion", "network_transformer"),
    Captured("clientes", "network_customer"),
    Captured("demandas_mensuales", "demand_monthlydemand"),
    Captured("codigos_vnr", "vnr_vnrcode"),
    Captured("facturaciones_mensuales", "metering_monthlybill"),
    Captured("documentos_facturacion", "metering_billingdocument"),
    Captured("movimientos_remanente", "metering_remanentemovement"),
    Captured("contratos_eg", "metering_egcontract"),
    Captured("lecturas_registro", "metering_registerread"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("regulator", "0001_initial"),
        ("network", "0005_customer_transformer_label"),
        ("demand", "0003_monthlydemand_computed"),
        ("vnr", "0001_initial"),
        ("metering", "0005_ingest_corrections_and_interruptions"),
    ]

    operations = [
        migrations.RunSQL([FUNCTION_SQL], [DROP_FUNCTION_SQL]),
        migrations.RunSQL(create_triggers_sql(TABLES), drop_triggers_sql(TABLES)),
    ]
