"""What a record reads from other rows, so that the cut re-sends it when one of those changes.

A record is flat: a pole's record carries its feeder's code, a register read its meter's
serial and its customer's number. When a feeder's code is edited, no pole row changes, yet
every pole record of that feeder does. This module derives, from the record types, which
columns of which tables each record type reads through a relation (`Reference`); the capture
triggers flag an update that changed one of them (`{"refs": true}` in the change's payload,
regulator/capture.py), and the cut adds the dependent rows to its batch.

Tables the records read but SEC does not receive row by row are either captured for their
references only (meters: serial, kind, customer) or are reference data that does not change
in place (`IMMUTABLE`): comunas (the official CUT codes), OBIS codes, and billing PDFs, which
are named by their content's sha256.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from django.db import models
from django.db.models import F, Q
from django.db.models.constants import LOOKUP_SEP

from regulator.records import RECORD_TYPES, RecordType

IMMUTABLE = {"geo_comuna", "metering_obiscode", "metering_billingpdf"}


@dataclass(frozen=True)
class Reference:
    """Records of `entity` read `column` of `table` through the lookup `path` (from the
    entity's model to the row of `table`)."""

    entity: str
    path: str
    table: str
    column: str


def _paths(rt: RecordType) -> Iterator[str]:
    for column in rt.columns:
        if column.expression is None:
            yield column.path
        else:
            yield from _expression_paths(column.expression)
    if rt.where is not None:
        yield from _q_paths(rt.where)


def _expression_paths(expression) -> Iterator[str]:
    if isinstance(expression, F):
        yield expression.name
        return
    for source in expression.get_source_expressions():
        yield from _expression_paths(source)


def _q_paths(q: Q) -> Iterator[str]:
    for child in q.children:
        if isinstance(child, Q):
            yield from _q_paths(child)
        else:
            yield child[0]


def _references(rt: RecordType) -> Iterator[Reference]:
    for path in _paths(rt):
        model: type[models.Model] = rt.model
        walked: list[str] = []
        for part in path.split(LOOKUP_SEP):
            try:
                field = model._meta.get_field(part)
            except Exception:  # a lookup (isnull, exact) ends the path
                break
            if walked:
                yield Reference(
                    rt.entity, LOOKUP_SEP.join(walked), model._meta.db_table, field.column
                )
            if not field.is_relation:
                break
            walked.append(part)
            model = field.related_model


@cache
def references() -> tuple[Reference, ...]:
    found = {ref for rt in RECORD_TYPES for ref in _references(rt)}
    return tuple(sorted(found, key=lambda r: (r.table, r.entity, r.path, r.column)))


@cache
def referenced_columns() -> dict[str, tuple[str, ...]]:
    """Per table, the columns some record reads through a relation."""
    columns: dict[str, set[str]] = defaultdict(set)
    for ref in references():
        columns[ref.table].add(ref.column)
    return {table: tuple(sorted(cols)) for table, cols in sorted(columns.items())}


@cache
def dependents(table: str) -> tuple[tuple[str, str], ...]:
    """(entity, lookup path) of the records that read a row of `table`."""
    return tuple(sorted({(r.entity, r.path) for r in references() if r.table == table}))
