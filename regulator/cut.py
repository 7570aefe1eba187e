"""The cut (§6, points 3 and 5): numbered, immutable batches made from one snapshot each.

One cut is one REPEATABLE READ transaction, under a session advisory lock that only one cut
holds at a time:

1. it reads the last batch and takes its snapshot;
2. it assigns the next number to every change that snapshot sees and no batch holds
   (`UPDATE regulator_change SET batch = n WHERE batch IS NULL`): a transaction that commits
   after the snapshot is invisible to the UPDATE, so its changes stay open and go to the next
   batch; two batches never share a change;
3. it writes the pages from the same snapshot: batch 0 (the initial load) every record of
   every entity; a delta the net effect of its changes per key (an insert, an update or a
   delete, read from the rows as the snapshot sees them), plus the records that read a row
   whose referenced columns changed (regulator/dependencies.py), plus the interval store's
   months the batch touched as files;
4. it writes the manifest (counts, sizes, sha256 of every file, the sha256 of the previous
   manifest), moves the directory into place and inserts the batch row; then commits.

A crash anywhere before the commit leaves no row, the changes open and at most a directory
the next cut of that number replaces. Every line's version is the batch number: it grows with
each batch that changes a key, so a receiver that applies only newer versions is safe against
a replayed batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast
from django.utils import timezone

from metering.services.partitions import partition_months, partition_name
from regulator import contract, files
from regulator.capture import ALL, INTERVAL_ENTITY
from regulator.dependencies import dependents
from regulator.faults import crash_point
from regulator.models import Batch, Change
from regulator.records import ENTITIES, RecordType, record_type

log = logging.getLogger(__name__)

LOCK_KEY = 7_261_015  # pg_try_advisory_lock: one cut at a time
KEYS_TABLE = "regulator_cut_keys"
INTERVAL_FILE = "lecturas_intervalo"
INTERVAL_COLUMNS = "medidor,tipo_lectura,ts,valor,calidad"
INTERVAL_SELECT = """
    SELECT m.serial, t.code,
           to_char(r.ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"+00:00"'),
           r.value, r.quality
      FROM {partition} r
      JOIN metering_channel c ON c.id = r.channel_id
      JOIN metering_meter m ON m.id = c.meter_id
      JOIN metering_readingtype t ON t.id = c.reading_type_id
     -- A virtual meter's values are derived from the meters SEC receives.
     WHERE NOT m.virtual {where}
     ORDER BY r.channel_id, r.ts
     {limit}
"""
INTERVAL_COPY = (
    "COPY ("
    + INTERVAL_SELECT.format(partition="{partition}", where="", limit="")
    + (") TO STDOUT (FORMAT csv)")
)


class CutError(Exception):
    """A cut that may not run now (no initial load yet, another cut running...)."""


@contextmanager
def cut_lock() -> Iterator[None]:
    with connection.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
        if not cur.fetchone()[0]:
            raise CutError("Otro corte está en curso; se reintenta en el próximo ciclo.")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def cut(initial: bool = False) -> Batch:
    """Cut the next batch: the initial load (batch 0) when `initial`, else a daily delta."""
    if connection.in_atomic_block:
        raise CutError("Un corte es su propia transacción; no puede ir dentro de otra.")
    started = time.monotonic()
    with cut_lock():
        with transaction.atomic():
            with connection.cursor() as cur:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            batch = _cut(initial, started)
            crash_point("cut.before_commit")
        crash_point("cut.after_commit")
        prune()
    log.info(
        "lote %s: %s cambios, %s registros, %s bytes, %.1f s",
        batch.number,
        batch.changes,
        batch.records,
        batch.bytes,
        batch.seconds,
    )
    return batch


def _cut(initial: bool, started: float) -> Batch:
    last = Batch.objects.order_by("-number").first()
    if initial and last is not None:
        raise CutError("La carga inicial (lote 0) ya existe.")
    if not initial and last is None:
        raise CutError("Falta la carga inicial (lote 0): manage.py cut_regulator_batch --inicial.")
    number = 0 if initial else last.number + 1
    with connection.cursor() as cur:
        cur.execute("SELECT pg_current_snapshot()::text")
        snapshot = cur.fetchone()[0]
        cur.execute("UPDATE regulator_change SET batch = %s WHERE batch IS NULL", [number])
        changes = cur.rowcount
    crash_point("cut.after_assign")
    work = files.work_dir(number)
    page_records = settings.REGULATOR_PAGE_RECORDS
    if initial:
        entities = {e: _initial_pages(work, record_type(e), page_records) for e in ENTITIES}
        months = partition_months()
    else:
        _collapse(number)
        entities = {}
        for entity in ENTITIES:
            summary = _delta_pages(work, record_type(entity), number, page_records)
            if summary["records"]:
                entities[entity] = summary
        months = _touched_months(number)
    crash_point("cut.after_pages")
    partitions = [_interval_file(work, month) for month in months]
    manifest: dict[str, Any] = {
        "batch": number,
        "kind": "inicial" if initial else "delta",
        "contract_version": contract.CONTRACT_VERSION,
        "created_at": timezone.now().astimezone(UTC).isoformat(),
        "previous_manifest_sha256": last.manifest_sha256 if last else None,
        "entities": entities,
        "interval_partitions": partitions,
    }
    contract.validate_manifest(manifest)
    sha256, _size = files.write_manifest(work, manifest)
    files.publish(work, number)
    crash_point("cut.after_publish")
    pages = [page for summary in entities.values() for page in summary["pages"]]
    return Batch.objects.create(
        number=number,
        kind=Batch.Kind.INITIAL if initial else Batch.Kind.DELTA,
        snapshot=snapshot,
        changes=changes,
        records=sum(summary["records"] for summary in entities.values()),
        bytes=sum(f["bytes"] for f in (*pages, *partitions)),
        manifest_sha256=sha256,
        previous_manifest_sha256=last.manifest_sha256 if last else "",
        seconds=round(time.monotonic() - started, 3),
    )


# --- Batch 0 -----------------------------------------------------------------------------------


def _initial_pages(work: Path, rt: RecordType, page_records: int) -> dict[str, Any]:
    pages = files.EntityPages(work, rt.entity, page_records)
    for record in rt.records():
        pages.add(contract.envelope(rt, "insert", record, 0))
    return pages.close()


# --- Deltas ------------------------------------------------------------------------------------


def _collapse(number: int) -> None:
    """The batch's keys with their net operation, in a temporary table for this transaction:
    'insert' when the key's first change in the batch created it (or its entity was emptied
    first), else 'update'; whether it still exists decides between writing it and deleting it.
    Then the records that read a row whose referenced columns changed, as updates."""
    with connection.cursor() as cur:
        cur.execute(
            f"CREATE TEMPORARY TABLE {KEYS_TABLE} (entity text, rid bigint, op text, "
            "PRIMARY KEY (entity, rid)) ON COMMIT DROP"
        )
        cur.execute(
            f"""
            WITH emptied AS (
                SELECT aggregatetype, max(id) AS last_truncate FROM regulator_change
                 WHERE batch = %s AND type = 'truncate' GROUP BY aggregatetype)
            INSERT INTO {KEYS_TABLE} (entity, rid, op)
            SELECT DISTINCT ON (c.aggregatetype, c.aggregateid)
                   c.aggregatetype, c.aggregateid::bigint,
                   CASE WHEN e.last_truncate IS NOT NULL OR c.type = 'insert'
                        THEN 'insert' ELSE 'update' END
              FROM regulator_change c
              LEFT JOIN emptied e ON e.aggregatetype = c.aggregatetype
             WHERE c.batch = %s AND c.type <> 'truncate' AND c.aggregatetype = ANY(%s)
               AND (e.last_truncate IS NULL OR c.id > e.last_truncate)
             ORDER BY c.aggregatetype, c.aggregateid, c.id
            """,
            [number, number, list(ENTITIES)],
        )
    for captured in ALL:
        if captured.mode == "months" or not dependents(captured.table):
            continue
        flagged = (
            Change.objects.filter(batch=number, aggregatetype=captured.entity, payload__refs=True)
            .annotate(rid=Cast("aggregateid", BigIntegerField()))
            .values("rid")
        )
        if not flagged.exists():
            continue
        for entity, path in dependents(captured.table):
            rt = record_type(entity)
            rows = rt.model._default_manager.filter(**{f"{path}__in": flagged}).values("pk")
            sql, params = rows.query.sql_with_params()
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO {KEYS_TABLE} (entity, rid, op) "
                    f"SELECT %s, s.id, 'update' FROM ({sql}) s (id) ON CONFLICT DO NOTHING",
                    [entity, *params],
                )


def _delta_pages(work: Path, rt: RecordType, number: int, page_records: int) -> dict[str, Any]:
    pages = files.EntityPages(work, rt.entity, page_records)
    if Change.objects.filter(batch=number, aggregatetype=rt.entity, type="truncate").exists():
        pages.add(contract.truncate_envelope(rt.entity, number))
    table = rt.model._meta.db_table
    base_sql, base_params = rt.base_queryset().values("pk").query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT k.rid FROM {KEYS_TABLE} k WHERE k.entity = %s AND k.op <> 'insert' "
            f"AND NOT EXISTS (SELECT 1 FROM ({base_sql}) b (id) WHERE b.id = k.rid) "
            "ORDER BY k.rid",
            [rt.entity, *base_params],
        )
        for (rid,) in _rows(cur):
            pages.add(contract.delete_envelope(rt.entity, {"id": rid}, number))
    keyed = RawSQL(f"SELECT rid FROM {KEYS_TABLE} WHERE entity = %s", [rt.entity])
    op = RawSQL(
        f'SELECT op FROM {KEYS_TABLE} k WHERE k.entity = %s AND k.rid = "{table}"."id"',
        [rt.entity],
    )
    rows = rt.values(rt.base_queryset().filter(pk__in=keyed)).annotate(_op=op)
    for row in rows.iterator(chunk_size=2000):
        pages.add(contract.envelope(rt, row["_op"], rt.to_record(row), number))
    return pages.close()


def _rows(cur, size: int = 5000) -> Iterator[tuple]:
    while chunk := cur.fetchmany(size):
        yield from chunk


# --- The interval store ------------------------------------------------------------------------


def _touched_months(number: int) -> list[date]:
    """The local months whose partition a change of this batch touched (all on a TRUNCATE)."""
    touched = set(
        Change.objects.filter(batch=number, aggregatetype=INTERVAL_ENTITY).values_list(
            "aggregateid", flat=True
        )
    )
    existing = partition_months()
    if "*" in touched:
        return existing
    return [month for month in existing if f"{month:%Y-%m}" in touched]


def _interval_file(work: Path, month: date) -> dict[str, Any]:
    """One month of the interval store as gzip CSV (medidor, tipo_lectura, ts in UTC, valor,
    calidad), streamed by COPY from the cut's snapshot."""
    partition = partition_name(month)
    out = files.GzipOut(work / f"{INTERVAL_FILE}-{month:%Y-%m}.csv.gz")
    out.write((INTERVAL_COLUMNS + "\n").encode())
    lines = 0
    with (
        connection.cursor() as cur,
        cur.cursor.copy(INTERVAL_COPY.format(partition=partition)) as copy,
    ):
        for data in copy:
            chunk = bytes(data)
            lines += chunk.count(b"\n")
            out.write(chunk)
    out.records = lines
    return {"partition": partition, "month": f"{month:%Y-%m}", **out.close()}


# --- Housekeeping ------------------------------------------------------------------------------


def prune() -> int:
    """Delete the change rows of batches SEC acknowledged more than REGULATOR_KEEP_DAYS ago
    (their files stay: they are the record of what was sent)."""
    keep = timedelta(days=settings.REGULATOR_KEEP_DAYS)
    acked = Batch.objects.filter(acknowledged_at__lt=timezone.now() - keep).order_by("-number")
    upto = acked.values_list("number", flat=True).first()
    if upto is None:
        return 0
    deleted, _ = Change.objects.filter(batch__lte=upto).delete()
    return deleted
