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
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

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
    Value,
    items,
    sniff_format,
)

CHUNK = 50_000  # values per COPY
CHANNEL_CACHE = 200_000  # (meter, reading type) pairs remembered while reading one file
REPORT_COLUMNS = ["archivo", "ubicación", "campo", "motivo", "medidor", "valor"]

STAGING = """
    CREATE TEMPORARY TABLE metering_staging (
        line bigint NOT NULL,
        channel_id integer NOT NULL,
        ts timestamptz NOT NULL,
        value double precision NOT NULL,
        quality smallint NOT NULL,
        register boolean NOT NULL
    ) ON COMMIT DROP
"""
STAGING_TYPES = ["int8", "int4", "timestamptz", "float8", "int2", "bool"]

INSERT_INTERVALS = """
    INSERT INTO metering_intervalreading (channel_id, run_id, ts, value, quality)
    SELECT channel_id, %s, ts, value, quality FROM metering_staging WHERE NOT register
    ON CONFLICT (channel_id, ts) DO NOTHING
"""
INSERT_REGISTERS = """
    INSERT INTO metering_registerread (meter_id, obis_id, ts, value, quality, run_id)
    SELECT c.meter_id, rt.obis_id, s.ts, s.value, s.quality, %s
      FROM metering_staging s
      JOIN metering_channel c ON c.id = s.channel_id
      JOIN metering_readingtype rt ON rt.id = c.reading_type_id
     WHERE s.register
    ON CONFLICT (meter_id, obis_id, ts) DO NOTHING
"""
# Rows of the file that did not go in, with the row that holds their key and whether it came
# from this run: duplicates inside the file, or values stored by an earlier run.
LEFT_OUT_INTERVALS = """
    SELECT s.line, m.serial, s.value, r.value::double precision, r.run_id = %(run)s,
           (SELECT min(d.line) FROM metering_staging d
             WHERE d.channel_id = s.channel_id AND d.ts = s.ts AND NOT d.register)
      FROM metering_staging s
      JOIN metering_intervalreading r ON r.channel_id = s.channel_id AND r.ts = s.ts
      JOIN metering_channel c ON c.id = s.channel_id
      JOIN metering_meter m ON m.id = c.meter_id
     WHERE NOT s.register
       AND (r.run_id <> %(run)s OR EXISTS (
            SELECT FROM metering_staging d
             WHERE d.channel_id = s.channel_id AND d.ts = s.ts AND NOT d.register
               AND d.line < s.line))
     ORDER BY s.line
"""
LEFT_OUT_REGISTERS = """
    SELECT s.line, m.serial, s.value, r.value::double precision, r.run_id = %(run)s,
           (SELECT min(d.line) FROM metering_staging d
             WHERE d.channel_id = s.channel_id AND d.ts = s.ts AND d.register)
      FROM metering_staging s
      JOIN metering_channel c ON c.id = s.channel_id
      JOIN metering_meter m ON m.id = c.meter_id
      JOIN metering_readingtype rt ON rt.id = c.reading_type_id
      JOIN metering_registerread r
        ON r.meter_id = c.meter_id AND r.obis_id = rt.obis_id AND r.ts = s.ts
     WHERE s.register
       AND (r.run_id <> %(run)s OR EXISTS (
            SELECT FROM metering_staging d
             WHERE d.channel_id = s.channel_id AND d.ts = s.ts AND d.register
               AND d.line < s.line))
     ORDER BY s.line
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
    """(meter serial, reading type id) → channel id, or None for an unknown meter; resolved
    in batches, channels created for known meters; the most recent pairs kept (LRU)."""

    def __init__(self) -> None:
        self.known: OrderedDict[tuple[str, int], int | None] = OrderedDict()

    def resolve(self, pairs: Iterable[tuple[str, int]]) -> None:
        missing = sorted({p for p in pairs if p not in self.known})
        if not missing:
            return
        serials = [p[0] for p in missing]
        types = [p[1] for p in missing]
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
                SELECT p.serial, p.reading_type_id, c.id
                  FROM unnest(%s::text[], %s::int[]) AS p(serial, reading_type_id)
                  LEFT JOIN metering_meter m ON m.serial = p.serial
                  LEFT JOIN metering_channel c
                    ON c.meter_id = m.id AND c.reading_type_id = p.reading_type_id
                """,
                [serials, types],
            )
            for serial, type_id, channel in cur.fetchall():
                self.known[(serial, type_id)] = channel
        while len(self.known) > CHANNEL_CACHE:
            self.known.popitem(last=False)

    def get(self, pair: tuple[str, int]) -> int | None:
        channel = self.known.get(pair)
        if channel is not None:
            self.known.move_to_end(pair)
        return channel


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
    catalog = _Catalog()
    channels = _Channels()
    headers: list[cim.Header] = []
    first: datetime | None = None
    last: datetime | None = None
    staged_intervals = staged_registers = 0
    pending: list[Value] = []
    events: list[tuple[Event, int]] = []

    with connection.cursor() as cur:
        # Inside an outer transaction (a caller's atomic block) ON COMMIT has not come yet.
        cur.execute("DROP TABLE IF EXISTS metering_staging")
        cur.execute(STAGING)

    def flush() -> None:
        nonlocal first, last, staged_intervals, staged_registers
        rows = []
        typed = []
        for value in pending:
            found = catalog.reading_type(value.reading_type)
            if isinstance(found, str):
                report.add(Rejection(f"línea {value.line}", "reading_type", found, value.meter))
                continue
            typed.append((value, found))
        channels.resolve((value.meter, found[0]) for value, found in typed)
        for value, (type_id, register) in typed:
            channel = channels.get((value.meter, type_id))
            if channel is None:
                report.add(
                    Rejection(f"línea {value.line}", "meter", "medidor desconocido", value.meter)
                )
                continue
            rows.append((value.line, channel, value.ts, value.value, value.quality, register))
            if register:
                staged_registers += 1
            else:
                staged_intervals += 1
                first = value.ts if first is None or value.ts < first else first
                last = value.ts if last is None or value.ts > last else last
        if rows:
            with (
                connection.cursor() as cur,
                cur.copy("COPY metering_staging FROM STDIN (FORMAT BINARY)") as copy,
            ):
                copy.set_types(STAGING_TYPES)
                for row in rows:
                    copy.write_row(row)
        if progress:
            progress(len(pending))
        pending.clear()

    for item in items(path, headers):
        if isinstance(item, Value):
            result.values_read += 1
            pending.append(item)
            if len(pending) >= CHUNK:
                flush()
        elif isinstance(item, Event):
            type_id = catalog.event_type(item.code)
            if type_id is None:
                report.add(
                    Rejection(
                        f"línea {item.line} (EndDeviceEvents)",
                        "EndDeviceEventType",
                        f"tipo de evento desconocido: {item.code[:40]}",
                        item.meter,
                    )
                )
            else:
                events.append((item, type_id))
        else:
            report.add(item)
    flush()
    result.header = headers[0] if headers else None

    run_id = result.run.pk
    with connection.cursor() as cur:
        if staged_intervals:
            partitions.ensure_partitions(first, last)
            cur.execute(INSERT_INTERVALS, [run_id])
            result.inserted = cur.rowcount
        if staged_registers:
            cur.execute(INSERT_REGISTERS, [run_id])
            result.registers_inserted = cur.rowcount
        if result.inserted < staged_intervals:
            _explain_left_out(cur, LEFT_OUT_INTERVALS, run_id, result, report)
        if result.registers_inserted < staged_registers:
            _explain_left_out(cur, LEFT_OUT_REGISTERS, run_id, result, report)
        result.events_inserted = _insert_events(cur, events, run_id, report)
        cur.execute("DROP TABLE metering_staging")


def _explain_left_out(cur, sql: str, run_id: int, result: IngestResult, report: _Report) -> None:
    cur.execute(sql, {"run": run_id})
    for line, serial, value, stored, from_this_run, first_line in cur.fetchall():
        where = f"línea {line}"
        if from_this_run or (first_line is not None and first_line < line):
            if value == stored:
                reason = f"duplicado en el archivo (primera aparición: línea {first_line})"
            else:
                reason = (
                    f"duplicado en el archivo con otro valor (primera aparición: línea "
                    f"{first_line}; se conserva {stored:g})"
                )
            report.add(Rejection(where, "timestamp", reason, serial, f"{value:g}"))
        elif value == stored:
            result.already_present += 1
        else:
            report.add(
                Rejection(
                    where,
                    "value",
                    f"ya existe con otro valor ({stored:g}); se conserva el existente",
                    serial,
                    f"{value:g}",
                )
            )


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
