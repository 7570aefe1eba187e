"""ingest_readings: a head-end file (CIM XML or CSV) into the readings store.

The file is streamed (metering.services.sources) in batches of values held in columns. For
each batch, the (meter, reading type) pairs not seen yet are resolved to channels in one query
(a channel is created for a known meter and a known reading type); the batch becomes numpy
arrays, and its rows are written in PostgreSQL's binary COPY format:

- new data (the usual case) goes by COPY straight into the partitioned, indexed interval table,
  from a savepoint, in a worker thread that waits on PostgreSQL while Python reads the next
  batch (the two cores work at once);
- when a key turns out to be stored already (a re-run, overlapping data) or repeated in the
  batch, the COPY fails on the primary key: the batch is rolled back to its savepoint and,
  with the rest of the file, staged in a temporary table and moved by one set-based statement
  per batch that inserts with ON CONFLICT DO NOTHING and says why each line left out did not
  go in: a duplicate inside the file, or a value already stored (the same, counted as already
  loaded, or a different one, which is reported and not overwritten);
- register reads are always staged and inserted that way.

One transaction per file: a run that fails or is interrupted leaves no rows, and running it
again ends with exactly the rows the file holds. Every rejected value is written to the
report (CSV: file, where, field, reason, meter, value) with its line; the valid values of the
same file are loaded.
"""

from __future__ import annotations

import csv
import hashlib
import struct
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from metering import cim
from metering.models import IngestRun, MeterEventType, ReadingType
from metering.services import partitions
from metering.services.sources import (
    Batch,
    Event,
    FatalFileError,
    Rejection,
    Timestamps,
    items,
    sniff_format,
)

CHANNEL_CACHE = 200_000  # (meter, reading type) pairs remembered while reading one file
REPORT_COLUMNS = ["archivo", "ubicación", "campo", "motivo", "medidor", "valor"]

# The rows of a batch on the careful path, and register reads, staged before a set-based
# insert; they stay here until the insert has answered (and, on the rare path, been explained).
CHUNK_TABLE = """
    CREATE TEMPORARY TABLE metering_chunk (
        line bigint NOT NULL,
        channel_id integer NOT NULL,
        ts timestamptz NOT NULL,
        value double precision NOT NULL,
        quality smallint NOT NULL,
        register boolean NOT NULL
    ) ON COMMIT DROP
"""
COPY_TO_STORE = (
    "COPY metering_intervalreading (channel_id, run_id, ts, value, quality) "
    "FROM STDIN (FORMAT BINARY)"
)
COPY_TO_CHUNK = "COPY metering_chunk FROM STDIN (FORMAT BINARY)"
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)


def _copy_row(*fields: tuple[str, str]) -> tuple[np.dtype, np.ndarray]:
    """A row of PostgreSQL's binary COPY format as a numpy record: the field count, then each
    field's length and value, big-endian; and a template row with the count and lengths set.
    A batch of rows is then packed column by column, without a Python call per row."""
    spec: list[tuple[str, str]] = [("count", ">i2")]
    for name, kind in fields:
        spec += [(f"{name}_length", ">i4"), (name, kind)]
    dtype = np.dtype(spec)
    template = np.zeros(1, dtype)
    template["count"] = len(fields)
    for name, kind in fields:
        template[f"{name}_length"] = np.dtype(kind).itemsize
    return dtype, template


STORE_ROW = _copy_row(
    ("channel_id", ">i4"), ("run_id", ">i4"), ("ts", ">i8"), ("value", ">f8"), ("quality", ">i2")
)
CHUNK_ROW = _copy_row(
    ("line", ">i8"),
    ("channel_id", ">i4"),
    ("ts", ">i8"),
    ("value", ">f8"),
    ("quality", ">i2"),
    ("register", "?"),
)


def copy_payload(row: tuple[np.dtype, np.ndarray], **columns: np.ndarray | int | bool) -> bytes:
    """Binary COPY data (header, rows, trailer) from columns of equal length (or constants)."""
    dtype, template = row
    size = max(np.size(column) for column in columns.values())
    rows = np.empty(size, dtype)
    rows[:] = template
    for name, column in columns.items():
        rows[name] = column
    return COPY_HEADER + rows.tobytes() + COPY_TRAILER


# The careful path, one statement per batch: every line is compared with what was stored before
# the statement (its snapshot does not see the rows it inserts), the first line of each key
# the store lacks is inserted, and the comparison says why a line did not go in: a later line
# of a key the batch repeats, a key an earlier batch of this file stored, or one an earlier run
# stored (the same value: counted as already loaded; another: reported). Answers the lines to
# report and one row of counts.
REPORT = """
    SELECT 'line' AS kind, c.line, m.serial, c.value,
           coalesce(c.stored, c.first_value) AS kept, coalesce(c.this_run, false) AS this_run,
           c.first_line, NULL::bigint, NULL::bigint, NULL::bigint
      FROM compared c
      JOIN metering_meter m ON m.id = {meter}
     WHERE c.line > c.first_line OR c.this_run OR c.value <> c.stored
     UNION ALL
    SELECT 'counts', NULL, NULL, NULL, NULL, NULL, NULL,
           (SELECT count(*) FROM inserted),
           count(*) FILTER (WHERE c.line = c.first_line AND c.stored IS NULL),
           count(*) FILTER (WHERE c.line = c.first_line AND NOT c.this_run
                              AND c.value = c.stored)
      FROM compared c
"""
INSERT_INTERVALS = """
    WITH source AS MATERIALIZED (
        SELECT line, channel_id, ts, value, quality,
               first_value(line) OVER same_key AS first_line,
               first_value(value) OVER same_key AS first_value
          FROM metering_chunk
         WHERE NOT register
        WINDOW same_key AS (PARTITION BY channel_id, ts ORDER BY line)
    ), compared AS MATERIALIZED (
        SELECT s.line, s.channel_id, s.ts, s.value, s.quality, s.first_line, s.first_value,
               r.value AS stored, r.run_id = %(run)s AS this_run
          FROM source s
          LEFT JOIN metering_intervalreading r ON r.channel_id = s.channel_id AND r.ts = s.ts
    ), inserted AS (
        INSERT INTO metering_intervalreading (channel_id, run_id, ts, value, quality)
        SELECT channel_id, %(run)s, ts, value, quality FROM compared
         WHERE line = first_line AND stored IS NULL
         ORDER BY channel_id, ts
        ON CONFLICT (channel_id, ts) DO NOTHING
        RETURNING 1
    )
""" + REPORT.format(meter="(SELECT meter_id FROM metering_channel WHERE id = c.channel_id)")
INSERT_REGISTERS = """
    WITH source AS MATERIALIZED (
        SELECT s.line, c.meter_id, rt.obis_id, s.ts, s.value, s.quality,
               first_value(s.line) OVER same_key AS first_line,
               first_value(s.value) OVER same_key AS first_value
          FROM metering_chunk s
          JOIN metering_channel c ON c.id = s.channel_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE s.register
        WINDOW same_key AS (PARTITION BY c.meter_id, rt.obis_id, s.ts ORDER BY s.line)
    ), compared AS MATERIALIZED (
        SELECT s.line, s.meter_id, s.obis_id, s.ts, s.value, s.quality, s.first_line,
               s.first_value, r.value::double precision AS stored,
               r.run_id = %(run)s AS this_run
          FROM source s
          LEFT JOIN metering_registerread r
            ON r.meter_id = s.meter_id AND r.obis_id = s.obis_id AND r.ts = s.ts
    ), inserted AS (
        INSERT INTO metering_registerread (meter_id, obis_id, ts, value, quality, run_id)
        SELECT meter_id, obis_id, ts, value, quality, %(run)s FROM compared
         WHERE line = first_line AND stored IS NULL
        ON CONFLICT (meter_id, obis_id, ts) DO NOTHING
        RETURNING 1
    )
""" + REPORT.format(meter="c.meter_id")


def thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")


@dataclass
class IngestResult:
    run: IngestRun
    values_read: int = 0
    inserted: int = 0
    registers_inserted: int = 0
    events_inserted: int = 0
    already_present: int = 0
    rejected: int = 0
    report_path: Path | None = None
    fatal: str = ""
    header: cim.Header | None = None
    rejections: list[Rejection] = field(default_factory=list)  # the first ones, for display

    def summary(self) -> str:
        if self.fatal:
            return f"{self.run.file_name}: archivo rechazado: {self.fatal}"
        return (
            f"{self.run.file_name}: {thousands(self.values_read)} valores leídos, "
            f"{thousands(self.inserted)} lecturas de intervalo y "
            f"{thousands(self.registers_inserted)} de registro nuevas, "
            f"{thousands(self.events_inserted)} eventos, "
            f"{thousands(self.already_present)} ya cargados, "
            f"{thousands(self.rejected)} rechazados"
        )


class _Report:
    """Rejections streamed to CSV as they come (a big bad file must not fill memory)."""

    KEEP = 50

    def __init__(self, path: Path, file_name: str, result: IngestResult) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.file_name = file_name
        self.result = result
        self.handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.handle, delimiter=";")
        self.writer.writerow(REPORT_COLUMNS)

    def add(self, rejection: Rejection) -> None:
        self.result.rejected += 1
        if len(self.result.rejections) < self.KEEP:
            self.result.rejections.append(rejection)
        self.writer.writerow(
            [
                self.file_name,
                rejection.where,
                rejection.field,
                rejection.reason,
                rejection.meter,
                rejection.value,
            ]
        )

    def close(self) -> None:
        self.handle.close()


class _Catalog:
    """Reading types (by CIM code and by an unambiguous OBIS code) and event types."""

    def __init__(self) -> None:
        self.types: dict[str, tuple[int, bool]] = {}
        by_obis: dict[str, list[tuple[int, bool]]] = {}
        for pk, code, minutes, obis in ReadingType.objects.values_list(
            "pk", "code", "interval_minutes", "obis__code"
        ):
            entry = (pk, minutes == 0)
            self.types[code] = entry
            by_obis.setdefault(obis, []).append(entry)
        self.ambiguous = {code for code, entries in by_obis.items() if len(entries) > 1}
        for code, entries in by_obis.items():
            if len(entries) == 1:
                self.types.setdefault(code, entries[0])
        self.events = dict(MeterEventType.objects.values_list("code", "pk"))

    def reading_type(self, code: str) -> tuple[int, bool] | str:
        """(id, is_register), or the reason the code is not accepted."""
        found = self.types.get(code)
        if found:
            return found
        if code in self.ambiguous:
            return f"el código OBIS {code} corresponde a varios tipos de lectura: use el código CIM"
        return f"tipo de lectura desconocido: {code[:60]}"

    def event_type(self, code: str) -> int | None:
        parts = code.split(".")
        return self.events.get(".".join(parts[-3:])) if len(parts) >= 3 else None


class _Channels:
    """(meter serial, reading type code as written in the file) → (channel id, is_register),
    or the reason it is refused (unknown meter or reading type). Resolved a chunk at a time;
    channels are created for known meters and reading types. Bounded: emptied when full."""

    def __init__(self, catalog: _Catalog) -> None:
        self.catalog = catalog
        self.known: dict[tuple[str, str], tuple[int, bool] | str] = {}

    def resolve(self, pairs: set[tuple[str, str]]) -> None:
        missing = pairs - self.known.keys()
        if not missing:
            return
        if len(self.known) + len(missing) > CHANNEL_CACHE:
            self.known.clear()
        asked: list[tuple[str, str, int, bool]] = []
        for serial, code in missing:
            found = self.catalog.reading_type(code)
            if isinstance(found, str):
                self.known[(serial, code)] = found
            else:
                asked.append((serial, code, *found))
        if not asked:
            return
        serials = [a[0] for a in asked]
        types = [a[2] for a in asked]
        with connection.cursor() as cur:
            cur.execute(
                """
                INSERT INTO metering_channel (meter_id, reading_type_id)
                SELECT m.id, p.reading_type_id
                  FROM unnest(%s::text[], %s::int[]) AS p(serial, reading_type_id)
                  JOIN metering_meter m ON m.serial = p.serial
                ON CONFLICT (meter_id, reading_type_id) DO NOTHING
                """,
                [serials, types],
            )
            cur.execute(
                """
                SELECT c.id
                  FROM unnest(%s::text[], %s::int[]) WITH ORDINALITY
                       AS p(serial, reading_type_id, n)
                  LEFT JOIN metering_meter m ON m.serial = p.serial
                  LEFT JOIN metering_channel c
                    ON c.meter_id = m.id AND c.reading_type_id = p.reading_type_id
                 ORDER BY p.n
                """,
                [serials, types],
            )
            for (serial, code, _, register), (channel,) in zip(asked, cur.fetchall(), strict=True):
                self.known[(serial, code)] = (
                    (channel, register) if channel is not None else "medidor desconocido"
                )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def default_report_path(run: IngestRun) -> Path:
    return Path(settings.METERING_REPORTS_DIR) / f"lecturas_{run.pk}.csv"


def ingest_file(
    path: Path,
    *,
    report_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> IngestResult:
    """Load one file; return what happened. A file that cannot be read at all (not CSV or
    MeterReadings XML, missing columns, a DTD) loads nothing and says why in `fatal`."""
    path = Path(path)
    run = IngestRun.objects.create(file_name=path.name, sha256=file_sha256(path), file_format="?")
    result = IngestResult(run=run)
    report = _Report(report_path or default_report_path(run), path.name, result)
    result.report_path = report.path
    try:
        with transaction.atomic():
            _load(path, result, report, progress)
    except FatalFileError as error:
        result.fatal = str(error)
        run.status = IngestRun.Status.FAILED
        run.error = result.fatal
        report.add(Rejection("archivo", "", result.fatal))
    except BaseException as error:  # an interruption too: the run says it did not finish
        run.status = IngestRun.Status.FAILED
        run.error = f"{type(error).__name__}: {error}"
        run.finished_at = timezone.now()
        run.save()
        raise
    else:
        run.status = IngestRun.Status.DONE
    finally:
        report.close()
    if result.fatal:
        # Nothing from the file went in: the counts say so.
        result.values_read = result.inserted = result.registers_inserted = 0
        result.events_inserted = result.already_present = 0
    run.values_read = result.values_read
    run.inserted = result.inserted + result.registers_inserted
    run.already_present = result.already_present
    run.rejected = result.rejected
    run.report = str(result.report_path)
    run.finished_at = timezone.now()
    if result.header:
        run.message_id = result.header.message_id[:100]
        run.correlation_id = result.header.correlation_id[:100]
    run.save()
    return result


def _load(
    path: Path, result: IngestResult, report: _Report, progress: Callable[[int], None] | None
) -> None:
    result.run.file_format = sniff_format(path)
    headers: list[cim.Header] = []
    with _Loader(result, report, progress) as loader:
        for item in items(path, headers, loader.timestamps):
            if type(item) is Batch:
                loader.load(item)
            elif type(item) is Event:
                loader.event(item)
            else:
                report.add(item)
        loader.finish()
    result.values_read = loader.values_read
    result.header = headers[0] if headers else None


@dataclass
class _Rows:
    """The accepted values of a batch, as numpy columns."""

    lines: np.ndarray
    channels: np.ndarray
    stamps: np.ndarray
    values: np.ndarray
    qualities: np.ndarray

    def __len__(self) -> int:
        return len(self.lines)

    def take(self, which: np.ndarray) -> _Rows:
        """The rows a boolean mask or an index array selects."""
        return _Rows(
            self.lines[which],
            self.channels[which],
            self.stamps[which],
            self.values[which],
            self.qualities[which],
        )

    def in_key_order(self) -> _Rows:
        """Sorted by (channel, timestamp), the primary key: an index filled in order touches
        each page once. Head-end files usually come so already (meter by meter)."""
        channels, stamps = self.channels, self.stamps
        if len(channels) < 2:
            return self
        later = channels[1:] > channels[:-1]
        same = channels[1:] == channels[:-1]
        if (later | (same & (stamps[1:] > stamps[:-1]))).all():
            return self
        return self.take(np.lexsort((stamps, channels)))


class _Loader:
    """Batches of values into the store. The interval rows of a batch are sent by a worker
    thread, which waits on PostgreSQL (without the GIL) while this thread reads the next batch;
    everything else (channels, partitions, registers, events, explaining what was left out)
    happens here, with the worker idle. Used as a context manager: the worker is stopped on the
    way out, whatever happened."""

    def __init__(
        self, result: IngestResult, report: _Report, progress: Callable[[int], None] | None
    ) -> None:
        self.result = result
        self.report = report
        self.progress = progress
        self.run_id = result.run.pk
        self.catalog = _Catalog()
        self.channels = _Channels(self.catalog)
        self.events: list[tuple[Event, int]] = []
        self.values_read = 0
        self.timestamps = Timestamps()
        self.months: set[date] = set(partitions.partition_months())
        self.in_flight: tuple[Future, _Rows, bool] | None = None
        self.fast = True  # COPY straight into the store until a key turns out to be there
        self.raw = connection.connection  # psycopg's connection, for COPY and the worker
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        with connection.cursor() as cur:
            # Inside a caller's atomic block ON COMMIT has not come yet: start clean.
            cur.execute("DROP TABLE IF EXISTS metering_chunk")
            cur.execute(CHUNK_TABLE)

    def __enter__(self) -> _Loader:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.in_flight is not None:  # an error or an interruption: let the worker finish
            self.in_flight[0].exception()
            self.in_flight = None
        self.worker.shutdown(wait=True)

    # --- a batch ---------------------------------------------------------------------------

    def load(self, batch: Batch) -> None:
        size = len(batch)
        self.values_read += size
        self.wait()  # the connection is free from here on
        rows, registers = self._accepted(batch)
        if registers is not None:
            self._registers(rows.take(registers))
            rows = rows.take(~registers)
        if len(rows):
            self._partitions()
            self._intervals(rows.in_key_order())
        if self.progress:
            self.progress(size)

    def _accepted(self, batch: Batch) -> tuple[_Rows, np.ndarray | None]:
        """The batch's rows with a channel and a finite value, and which of them are register
        reads (None: none). The others are reported."""
        size = len(batch)
        runs = batch.runs
        self.channels.resolve({(meter, code) for _, meter, code in runs})
        known = self.channels.known
        starts = [run[0] for run in runs]
        lengths = np.diff(np.array([*starts, size]))
        run_channel = np.zeros(len(runs), np.int32)
        run_kind = np.zeros(len(runs), np.int8)  # 0 interval, 1 register, 2 refused
        for n, (start, meter, code) in enumerate(runs):
            found = known[(meter, code)]
            if type(found) is str:
                run_kind[n] = 2
                field = "meter" if found == "medidor desconocido" else "reading_type"
                for line in batch.lines[start : start + lengths[n]]:
                    self.report.add(Rejection(f"línea {line}", field, found, meter))
            else:
                run_channel[n], run_kind[n] = found
        kinds = np.repeat(run_kind, lengths)
        values = np.array(batch.values, np.float64)
        lines = np.array(batch.lines, np.int64)
        infinite = ~np.isfinite(values) & (kinds != 2)
        if infinite.any():
            for index in np.flatnonzero(infinite):
                meter = runs[np.searchsorted(starts, index, side="right") - 1][1]
                self.report.add(
                    Rejection(
                        f"línea {lines[index]}",
                        "value",
                        "valor no numérico",
                        meter,
                        str(values[index]),
                    )
                )
            kinds[infinite] = 2
        rows = _Rows(
            lines,
            np.repeat(run_channel, lengths),
            np.array(batch.stamps, np.int64),
            values,
            (
                np.array(batch.qualities, np.int16)
                if batch.qualities is not None
                else np.zeros(size, np.int16)
            ),
        )
        refused = kinds == 2
        if refused.any():
            rows, kinds = rows.take(~refused), kinds[~refused]
        registers = kinds == 1
        return rows, (registers if registers.any() else None)

    def _partitions(self) -> None:
        """Create the partitions of the local months the values reach, when new."""
        months = self.timestamps.months
        if months - self.months:
            first, last = min(months), max(months)
            zone = self.timestamps.zone
            partitions.ensure_partitions(
                datetime(first.year, first.month, 1, tzinfo=zone),
                datetime(last.year, last.month, 1, tzinfo=zone),
            )
            self.months |= months

    def _stage(self, rows: _Rows, register: bool) -> None:
        """The rows into the staging table (emptied first), by binary COPY."""
        payload = copy_payload(
            CHUNK_ROW,
            line=rows.lines,
            channel_id=rows.channels,
            ts=rows.stamps,
            value=rows.values,
            quality=rows.qualities,
            register=register,
        )
        with connection.cursor() as cur:
            cur.execute("TRUNCATE metering_chunk")
            with cur.copy(COPY_TO_CHUNK) as copy:
                copy.write(payload)

    # --- interval readings -----------------------------------------------------------------

    def _intervals(self, rows: _Rows) -> None:
        """Send the rows, to be collected by wait() once the next batch is read."""
        if self.fast:
            payload = copy_payload(
                STORE_ROW,
                channel_id=rows.channels,
                run_id=self.run_id,
                ts=rows.stamps,
                value=rows.values,
                quality=rows.qualities,
            )
            future = self.worker.submit(self._copy_to_store, payload)
        else:
            self._stage(rows, register=False)
            future = self.worker.submit(self._insert_staged, INSERT_INTERVALS)
        self.in_flight = (future, rows, self.fast)

    def _copy_to_store(self, payload: bytes) -> int:
        """In the worker: COPY into the store from a savepoint; the rows copied."""
        with self.raw.cursor() as cur:
            cur.execute("SAVEPOINT metering_chunk")
            with cur.copy(COPY_TO_STORE) as copy:
                copy.write(payload)
            return cur.rowcount

    def _insert_staged(self, sql: str) -> list[tuple]:
        """In the worker (or here): the careful insert of the staged rows; its answer."""
        with self.raw.cursor() as cur:
            cur.execute(sql, {"run": self.run_id})
            return cur.fetchall()

    def wait(self) -> None:
        """Collect the answer of the rows in flight; report those left out."""
        if self.in_flight is None:
            return
        future, rows, fast = self.in_flight
        self.in_flight = None
        try:
            answer = future.result()
        except psycopg.errors.UniqueViolation:
            if not fast:
                raise
            # Some of the batch is already stored (a re-run, overlapping data) or repeated in
            # it: the careful path for this batch and the rest of the file.
            self.fast = False
            with connection.cursor() as cur:
                cur.execute("ROLLBACK TO SAVEPOINT metering_chunk")
                cur.execute("RELEASE SAVEPOINT metering_chunk")
            self._stage(rows, register=False)
            answer = self._insert_staged(INSERT_INTERVALS)
        else:
            if fast:  # the COPY went through: every row is in
                with connection.cursor() as cur:
                    cur.execute("RELEASE SAVEPOINT metering_chunk")
                self.result.inserted += answer
                return
        inserted = self._account(answer)
        self.result.inserted += inserted
        if not fast and inserted == len(rows):
            # Nothing of this batch was there: the overlap with stored data (often the first
            # hours of a file) is behind; back to the COPY.
            self.fast = True

    def _registers(self, rows: _Rows) -> None:
        self._stage(rows, register=True)
        self.result.registers_inserted += self._account(self._insert_staged(INSERT_REGISTERS))

    def _account(self, answer: list[tuple]) -> int:
        """Report the lines a careful insert left out, count those already loaded with the
        same value; return how many went in."""
        lines = []
        for kind, *row in answer:
            if kind == "counts":
                inserted, new, same = row[-3:]
            else:
                lines.append(row[:6])
        if inserted != new:
            # Between the statement's snapshot and its insert, another load stored some of
            # these keys: what this file would add is no longer known. Nothing is kept.
            raise FatalFileError(
                "otra carga guardó al mismo tiempo lecturas de este archivo; vuelva a cargarlo"
            )
        self.result.already_present += same
        lines.sort()
        for line, serial, value, kept, from_this_run, first_line in lines:
            where = f"línea {line}"
            if line > first_line:
                reason = f"duplicado en el archivo (primera aparición: línea {first_line})"
                if value != kept:
                    reason = (
                        f"duplicado en el archivo con otro valor (primera aparición: "
                        f"línea {first_line}; se conserva {kept:g})"
                    )
                self.report.add(Rejection(where, "timestamp", reason, serial, f"{value:g}"))
            elif from_this_run:
                reason = (
                    "duplicado en el archivo (un valor anterior del archivo tiene "
                    "el mismo medidor, tipo de lectura e instante)"
                )
                self.report.add(Rejection(where, "timestamp", reason, serial, f"{value:g}"))
            else:
                self.report.add(
                    Rejection(
                        where,
                        "value",
                        f"ya existe con otro valor ({kept:g}); se conserva el existente",
                        serial,
                        f"{value:g}",
                    )
                )
        return inserted

    def event(self, event: Event) -> None:
        type_id = self.catalog.event_type(event.code)
        if type_id is None:
            self.report.add(
                Rejection(
                    f"línea {event.line} (EndDeviceEvents)",
                    "EndDeviceEventType",
                    f"tipo de evento desconocido: {event.code[:40]}",
                    event.meter,
                )
            )
            return
        self.events.append((event, type_id))
        if len(self.events) >= 1000:
            self.wait()
            with connection.cursor() as cur:
                self.result.events_inserted += _insert_events(
                    cur, self.events, self.run_id, self.report
                )
            self.events.clear()

    def finish(self) -> None:
        self.wait()
        with connection.cursor() as cur:
            self.result.events_inserted += _insert_events(
                cur, self.events, self.run_id, self.report
            )
            self.events.clear()
            cur.execute("DROP TABLE metering_chunk")


def _insert_events(cur, events: list[tuple[Event, int]], run_id: int, report: _Report) -> int:
    if not events:
        return 0
    serials = sorted({event.meter for event, _ in events})
    cur.execute("SELECT serial, id FROM metering_meter WHERE serial = ANY(%s)", [serials])
    meters = dict(cur.fetchall())
    rows = []
    for event, type_id in events:
        meter = meters.get(event.meter)
        if meter is None:
            report.add(
                Rejection(
                    f"línea {event.line} (EndDeviceEvents)",
                    "Meter",
                    "medidor desconocido",
                    event.meter,
                )
            )
            continue
        rows.append((meter, type_id, event.ts, run_id))
    inserted = 0
    for start in range(0, len(rows), 1000):
        batch = rows[start : start + 1000]
        cur.execute(
            """
            INSERT INTO metering_meterevent (meter_id, event_type_id, ts, run_id)
            SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[], %s::int[])
            ON CONFLICT (meter_id, event_type_id, ts) DO NOTHING
            """,
            [list(column) for column in zip(*batch, strict=True)],
        )
        inserted += cur.rowcount
    return inserted
