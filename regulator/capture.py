"""Capture (§6, point 2): PostgreSQL triggers write every change to the tables SEC receives
into `regulator_change`, whatever wrote it: ORM saves, bulk_create, queryset updates, raw SQL,
COPY, upserts and TRUNCATE.

The triggers are statement-level with transition tables: one call per statement, one
INSERT … SELECT from the rows the statement touched, so a 2 M-row COPY pays one trigger call,
not 2 M. PostgreSQL allows a transition table on a trigger of one event only, hence four
triggers per table (insert, update, delete, truncate), all calling one function that takes
the entity name and the key expressions as arguments.

They are plain AFTER triggers, never deferrable constraint triggers: they fire at the end of
each statement, so they leave no pending events behind for the TRUNCATE and ALTER TABLE of
the seeds and bulk loads.

An update also says whether it changed a column another entity's records read (a feeder's
code, a customer's number: `references`, derived by regulator/dependencies.py): its payload
then carries `"refs": true`, and the cut re-sends the records that read that row. Tables SEC
does not receive but whose columns records read (meters) have an update trigger for that alone
(`REFERENCE_ONLY`). The interval store is captured by month, not by row (`INTERVALS`): one
change per statement and local month it touched, so that the cut ships that month's partition
as a file.

`CAPTURED` is the single list of what is captured. The migrations install the triggers from a
frozen copy of it; tests/regulator/test_capture.py checks the database against this list, so
an entry added here without a migration fails the tests.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

CHANGE_TABLE = "regulator_change"
FUNCTION = "regulator_capture"
EVENTS = ("insert", "update", "delete", "truncate")

ENTITY = "entity"
REFERENCES = "references"
MONTHS = "months"


@dataclass(frozen=True)
class Captured:
    entity: str  # the outbox's aggregatetype: the record type of SEC's contract (records.py)
    table: str
    references: tuple[str, ...] = ()  # columns other entities' records read
    mode: str = ENTITY
    key: str = "id"

    @property
    def events(self) -> tuple[str, ...]:
        return ("update",) if self.mode == REFERENCES else EVENTS

    @property
    def aggregateid(self) -> str:
        """SQL for the aggregateid over the transition table's row `n`."""
        return self.key if self.mode == MONTHS else f"n.{self.key}::text"

    @property
    def payload(self) -> str:
        """SQL for the jsonb payload: the key only; the cut reads the current rows."""
        if self.mode == MONTHS:
            return f"jsonb_build_object('month', {self.key})"
        return f"jsonb_build_object('{self.key}', n.{self.key})"

    @property
    def refs_changed(self) -> str:
        """SQL, over the old row `o` and the new `n`, true when a referenced column changed."""
        if not self.references:
            return "false"
        return " OR ".join(f"o.{c} IS DISTINCT FROM n.{c}" for c in self.references)

    @property
    def arguments(self) -> tuple[str, ...]:
        return (self.entity, self.aggregateid, self.payload, self.refs_changed, self.mode)


# What SEC receives (issue 15, spec §6): the network with its monthly equipment settings,
# monthly demands, VNR codes and the customers' account data. `references` are the columns
# other records read (tests/regulator/test_capture.py checks them against
# regulator.dependencies).
CAPTURED: tuple[Captured, ...] = (
    Captured("distribuidoras", "network_distributor", ("code",)),
    Captured("subestaciones", "network_substation", ("code", "distributor_id")),
    Captured("transformadores_poder", "network_powertransformer"),
    Captured("alimentadores", "network_feeder", ("code", "distributor_id")),
    Captured("postes", "network_pole", ("plate",)),
    Captured("tipos_conductor", "network_conductortype", ("code",)),
    Captured("vanos", "network_span", ("code",)),
    Captured("equipos", "network_equipment", ("code", "distributor_id")),
    Captured("ajustes_equipos", "network_equipmentsetting"),
    Captured("transformadores_distribucion", "network_transformer", ("code", "distributor_id")),
    Captured("clientes", "network_customer", ("distributor_id", "number")),
    Captured("demandas_mensuales", "demand_monthlydemand"),
    Captured("codigos_vnr", "vnr_vnrcode", ("code",)),
    Captured("facturaciones_mensuales", "metering_monthlybill"),
    Captured("documentos_facturacion", "metering_billingdocument"),
    Captured("movimientos_remanente", "metering_remanentemovement"),
    Captured("contratos_eg", "metering_egcontract"),
    Captured("lecturas_registro", "metering_registerread"),
    Captured("solicitudes_conexion", "capacity_connectionrequest"),
)
# Tables SEC does not receive whose columns records read: an update that changes one of them
# re-sends the dependent records (regulator.dependencies; the others it lists are immutable).
REFERENCE_ONLY: tuple[Captured, ...] = (
    Captured(
        "_ref.metering_meter", "metering_meter", ("customer_id", "kind", "serial"), REFERENCES
    ),
)
# The 15-minute interval store: one change per statement and local month (America/Santiago,
# the partitions' months), so that the cut ships the month's partition as a file.
INTERVAL_ENTITY = "_lecturas_intervalo"
INTERVALS = Captured(
    INTERVAL_ENTITY,
    "metering_intervalreading",
    mode=MONTHS,
    key="to_char(n.ts AT TIME ZONE 'America/Santiago', 'YYYY-MM')",
)
ALL: tuple[Captured, ...] = (*CAPTURED, *REFERENCE_ONLY, INTERVALS)

# The function as migration 0003 installs it. Migration 0006 replaces its 'months' branch: for
# the interval store, the months come from a statement's first and last instant when that is
# exact (same UTC offset, the same or consecutive months), the DISTINCT below otherwise; the
# change rows are the same (tests/regulator/test_interval_months.py).
FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
-- TG_ARGV: the entity, the aggregateid and payload expressions over the transition table's
-- rows (named n), the condition over the old row (o) and the new (n) under which an update
-- changed a column other records read, and the mode: 'entity' (a table SEC receives),
-- 'references' (only updates that change such a column) or 'months' (one change per local
-- month a statement touched).
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO {CHANGE_TABLE} (aggregatetype, aggregateid, type, payload)
        VALUES (TG_ARGV[0], '*', 'truncate', jsonb_build_object('table', TG_TABLE_NAME));
    ELSIF TG_ARGV[4] = 'months' THEN
        EXECUTE format(
            'INSERT INTO {CHANGE_TABLE} (aggregatetype, aggregateid, type, payload) '
            'SELECT DISTINCT %L, %s, %L, %s FROM changed n',
            TG_ARGV[0], TG_ARGV[1], lower(TG_OP), TG_ARGV[2]);
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE format(
            'INSERT INTO {CHANGE_TABLE} (aggregatetype, aggregateid, type, payload) '
            'SELECT %L, %s, ''update'', %s || CASE WHEN %s THEN ''{{"refs": true}}''::jsonb '
            'ELSE ''{{}}''::jsonb END FROM changed n JOIN old_rows o ON o.id = n.id %s',
            TG_ARGV[0], TG_ARGV[1], TG_ARGV[2], TG_ARGV[3],
            CASE WHEN TG_ARGV[4] = 'references' THEN 'WHERE ' || TG_ARGV[3] ELSE '' END);
    ELSE
        EXECUTE format(
            'INSERT INTO {CHANGE_TABLE} (aggregatetype, aggregateid, type, payload) '
            'SELECT %L, %s, %L, %s FROM changed n',
            TG_ARGV[0], TG_ARGV[1], lower(TG_OP), TG_ARGV[2]);
    END IF;
    RETURN NULL;
END
$$;
"""
DROP_FUNCTION_SQL = f"DROP FUNCTION IF EXISTS {FUNCTION}();"


def trigger_name(event: str) -> str:
    return f"{FUNCTION}_{event}"


def referencing(c: Captured, event: str) -> str:
    if event == "truncate":
        return ""
    if event == "delete":
        return " REFERENCING OLD TABLE AS changed"
    if event == "update" and c.mode != MONTHS:
        return " REFERENCING OLD TABLE AS old_rows NEW TABLE AS changed"
    return " REFERENCING NEW TABLE AS changed"


def create_triggers_sql(captured: Iterable[Captured]) -> list[str]:
    """One statement each (RunSQL runs a list as it is, without splitting it)."""
    statements = []
    for c in captured:
        args = ", ".join(_literal(a) for a in c.arguments)
        for event in c.events:
            statements.append(
                f"CREATE TRIGGER {trigger_name(event)} AFTER {event.upper()} ON {c.table}"
                f"{referencing(c, event)} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}({args});"
            )
    return statements


def drop_triggers_sql(captured: Iterable[Captured]) -> list[str]:
    return [
        f"DROP TRIGGER IF EXISTS {trigger_name(event)} ON {c.table};"
        for c in captured
        for event in c.events
    ]


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
