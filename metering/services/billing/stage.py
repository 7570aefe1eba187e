"""One file's parsed lines in a temporary table, checked and applied set-wise in SQL.

A consumption export holds a month of every customer (a million lines) or years of them:
nothing here runs a query per line. Lines go in by COPY; unknown customers, repeated keys and
clashes with stored rows are found by joins and dropped from the table (each one reported);
what is left is upserted with one INSERT … ON CONFLICT whose WHERE skips rows that would not
change, so that an unchanged row keeps its date and re-running an export writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection

from .report import ERROR, WARNING, BillingImportResult, FileCounts, Problem

TABLE = "billing_stage"
CUSTOMER_JOIN = (
    "JOIN network_customer c ON c.distributor_id = %(distributor)s AND c.number = s.cliente"
)


@dataclass(frozen=True)
class StageColumn:
    name: str
    sql_type: str


class Stage:
    def __init__(
        self,
        file: str,
        columns: list[StageColumn],
        distributor: int,
        as_of: date,
        counts: FileCounts,
        result: BillingImportResult,
    ):
        self.file = file
        self.columns = columns
        self.names = {column.name for column in columns}
        self.params = {"distributor": distributor, "as_of": as_of}
        self.counts = counts
        self.result = result
        self.cursor = connection.cursor()

    def create(self) -> None:
        definition = ", ".join(f"{c.name} {c.sql_type}" for c in self.columns)
        # An earlier file of the same run (or a test's earlier import) may have left it: the
        # outer transaction, not this file's savepoint, decides when it is dropped.
        self.cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
        self.cursor.execute(
            f"CREATE TEMPORARY TABLE {TABLE} (line integer PRIMARY KEY, {definition}) "
            "ON COMMIT DROP"
        )

    def copy(self, rows: Iterable[tuple[Any, ...]]) -> None:
        names = ", ".join(["line", *(c.name for c in self.columns)])
        with self.cursor.cursor.copy(f"COPY {TABLE} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        # Temporary tables are never analysed by autovacuum; the joins below need the count.
        self.cursor.execute(f"ANALYZE {TABLE}")

    def fetch(self, sql: str, extra: dict[str, Any] | None = None) -> list[tuple]:
        self.cursor.execute(sql, {**self.params, **(extra or {})})
        return self.cursor.fetchall()

    def execute(self, sql: str, extra: dict[str, Any] | None = None) -> None:
        self.cursor.execute(sql, {**self.params, **(extra or {})})

    def count(self) -> int:
        return self.fetch(f"SELECT count(*) FROM {TABLE}")[0][0]

    def reject(self, sql: str, extra: dict[str, Any] | None = None) -> None:
        """Drop the lines `sql` selects as (line, field, value, reason), reporting each."""
        self._drop([(*row, ERROR) for row in self.fetch(sql, extra)])

    def _drop(self, findings: list[tuple[int, str, str, str, str]]) -> None:
        if not findings:
            return
        for line, field, value, reason, severity in findings:
            self.result.add(Problem(self.file, line, field, value or "", reason, severity))
        lines = sorted({finding[0] for finding in findings})
        self.execute(f"DELETE FROM {TABLE} WHERE line = ANY(%(lines)s)", {"lines": lines})
        self.counts.rejected += len(lines)

    def reject_unknown_customers(self, require_eg: bool = False) -> None:
        self.reject(
            f"""
            SELECT s.line, 'cliente', s.cliente,
                   'no hay un cliente con ese número en la distribuidora'
              FROM {TABLE} s
             WHERE NOT EXISTS (SELECT 1 FROM network_customer c
                                WHERE c.distributor_id = %(distributor)s AND c.number = s.cliente)
            """
        )
        if require_eg:
            self.reject(
                f"""
                SELECT s.line, 'cliente', s.cliente,
                       'el cliente no tiene generación (EG): no tiene contrato de conexión EG'
                  FROM {TABLE} s {CUSTOMER_JOIN}
                 WHERE NOT c.is_eg
                """
            )

    def reject_repeated(self, key: list[str]) -> None:
        """Lines with the same key: identical ones are taken once (warning), different ones are
        all refused, since nothing says which one the CIS meant."""
        keys = ", ".join(key)
        values = ", ".join(c.name for c in self.columns if not c.name.endswith("__source"))
        groups = self.fetch(
            f"""
            SELECT array_agg(line ORDER BY line), concat_ws(' / ', {keys}),
                   count(DISTINCT md5(ROW({values})::text)) > 1
              FROM {TABLE}
             GROUP BY {keys}
            HAVING count(*) > 1
            """
        )
        findings = []
        field = ", ".join(key)
        for lines, value, conflicting in groups:
            listed = ", ".join(str(line) for line in lines)
            if conflicting:
                reason = (
                    f"clave repetida con valores distintos (líneas {listed}); no se toma ninguna"
                )
                findings += [(line, field, value, reason, ERROR) for line in lines]
            else:
                reason = f"repite la línea {lines[0]} (idéntica); se toma una vez"
                findings += [(line, field, value, reason, WARNING) for line in lines[1:]]
        self._drop(findings)

    def upsert(
        self,
        table: str,
        conflict: list[str],
        values: dict[str, str],
        update: list[str],
        source: str,
        keep_when_null: Iterable[str] = (),
    ) -> None:
        """INSERT the staged lines into `table` (column → expression over `source`); on a key
        conflict update `update` only when a value differs. Columns in `keep_when_null` keep
        their stored value when the line has none."""
        accepted = self.count()
        keep = set(keep_when_null)
        columns = ", ".join(values)
        expressions = ", ".join(values.values())

        def incoming(column: str) -> str:
            if column in keep:
                return f"COALESCE(EXCLUDED.{column}, t.{column})"
            return f"EXCLUDED.{column}"

        assignments = ", ".join(f"{c} = {incoming(c)}" for c in update)
        stored = ", ".join(f"t.{c}" for c in update)
        new = ", ".join(incoming(c) for c in update)
        created, updated = self.fetch(
            f"""
            WITH upserted AS (
                INSERT INTO {table} AS t (as_of, {columns})
                SELECT %(as_of)s, {expressions} FROM {source}
                ON CONFLICT ({", ".join(conflict)}) DO UPDATE
                   SET as_of = EXCLUDED.as_of, {assignments}
                 WHERE ROW({stored}) IS DISTINCT FROM ROW({new})
                RETURNING (xmax = 0) AS created
            )
            SELECT count(*) FILTER (WHERE created), count(*) FILTER (WHERE NOT created)
              FROM upserted
            """
        )[0]
        self.counts.created += created
        self.counts.updated += updated
        self.counts.unchanged += accepted - created - updated

    def drop(self) -> None:
        self.cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
