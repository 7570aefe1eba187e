"""The volume estimate of the initial load (annex §6.1): records and bytes per entity.

The bytes are measured, not guessed: a sample of each entity is serialised exactly as the
initial load writes it (envelopes as JSON Lines, gzip at the contract's level), and the size
per record is multiplied by the count. The sample is made of windows of consecutive rows in
the load's order (by id) at random places, because gzip gains from neighbours that resemble
each other (consecutive plates and codes of one feeder): a sample of isolated rows, or a small
sample compressed whole, overstates the compressed size by 10-20 %. The compressed size of a
line is what the second half of each window adds to the stream of its first half
(`gzip_per_line`). An entity with no more rows than the sample is serialised whole
(its estimate is its size).

The interval store's monthly partitions, which the initial load ships as gzip CSV files, are
estimated the same way (windows of consecutive readings in the file's order, from random
channels) and listed apart (`PartitionVolume`); the totals include them.

Counts are exact (`COUNT(*)`), but for an unfiltered table whose planner statistics
(`pg_class.reltuples`) pass `EXACT_COUNT_LIMIT` rows: its count is that estimate, and the
result says which.
"""

from __future__ import annotations

import gzip
import math
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass

from django.db import connection

from metering.services.partitions import partition_months, partition_name
from regulator.contract import GZIP_LEVEL, dumps_line, envelope, gzip_size
from regulator.cut import INTERVAL_COLUMNS, INTERVAL_COPY, INTERVAL_SELECT
from regulator.records import RECORD_TYPES, RecordType

DEFAULT_SAMPLE = 2000
WINDOW = 100  # consecutive rows per sampled window, at least
# A window's first half fills gzip's 32 KB history as a real page does: with short, alike
# lines (monthly equipment settings) 100 rows leave it half empty and overstate the
# compressed size by 5-15 %, so such windows take more rows.
HISTORY_BYTES = 32 * 1024
MAX_WINDOW = 2000
# Interval CSV lines are short and alike (one channel's readings in a row): a window's first
# half must fill gzip's 32 KB history as the real file does (~400 lines), or the estimate
# overstates the compressed size.
INTERVAL_WINDOW = 800
INTERVAL_WINDOWS = 40
EXACT_COUNT_LIMIT = 5_000_000
# The version an initial-load envelope is sized with (the load's own versions are the capture
# sequence's numbers; a few digits more or less per line is well inside the ±10 %).
SIZING_VERSION = 0


@dataclass(frozen=True)
class EntityVolume:
    entity: str
    label: str
    records: int
    exact_count: bool
    sample: int
    json_bytes: int
    gzip_bytes: int

    @property
    def gzip_per_record(self) -> float:
        return self.gzip_bytes / self.records if self.records else 0.0


@dataclass(frozen=True)
class PartitionVolume:
    """One month of the interval store as the initial load ships it (gzip CSV)."""

    partition: str
    month: str
    records: int
    exact_count: bool
    sample: int
    csv_bytes: int
    gzip_bytes: int


@dataclass(frozen=True)
class VolumeEstimate:
    entities: list[EntityVolume]
    partitions: list[PartitionVolume]

    @property
    def records(self) -> int:
        return sum(e.records for e in self.entities) + sum(p.records for p in self.partitions)

    @property
    def json_bytes(self) -> int:
        """Uncompressed bytes: JSON Lines of the records and CSV of the partitions."""
        return sum(e.json_bytes for e in self.entities) + sum(p.csv_bytes for p in self.partitions)

    @property
    def gzip_bytes(self) -> int:
        return sum(e.gzip_bytes for e in self.entities) + sum(p.gzip_bytes for p in self.partitions)

    def as_dict(self) -> dict:
        return {
            "entities": [asdict(e) for e in self.entities],
            "partitions": [asdict(p) for p in self.partitions],
            "total": {
                "records": self.records,
                "json_bytes": self.json_bytes,
                "gzip_bytes": self.gzip_bytes,
            },
        }


def initial_lines(rt: RecordType, rows=None) -> Iterator[bytes]:
    """The JSON Lines of the initial load of one entity (or of the queryset `rows` of it)."""
    for record in rt.records(rows):
        yield dumps_line(envelope(rt, "insert", record, SIZING_VERSION))


def count_records(rt: RecordType) -> tuple[int, bool]:
    """The entity's record count and whether it is exact."""
    if rt.where is None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [rt.model._meta.db_table],
            )
            row = cursor.fetchone()
        if row and row[0] > EXACT_COUNT_LIMIT:
            return int(row[0]), False
    return rt.base_queryset().count(), True


def sample_windows(
    rt: RecordType, size: int, rng: random.Random, count: int | None = None
) -> list[list[bytes]]:
    """About `size` lines, in windows of `WINDOW` consecutive rows (or more: HISTORY_BYTES)
    from random ids; with the entity's `count`, the windows stay within half of it."""
    rows = rt.base_queryset()
    ids = rows.values_list("pk", flat=True)
    low, high = ids.order_by("pk").first(), ids.order_by("-pk").first()
    if low is None:
        return []
    windows = []
    length = WINDOW
    rounds = max(2, size // WINDOW)
    longest = MAX_WINDOW if count is None else max(WINDOW, min(MAX_WINDOW, count // (2 * rounds)))
    for _ in range(rounds):
        start = rows.filter(pk__gte=rng.randint(low, high))
        window = list(initial_lines(rt, start[:length]))
        if not window:
            continue
        if length == WINDOW and len(window) == WINDOW:
            # The first window tells the lines' size: enough rows for a full history.
            average = sum(map(len, window)) / len(window)
            length = min(longest, max(WINDOW, math.ceil(2 * HISTORY_BYTES / average)))
            if length > WINDOW:
                window = list(initial_lines(rt, start[:length]))
        windows.append(window)
    return windows


def gzip_per_line(windows: list[list[bytes]]) -> float:
    """The steady compressed size of a line: in each window, what its second half adds to the
    gzip stream of its first half (the first half gives the compressor the neighbours it has
    in the real page; compressing isolated windows whole would count the warm-up)."""
    added = lines = 0
    for window in windows:
        half = len(window) // 2
        if half == 0:
            continue
        added += gzip_size(window) - gzip_size(window[:half])
        lines += len(window) - half
    if not lines:  # windows of one line each
        return sum(gzip_size(w) for w in windows) / max(1, len(windows))
    return added / lines


def estimate_entity(rt: RecordType, sample: int = DEFAULT_SAMPLE, seed: int = 0) -> EntityVolume:
    count, exact = count_records(rt)
    if exact and count <= sample:
        lines = list(initial_lines(rt))
        json_bytes, gzip_bytes = sum(map(len, lines)), gzip_size(lines)
        return EntityVolume(rt.entity, rt.label, count, exact, count, json_bytes, gzip_bytes)
    windows = sample_windows(rt, sample, random.Random(f"{seed}:{rt.entity}"), count)
    lines = [line for window in windows for line in window]
    json_per_line = sum(map(len, lines)) / max(1, len(lines))
    return EntityVolume(
        rt.entity,
        rt.label,
        count,
        exact,
        len(lines),
        round(json_per_line * count),
        round(gzip_per_line(windows) * count),
    )


def estimate_volume(sample: int = DEFAULT_SAMPLE, seed: int = 0) -> VolumeEstimate:
    return VolumeEstimate(
        [estimate_entity(rt, sample, seed) for rt in RECORD_TYPES],
        [estimate_partition(month, sample, seed) for month in partition_months()],
    )


# --- The interval store --------------------------------------------------------------------------


def _copy_lines(sql: str) -> list[bytes]:
    lines: list[bytes] = []
    with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
        pending = b""
        for data in copy:
            pending += bytes(data)
            *complete, pending = pending.split(b"\n")
            lines += [line + b"\n" for line in complete]
    return lines


def count_partition(partition: str) -> tuple[int, bool]:
    """The rows the month's file carries: the partition's, less the virtual meters' values
    (few channels, counted exactly on the primary key), which the file leaves out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass", [partition]
        )
        estimate = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT count(*) FROM {partition} WHERE channel_id IN ("
            "SELECT c.id FROM metering_channel c JOIN metering_meter m ON m.id = c.meter_id "
            "WHERE m.virtual)"
        )
        derived = cursor.fetchone()[0]
        if estimate > EXACT_COUNT_LIMIT:
            return max(int(estimate) - derived, 0), False
        cursor.execute(f"SELECT count(*) FROM {partition}")
        return cursor.fetchone()[0] - derived, True


def estimate_partition(month, sample: int = DEFAULT_SAMPLE, seed: int = 0) -> PartitionVolume:
    partition = partition_name(month)
    count, exact = count_partition(partition)
    header = len(INTERVAL_COLUMNS) + 1
    if exact and count <= sample:
        lines = [
            (INTERVAL_COLUMNS + "\n").encode(),
            *_copy_lines(INTERVAL_COPY.format(partition=partition)),
        ]
        return PartitionVolume(
            partition, f"{month:%Y-%m}", count, exact, count, sum(map(len, lines)), gzip_size(lines)
        )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(channel_id), max(channel_id) FROM {partition}")
        low, high = cursor.fetchone()
    rng = random.Random(f"{seed}:{partition}")
    windows = []
    # Systematic starts (one random offset, then evenly over the channel ids) and at least
    # INTERVAL_WINDOWS of them: a channel's quantity (kWh, volts, amperes) compresses its own
    # way, and a handful of random windows could all fall on one kind.
    windows_wanted = max(INTERVAL_WINDOWS, sample // 50)
    step = (high - low + 1) / windows_wanted
    offset = rng.random() * step
    for n in range(windows_wanted):
        start = low + int(offset + n * step)
        sql = INTERVAL_SELECT.format(
            partition=partition,
            where=f"AND r.channel_id >= {start}",
            limit=f"LIMIT {INTERVAL_WINDOW}",
        )
        window = _copy_lines(f"COPY ({sql}) TO STDOUT (FORMAT csv)")
        if window:
            windows.append(window)
    lines = [line for window in windows for line in window]
    csv_per_line = sum(map(len, lines)) / max(1, len(lines))
    return PartitionVolume(
        partition,
        f"{month:%Y-%m}",
        count,
        exact,
        len(lines),
        round(header + csv_per_line * count),
        round(gzip_per_line(windows) * count),
    )


def measure_partition(month) -> PartitionVolume:
    """The actual size of a month's file, as the cut writes it (what the estimate is checked
    against)."""
    partition = partition_name(month)
    sink = _Counter()
    compressor = gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
    head = (INTERVAL_COLUMNS + "\n").encode()
    compressor.write(head)
    raw, records = len(head), 0
    with (
        connection.cursor() as cur,
        cur.cursor.copy(INTERVAL_COPY.format(partition=partition)) as cp,
    ):
        for data in cp:
            chunk = bytes(data)
            records += chunk.count(b"\n")
            raw += len(chunk)
            compressor.write(chunk)
    compressor.close()
    return PartitionVolume(partition, f"{month:%Y-%m}", records, True, records, raw, sink.size)


def measure_entity(rt: RecordType) -> EntityVolume:
    """The actual size of the entity's initial load: every record serialised and compressed
    in one gzip stream, flat memory (what the estimate is checked against)."""
    sink = _Counter()
    compressor = gzip.GzipFile(fileobj=sink, mode="wb", compresslevel=GZIP_LEVEL, mtime=0)
    records = raw = 0
    for line in initial_lines(rt):
        records += 1
        raw += len(line)
        compressor.write(line)
    compressor.close()
    return EntityVolume(rt.entity, rt.label, records, True, records, raw, sink.size)


class _Counter:
    """A write-only file that counts bytes (the gzip stream is measured, not kept)."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass
