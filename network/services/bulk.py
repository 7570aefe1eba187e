"""Bulk loading with COPY: millions of rows without ORM saves.

Secondary indexes and foreign keys of the loaded tables are dropped for the load and rebuilt
afterwards from their own definitions, all inside the caller's transaction, so a failed load
leaves the database exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.db import connection


@dataclass
class SavedSchema:
    constraints: list[tuple[str, str, str]] = field(default_factory=list)  # table, name, def
    indexes: list[str] = field(default_factory=list)  # CREATE INDEX statements


def drop_secondary_structures(tables: Sequence[str]) -> SavedSchema:
    """Drop FKs (both ways), unique constraints and non-PK indexes of `tables`, return their DDL."""
    saved = SavedSchema()
    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
              FROM pg_constraint c
             WHERE (c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('f', 'u'))
                OR (c.confrelid = ANY(%s::regclass[]) AND c.contype = 'f')
             ORDER BY c.contype DESC
            """,
            [list(tables), list(tables)],
        )
        # Foreign keys pointing at the loaded tables go too, so that they can be truncated.
        saved.constraints = list(cur.fetchall())
        for table, name, _ in saved.constraints:
            cur.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
        cur.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
              FROM pg_index i
             WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
            """,
            [list(tables)],
        )
        for name, definition in cur.fetchall():
            saved.indexes.append(definition)
            cur.execute(f"DROP INDEX {name}")
    return saved


def restore_secondary_structures(saved: SavedSchema, progress=None) -> None:
    with connection.cursor() as cur:
        for definition in saved.indexes:
            cur.execute(definition)
            if progress:
                progress(definition)
        for table, name, definition in reversed(saved.constraints):
            cur.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
            if progress:
                progress(f"{table}.{name}")


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY `rows` into `table`; geometry columns take EWKT text (SRID=4326;POINT(...))."""
    count = 0
    cols = ", ".join(columns)
    with connection.cursor() as cur, cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def next_id(table: str) -> int:
    with connection.cursor() as cur:
        cur.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")
        return cur.fetchone()[0]


def reset_sequence(table: str) -> None:
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {table}), 0) + 1, false)"
        )
