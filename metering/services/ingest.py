"""ingest_readings: a head-end file (CIM XML or CSV) into the readings store.

The file is streamed (metering.services.sources) in chunks. For each chunk, the (meter, reading
type) pairs not seen yet are resolved to channels in one query (a channel is created for a
known meter and a known reading type), then the chunk's values are written by binary COPY into
a temporary staging table. At the end, set-based statements move the staging rows into the
partitioned interval table and the register table with ON CONFLICT DO NOTHING, so a second run
of the same file inserts nothing. Only when fewer rows went in than were staged does a second
look at the staging table say why: a duplicate inside the file, or a value already stored
(the same, or a different one, which is reported and not overwritten).

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
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from metering import cim
from metering.models import IngestRun, MeterEventType, ReadingType
from metering.services import partitions
from metering.services.sources import (
    Event,
    FatalFileError,
    Rejection,
    Timestamps,
    items,
    sniff_format,
)

CHUNK = 50_000  # values per COPY
CHANNEL_CACHE = 200_000  # (meter, reading type) pairs remembered while reading one file
REPORT_COLUMNS = ["archivo", "ubicación", "campo", "motivo", "medidor", "valor"]

# One chunk of the file at a time; the rows of the chunk being inserted stay here until the
# insert has answered (and, on the rare path, been explained).
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
# Rows in PostgreSQL's binary COPY format, packed here: field count, then each field's
# length and value (int8 line, int4 channel, timestamptz as int8 microseconds since 2000,
# float8 value, int2 quality, bool register). Faster than encoding them field by field.
ROW = struct.Struct(">h i q i i i q i d i h i ?")
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
COPY_TRAILER = struct.pack(">h", -1)
INSERTED_TABLE = """
    CREATE TEMPORARY TABLE metering_chunk_inserted (channel_id integer, ts timestamptz)
    ON COMMIT DROP
"""
REGISTERS_INSERTED_TABLE = """
    CREATE TEMPORARY TABLE metering_chunk_registers (
        meter_id bigint, obis_id bigint, ts timestamptz
    ) ON COMMIT DROP
"""

# The chunk's distinct keys in index order (the earliest line of a key wins, and a sorted
# insert touches the index pages in order), inserted unless already stored; answers how many
# distinct keys there were and how many went in. New data takes INSERT_INTERVALS_FAST instead
# (a plain insert costs half of one with ON CONFLICT); a key already stored, or repeated in the
# chunk, then fails it, and the chunk is inserted again from its savepoint with this one.
ON_CONFLICT = "ON CONFLICT (channel_id, ts) DO NOTHING"
# The fast path itself: no de-duplication, no counting query (a repeat in the chunk fails the
# statement like a stored key does); the cursor's row count says how many went in.
INSERT_INTERVALS_FAST = """
    INSERT INTO metering_intervalreading (channel_id, run_id, ts, value, quality)
    SELECT channel_id, %(run)s, ts, value, quality FROM metering_chunk
     WHERE NOT register ORDER BY channel_id, ts
"""
INSERT_INTERVALS = """
    WITH source AS MATERIALIZED (
        SELECT DISTINCT ON (channel_id, ts) channel_id, ts, value, quality
          FROM metering_chunk WHERE NOT register
         ORDER BY channel_id, ts, line
    ), inserted AS (
        INSERT INTO metering_intervalreading (channel_id, run_id, ts, value, quality)
        SELECT channel_id, %(run)s, ts, value, quality FROM source
        {conflict}
        RETURNING {returning}
    ){into}
    SELECT (SELECT count(*) FROM source), (SELECT count(*) FROM inserted)
"""
INSERT_REGISTERS = """
    WITH source AS MATERIALIZED (
        SELECT DISTINCT ON (c.meter_id, rt.obis_id, s.ts)
               c.meter_id, rt.obis_id, s.ts, s.value, s.quality
          FROM metering_chunk s
          JOIN metering_channel c ON c.id = s.channel_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE s.register
         ORDER BY c.meter_id, rt.obis_id, s.ts, s.line
    ), inserted AS (
        INSERT INTO metering_registerread (meter_id, obis_id, ts, value, quality, run_id)
        SELECT meter_id, obis_id, ts, value, quality, %(run)s FROM source
        ON CONFLICT (meter_id, obis_id, ts) DO NOTHING
        RETURNING meter_id, obis_id, ts
    ), recorded AS (
        INSERT INTO metering_chunk_registers SELECT * FROM inserted
    )
    SELECT (SELECT count(*) FROM source), (SELECT count(*) FROM inserted)
"""
# Why rows of the chunk did not go in: a later line of a key the chunk repeats; or a key
# already stored, by an earlier run (the same value, or another) or by an earlier chunk of
# this file. `metering_chunk_inserted` holds the keys this chunk inserted.
LEFT_OUT_INTERVALS = """
    WITH firsts AS (
        SELECT line, channel_id, ts, value,
               min(line) OVER (PARTITION BY channel_id, ts) AS first_line
          FROM metering_chunk WHERE NOT register
    )
    SELECT f.line, m.serial, f.value, r.value AS stored, r.run_id = %(run)s AS this_run,
           f.first_line
      FROM firsts f
      JOIN metering_intervalreading r ON r.channel_id = f.channel_id AND r.ts = f.ts
      JOIN metering_channel c ON c.id = f.channel_id
      JOIN metering_meter m ON m.id = c.meter_id
      LEFT JOIN metering_chunk_inserted i ON i.channel_id = f.channel_id AND i.ts = f.ts
     WHERE f.line > f.first_line OR i.channel_id IS NULL
"""
LEFT_OUT_REGISTERS = """
    WITH firsts AS (
        SELECT line, channel_id, ts, value,
               min(line) OVER (PARTITION BY channel_id, ts) AS first_line
          FROM metering_chunk WHERE register
    )
    SELECT f.line, m.serial, f.value, r.value::double precision AS stored,
           r.run_id = %(run)s AS this_run, f.first_line
      FROM firsts f
      JOIN metering_channel c ON c.id = f.channel_id
      JOIN metering_meter m ON m.id = c.meter_id
      JOIN metering_readingtype rt ON rt.id = c.reading_type_id
      JOIN metering_registerread r
        ON r.meter_id = c.meter_id AND r.obis_id = rt.obis_id AND r.ts = f.ts
      LEFT JOIN metering_chunk_registers i
        ON i.meter_id = r.meter_id AND i.obis_id = r.obis_id AND i.ts = r.ts
     WHERE f.line > f.first_line OR i.meter_id IS NULL
"""


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

    def resolve(self, rows: list[tuple]) -> None:
        missing = {(row[1], row[2]) for row in rows} - self.known.keys()
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
    loader = _Loader(result, report, progress)
    headers: list[cim.Header] = []
    pending = loader.pending
    for item in items(path, headers, loader.timestamps):
        if type(item) is list:
            pending.extend(item)
            if len(pending) >= CHUNK:
                loader.flush()
        elif isinstance(item, Event):
            loader.event(item)
        else:
            report.add(item)
    loader.flush()
    loader.finish()
    result.values_read = loader.values_read
    result.header = headers[0] if headers else None


class _Loader:
    """Chunks of values into the store. While PostgreSQL inserts one chunk (sent in pipeline
    mode, without waiting), Python reads the next: the two cores work at once."""

    def __init__(
        self, result: IngestResult, report: _Report, progress: Callable[[int], None] | None
    ) -> None:
        self.result = result
        self.report = report
        self.progress = progress
        self.run_id = result.run.pk
        self.catalog = _Catalog()
        self.channels = _Channels(self.catalog)
        self.pending: list[tuple] = []
        self.events: list[tuple[Event, int]] = []
        self.values_read = 0
        self.timestamps = Timestamps()
        self.months: set[date] = set(partition_months())
        self.in_flight: tuple | None = None  # (pipeline, cursors, interval rows, register rows)
        self.fast = True  # plain inserts until a key turns out to be stored already
        self.raw = connection.connection  # psycopg's connection, for COPY and the pipeline
        with connection.cursor() as cur:
            # Inside a caller's atomic block ON COMMIT has not come yet: start clean.
            cur.execute(
                "DROP TABLE IF EXISTS metering_chunk, metering_chunk_inserted, "
                "metering_chunk_registers"
            )
            cur.execute(CHUNK_TABLE)
            cur.execute(INSERTED_TABLE)
            cur.execute(REGISTERS_INSERTED_TABLE)

    def flush(self) -> None:
        rows = self.pending
        if not rows:
            return
        self.values_read += len(rows)
        self.wait()
        self.channels.resolve(rows)
        known = self.channels.known
        pack = ROW.pack
        out = [COPY_HEADER]
        append = out.append
        registers = 0
        for line, meter, code, ts, value, quality in rows:
            found = known[(meter, code)]
            if type(found) is str:
                field = "meter" if found == "medidor desconocido" else "reading_type"
                self.report.add(Rejection(f"línea {line}", field, found, meter))
                continue
            append(pack(6, 8, line, 4, found[0], 8, ts, 8, value, 2, quality, 1, found[1]))
            registers += found[1]
        staged = len(out) - 1
        intervals = staged - registers
        rows.clear()
        if not staged:
            return
        if intervals:
            self._partitions()
        out.append(COPY_TRAILER)
        with connection.cursor() as cur:
            cur.execute("TRUNCATE metering_chunk, metering_chunk_registers")
            with cur.copy("COPY metering_chunk FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(b"".join(out))
        # Sent now, answered later (wait): the next chunk is read meanwhile.
        pipeline = self.raw.pipeline()  # a context manager, entered here and left in wait()
        pipeline.__enter__()
        cursors = (self.raw.cursor(), self.raw.cursor())
        self.raw.execute("SAVEPOINT metering_chunk")
        if intervals:
            if self.fast:
                cursors[0].execute(INSERT_INTERVALS_FAST, {"run": self.run_id})
            else:
                cursors[0].execute(
                    INSERT_INTERVALS.format(returning="1", into="", conflict=ON_CONFLICT),
                    {"run": self.run_id},
                )
        if registers:
            cursors[1].execute(INSERT_REGISTERS, {"run": self.run_id})
        self.in_flight = (pipeline, cursors, intervals, registers)
        if self.progress:
            self.progress(staged)

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

    def wait(self) -> None:
        """Collect the answer of the chunk in flight; explain the rows it left out."""
        if self.in_flight is None:
            return
        pipeline, cursors, intervals, registers = self.in_flight
        self.in_flight = None
        fast = self.fast
        try:
            pipeline.__exit__(None, None, None)
        except psycopg.errors.UniqueViolation:
            fast = False
            # Some of the chunk is already stored: a re-run or overlapping data. Take the
            # careful path for this chunk and the rest of the file.
            self.fast = False
            self.raw.execute("ROLLBACK TO SAVEPOINT metering_chunk")
            if intervals:
                cursors[0].execute(
                    INSERT_INTERVALS.format(returning="1", into="", conflict=ON_CONFLICT),
                    {"run": self.run_id},
                )
            if registers:
                cursors[1].execute(INSERT_REGISTERS, {"run": self.run_id})
        if intervals:
            if fast:
                distinct = inserted = cursors[0].rowcount
            else:
                distinct, inserted = cursors[0].fetchone()
            if inserted < intervals:
                inserted = self._explain_intervals(intervals, distinct, inserted)
            self.result.inserted += inserted
        if registers:
            distinct, inserted = cursors[1].fetchone()
            if inserted < registers:
                self._explain(LEFT_OUT_REGISTERS)
            self.result.registers_inserted += inserted
        with connection.cursor() as cur:
            cur.execute("RELEASE SAVEPOINT metering_chunk")

    def _explain_intervals(self, intervals: int, distinct: int, inserted: int) -> int:
        """Rows left out of the chunk: find out which, and why. When some distinct keys were
        already stored, the chunk is inserted again (from its savepoint) recording the keys
        it inserts, so an earlier chunk of this file and an earlier run can be told apart."""
        with connection.cursor() as cur:
            if inserted < distinct:
                cur.execute("ROLLBACK TO SAVEPOINT metering_chunk")
                cur.execute("TRUNCATE metering_chunk_inserted")
                cur.execute(
                    INSERT_INTERVALS.format(
                        conflict=ON_CONFLICT,
                        returning="channel_id, ts",
                        into=", recorded AS (INSERT INTO metering_chunk_inserted "
                        "SELECT channel_id, ts FROM inserted)",
                    ),
                    {"run": self.run_id},
                )
                distinct, inserted = cur.fetchone()
            else:
                # Only repeats inside the chunk: the first line of each key went in.
                cur.execute("TRUNCATE metering_chunk_inserted")
                cur.execute(
                    "INSERT INTO metering_chunk_inserted "
                    "SELECT DISTINCT channel_id, ts FROM metering_chunk WHERE NOT register"
                )
        self._explain(LEFT_OUT_INTERVALS)
        return inserted

    def _explain(self, sql: str) -> None:
        """Report the rows of the chunk `sql` finds left out; count, without fetching them,
        those an earlier run already stored with the same value (a re-run: all of them)."""
        with connection.cursor() as cur:
            cur.execute(
                f"""
                WITH left_out AS ({sql})
                SELECT line, serial, value, stored, this_run, first_line FROM left_out
                 WHERE line > first_line OR this_run OR value <> stored
                 UNION ALL
                SELECT NULL, NULL, NULL, NULL, NULL, count(*) FROM left_out
                 WHERE line = first_line AND NOT this_run AND value = stored
                """,
                {"run": self.run_id},
            )
            rows = []
            for row in cur.fetchall():
                if row[0] is None:  # the count
                    self.result.already_present += row[5]
                else:
                    rows.append(row)
            rows.sort()
            for line, serial, value, stored, from_this_run, first_line in rows:
                where = f"línea {line}"
                if line > first_line:
                    reason = f"duplicado en el archivo (primera aparición: línea {first_line})"
                    if value != stored:
                        reason = (
                            f"duplicado en el archivo con otro valor (primera aparición: "
                            f"línea {first_line}; se conserva {stored:g})"
                        )
                    self.report.add(Rejection(where, "timestamp", reason, serial, f"{value:g}"))
                elif from_this_run:
                    reason = (
                        "duplicado en el archivo (un valor anterior del archivo tiene "
                        "el mismo medidor, tipo de lectura e instante)"
                    )
                    self.report.add(Rejection(where, "timestamp", reason, serial, f"{value:g}"))
                elif value == stored:
                    self.result.already_present += 1
                else:
                    self.report.add(
                        Rejection(
                            where,
                            "value",
                            f"ya existe con otro valor ({stored:g}); se conserva el existente",
                            serial,
                            f"{value:g}",
                        )
                    )

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
            cur.execute(
                "DROP TABLE metering_chunk, metering_chunk_inserted, metering_chunk_registers"
            )


def partition_months() -> list[date]:
    return [date(int(name[-7:-3]), int(name[-2:]), 1) for name in partitions.partitions()]


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
