"""ingest_readings: a head-end file (CIM XML or CSV) into the readings store.

The file is streamed (metering.services.sources) in batches of values held in columns. For
each batch, the (meter, reading type) pairs not seen yet are resolved to channels in one query
(a channel is created for a known meter and a known reading type); the batch becomes numpy
arrays, and its rows are written in PostgreSQL's binary COPY format:

- new data (the usual case) goes by COPY straight into the partitioned, indexed interval table,
  from a savepoint, in a worker thread that waits on PostgreSQL while Python reads the next
  batch and makes its COPY data ready (the two cores work at once); the file's SHA-256 is
  taken by another thread meanwhile;
- when a key turns out to be stored already (a re-run, overlapping data) or repeated in the
  batch, the COPY fails on the primary key: the batch is rolled back to its savepoint and it,
  with the following batches, is compared with the store (diff.py: the stored rows of the
  batch's channels and instants read by one binary COPY, matched in numpy); what the store
  lacks goes in by COPY and each line left out says why: a duplicate inside the file, or a
  value already stored (the same, counted as already loaded, or a different one, which is
  reported and not overwritten). A batch with nothing stored sends the next by plain COPY;
- a correction (corrections.py) always compares, and replaces the values that differ, each
  one's previous value kept as a ReadingRevision; the VEE, monthly demand and balances of the
  days it touched are computed again;
- register reads are always staged in a temporary table and inserted by a set-based
  statement that leaves stored keys alone (staged.py).

One transaction per file: a run that fails or is interrupted leaves no rows, and running it
again ends with exactly the rows the file holds. A run killed before it could say so is
marked interrupted by the next one (runs.py). Every rejected value is written to the
report (CSV: file, where, field, reason, meter, value) with its line; the valid values of the
same file are loaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import psycopg
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from metering import cim
from metering.lib import DECIMALS
from metering.models import IngestRun, Quality
from metering.services import partitions, virtual
from metering.services.ingest import corrections
from metering.services.ingest.catalog import UNKNOWN_METER, VIRTUAL_METER, Catalog, Channels
from metering.services.ingest.diff import (
    RANGES_TABLE,
    Comparison,
    compare,
    fetch_stored,
    left_out,
)
from metering.services.ingest.events import insert_events
from metering.services.ingest.pgcopy import (
    CHUNK_ROW,
    COPY_TO_CHUNK,
    COPY_TO_STORE,
    STORE_ROW,
    copy_payload,
)
from metering.services.ingest.report import (
    IngestResult,
    Report,
    default_report_path,
    file_sha256,
    thousands,
)
from metering.services.ingest.runs import end_run, start_run
from metering.services.ingest.staged import CHUNK_TABLE, INSERT_REGISTERS
from metering.services.sources import (
    PG_EPOCH,
    Batch,
    Event,
    FatalFileError,
    Rejection,
    Timestamps,
    items,
    sniff_format,
)

__all__ = [
    "COPY_TO_STORE",
    "STORE_ROW",
    "IngestResult",
    "IngestRun",
    "Rejection",
    "copy_payload",
    "default_report_path",
    "ingest_file",
    "thousands",
]


CORRECTION_VERB = "changed"  # a MeterReadings message with it corrects stored readings


def ingest_file(
    path: Path,
    *,
    report_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    correction: str = "",
    decimal: str | None = None,
) -> IngestResult:
    """Load one file; return what happened. A file that cannot be read at all (not CSV or
    MeterReadings XML, missing columns, a DTD) loads nothing and says why in `fatal`.

    `correction`: the reason the file's values replace the stored ones that differ (each
    previous value kept as a ReadingRevision; VEE, demand and balances of the touched days
    computed again). A CIM message with the verb `changed` is a correction without it.
    `decimal`: the CSV's decimal separator ("." or ","), as a `#decimal=` first line would."""
    path = Path(path)
    if decimal not in (None, *DECIMALS):
        raise ValueError(f"decimal: {decimal!r}, se esperaba '.' o ','")
    open(path, "rb").close()  # a file that cannot be opened starts no run, as before
    # The file's digest is taken by a thread while it is read and loaded (hashlib lets go of
    # the GIL): read first, it held the load back by about a second per 400 MB.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sha256") as hashing:
        digest = hashing.submit(file_sha256, path)
        return _ingest(path, report_path, progress, correction, decimal, digest)


def _ingest(
    path: Path,
    report_path: Path | None,
    progress: Callable[[int], None] | None,
    correction: str,
    decimal: str | None,
    digest: Future,
) -> IngestResult:
    run, interrupted = start_run(path, "", correction)
    result = IngestResult(run=run, interrupted=interrupted)
    report = Report(report_path or default_report_path(run), path.name, result)
    result.report_path = report.path
    try:
        with transaction.atomic():
            touched, stamps = _load(path, result, report, progress, correction, decimal)
            if touched:
                result.recomputed = corrections.recompute(touched)
            if stamps is not None:
                # Virtual meters whose sources this file fed, for the days it reached.
                result.virtual = virtual.compute(*virtual.local_days(*stamps), run=run).written
    except FatalFileError as error:
        result.fatal = str(error)
        run.status = IngestRun.Status.FAILED
        run.error = result.fatal
        report.add(Rejection("archivo", "", result.fatal))
    except BaseException as error:  # an interruption too: the run says it did not finish
        interruption = isinstance(error, KeyboardInterrupt | SystemExit)
        run.status = IngestRun.Status.INTERRUPTED if interruption else IngestRun.Status.FAILED
        run.error = f"{type(error).__name__}: {error}"
        run.finished_at = timezone.now()
        run.sha256 = _digest_of(digest)
        run.save()
        _release(run)
        raise
    else:
        run.status = IngestRun.Status.DONE
    finally:
        report.close()
    if result.fatal:
        # Nothing from the file went in: the counts say so.
        result.values_read = result.inserted = result.registers_inserted = 0
        result.events_inserted = result.already_present = result.corrected = 0
        result.recomputed = {}
    run.values_read = result.values_read
    run.inserted = result.inserted + result.registers_inserted
    run.already_present = result.already_present
    run.corrected = result.corrected
    run.rejected = result.rejected
    run.report = str(result.report_path)
    run.finished_at = timezone.now()
    run.sha256 = _digest_of(digest)
    if result.header:
        run.message_id = result.header.message_id[:100]
        run.correlation_id = result.header.correlation_id[:100]
    run.save()
    _release(run)
    return result


def _digest_of(digest: Future) -> str:
    """The file's SHA-256, or "" when it could not be read to the end."""
    try:
        return digest.result()
    except OSError:
        return ""


def _release(run: IngestRun) -> None:
    with contextlib.suppress(DatabaseError):  # the connection is gone: so is its lock
        end_run(run)


def _load(
    path: Path,
    result: IngestResult,
    report: Report,
    progress: Callable[[int], None] | None,
    correction: str,
    decimal: str | None,
) -> tuple[corrections.Touched, tuple[datetime, datetime] | None]:
    result.run.file_format = sniff_format(path)
    headers: list[cim.Header] = []
    with _Loader(result, report, progress, correction, headers) as loader:
        for item in items(path, headers, loader.timestamps, decimal):
            if type(item) is Batch:
                loader.load(item)
            elif type(item) is Event:
                loader.event(item)
            else:
                report.add(item)
        loader.finish()
    result.values_read = loader.values_read
    result.header = headers[0] if headers else None
    stamps = None
    if loader.stamps is not None:
        first, last = loader.stamps
        stamps = (PG_EPOCH + timedelta(microseconds=first), PG_EPOCH + timedelta(microseconds=last))
    return loader.touched, stamps


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


# The loader stays in this module rather than a submodule of its own: it looks COPY_TO_STORE
# up here when it copies, so replacing metering.services.ingest.COPY_TO_STORE (the tests do,
# to make a COPY fail) still reaches it.
class _Loader:
    """Batches of values into the store. The interval rows of a batch are sent by a worker
    thread, which waits on PostgreSQL (without the GIL) while this thread reads the next batch;
    everything else (channels, partitions, registers, events, explaining what was left out)
    happens here, with the worker idle. Used as a context manager: the worker is stopped on the
    way out, whatever happened."""

    def __init__(
        self,
        result: IngestResult,
        report: Report,
        progress: Callable[[int], None] | None,
        correction: str = "",
        headers: list[cim.Header] | None = None,
    ) -> None:
        self.result = result
        self.correction = correction  # the reason, when this run corrects stored values
        self.headers = headers if headers is not None else []
        self.touched = corrections.Touched()
        self.report = report
        self.progress = progress
        self.run_id = result.run.pk
        self.catalog = Catalog()
        self.channels = Channels(self.catalog)
        self.events: list[tuple[Event, int]] = []
        self.values_read = 0
        self.stamps: tuple[int, int] | None = None  # the interval values' first and last
        self.timestamps = Timestamps()
        self.months: set[date] = set(partitions.partition_months())
        self.in_flight: tuple[Future, _Rows, bool] | None = None
        self.fast = True  # COPY straight into the store until a key turns out to be there
        self.raw = connection.connection  # psycopg's connection, for COPY and the worker
        self.worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest")
        with connection.cursor() as cur:
            # Inside a caller's atomic block ON COMMIT has not come yet: start clean.
            cur.execute("DROP TABLE IF EXISTS metering_chunk, metering_ranges")
            cur.execute(CHUNK_TABLE)
            cur.execute(RANGES_TABLE)

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
        if not self.values_read:
            self._correction_verb()
        self.values_read += size
        prepared = self._prepared(batch) if self.fast and self.in_flight is not None else None
        self.wait()  # the connection is free from here on
        if prepared is not None and self.fast:
            rows, payload = prepared
            self._span(rows)
            future = self.worker.submit(self._copy_to_store, payload)
            self.in_flight = (future, rows, True)
            if self.progress:
                self.progress(size)
            return
        rows, registers = self._accepted(batch)
        if registers is not None:
            self._registers(rows.take(registers))
            rows = rows.take(~registers)
        if len(rows):
            self._partitions()
            self._span(rows)
            self._intervals(rows.in_key_order())
        if self.progress:
            self.progress(size)

    def _span(self, rows: _Rows) -> None:
        low, high = int(rows.stamps.min()), int(rows.stamps.max())
        if self.stamps is not None:
            low, high = min(low, self.stamps[0]), max(high, self.stamps[1])
        self.stamps = (low, high)

    def _prepared(self, batch: Batch) -> tuple[_Rows, bytes] | None:
        """The batch's rows and COPY data, made while the worker still sends the previous
        batch (PostgreSQL would otherwise wait for them), when that needs neither the
        connection nor the report: every value an interval value of a channel already known,
        finite, in a month with its partition. None otherwise: load() does it all after."""
        known = self.channels.known
        channels = []
        for _, meter, code in batch.runs:
            found = known.get((meter, code))
            if type(found) is not tuple or found[1]:
                return None
            channels.append(found[0])
        if self.timestamps.months - self.months:
            return None
        values = np.array(batch.values, np.float64)
        if not np.isfinite(values).all():
            return None
        starts = [run[0] for run in batch.runs]
        lengths = np.diff(np.array([*starts, len(batch)]))
        rows = _Rows(
            np.array(batch.lines, np.int64),
            np.repeat(np.array(channels, np.int32), lengths),
            np.array(batch.stamps, np.int64),
            values,
            (
                np.array(batch.qualities, np.int16)
                if batch.qualities is not None
                else np.zeros(len(batch), np.int16)
            ),
        ).in_key_order()
        payload = copy_payload(
            STORE_ROW,
            channel_id=rows.channels,
            run_id=self.run_id,
            ts=rows.stamps,
            value=rows.values,
            quality=rows.qualities,
        )
        return rows, payload

    def _correction_verb(self) -> None:
        """A MeterReadings message with the verb `changed` corrects what it names."""
        header = self.headers[0] if self.headers else None
        if header is not None and header.verb == CORRECTION_VERB and not self.correction:
            self.correction = f"mensaje MeterReadings '{CORRECTION_VERB}' {header.message_id}"
            self.correction = self.correction[:255]
            self.result.run.correction = self.correction
        if self.correction:
            self.fast = False  # every batch is compared with the store

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
                field = "meter" if found in (UNKNOWN_METER, VIRTUAL_METER) else "reading_type"
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
                        "valor no numérico: fuera de rango",
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
            future = self.worker.submit(self._compare_and_store, rows)
        self.in_flight = (future, rows, self.fast)

    def _copy_to_store(self, payload: bytes) -> int:
        """In the worker: COPY into the store from a savepoint; the rows copied."""
        with self.raw.cursor() as cur:
            cur.execute("SAVEPOINT metering_chunk")
            with cur.copy(COPY_TO_STORE) as copy:
                copy.write(payload)
            return cur.rowcount

    def _compare_and_store(self, rows: _Rows) -> Comparison:
        """In the worker (or here): the rows against the store; those it lacks go in, and,
        in a correction, those that differ replace the stored ones."""
        with self.raw.cursor() as cur:
            stored = fetch_stored(cur, rows.channels, rows.stamps)
            source = int(Quality.SOURCE) if self.correction else None
            found = compare(rows, stored, self.run_id, source)
            if found.new.any():
                new = rows.take(found.new)
                with cur.copy(COPY_TO_STORE) as copy:
                    copy.write(
                        copy_payload(
                            STORE_ROW,
                            channel_id=new.channels,
                            run_id=self.run_id,
                            ts=new.stamps,
                            value=new.values,
                            quality=new.qualities,
                        )
                    )
            if self.correction and found.differ.any():
                corrections.revise_intervals(cur, rows, found, self.run_id, self.correction)
        return found

    def _insert_staged(self, sql: str) -> list[tuple]:
        """The careful insert of the staged register reads; its answer."""
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
                # Keys the comparison found missing were stored meanwhile by another load:
                # what this file adds is no longer known. Nothing is kept.
                raise FatalFileError(
                    "otra carga guardó al mismo tiempo lecturas de este archivo; vuelva a cargarlo"
                ) from None
            # Some of the batch is already stored (a re-run, overlapping data) or repeated in
            # it: compared with the store, this batch and the next ones.
            self.fast = False
            with connection.cursor() as cur:
                cur.execute("ROLLBACK TO SAVEPOINT metering_chunk")
                cur.execute("RELEASE SAVEPOINT metering_chunk")
            answer = self._compare_and_store(rows)
        else:
            if fast:  # the COPY went through: every row is in
                with connection.cursor() as cur:
                    cur.execute("RELEASE SAVEPOINT metering_chunk")
                self.result.inserted += answer
                return
        self._account_comparison(rows, answer)
        if not self.correction and answer.new.all():
            # Nothing of this batch was there: the overlap with stored data (often the first
            # hours of a file) is behind; back to the COPY.
            self.fast = True

    def _account_comparison(self, rows: _Rows, found: Comparison) -> None:
        """Count what a comparison stored, report the lines it left out."""
        result = self.result
        result.inserted += int(found.new.sum())
        result.already_present += int(found.same.sum())
        if self.correction:
            changed = found.new | found.differ
            result.corrected += int(found.differ.sum())
            self.touched.add(rows.channels[changed], rows.stamps[changed])
        for rejection in left_out(rows, found, self.channels.serials, bool(self.correction)):
            self.report.add(rejection)

    def _registers(self, rows: _Rows) -> None:
        self._stage(rows, register=True)
        if self.correction:
            with connection.cursor() as cur:
                revised = corrections.revise_registers(
                    cur, self.run_id, self.correction, int(Quality.SOURCE)
                )
            self.result.corrected += len(revised)
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
                self.result.events_inserted += insert_events(
                    cur, self.events, self.run_id, self.report
                )
            self.events.clear()

    def finish(self) -> None:
        self.wait()
        with connection.cursor() as cur:
            self.result.events_inserted += insert_events(cur, self.events, self.run_id, self.report)
            self.events.clear()
            cur.execute("DROP TABLE metering_chunk, metering_ranges")
