"""The careful path for interval readings: a batch compared with what the store holds.

The stored rows of the batch's keys are read in one statement (one index range scan per
channel of the batch, sent back by binary COPY) and matched with the batch in numpy; the rows
the store lacks then go in by binary COPY. No per-row statement, no staging table, no
ON CONFLICT: a file already loaded costs one read of its own keys per batch, which is less
than its first load's write (issue 14; bench/metering.py measures both)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from metering.services.ingest.pgcopy import _copy_row, copy_payload
from metering.services.sources import Rejection

RANGES_TABLE = """
    CREATE TEMPORARY TABLE metering_ranges (
        channel_id integer NOT NULL, lo timestamptz NOT NULL, hi timestamptz NOT NULL
    ) ON COMMIT DROP
"""
RANGE_ROW = _copy_row(("channel_id", ">i4"), ("lo", ">i8"), ("hi", ">i8"))
COPY_TO_RANGES = "COPY metering_ranges FROM STDIN (FORMAT BINARY)"
# OFFSET 0 keeps the lateral subquery apart: an index range scan per channel, whatever the
# planner guesses of the (never analysed) ranges table.
STORED = """
    COPY (
        SELECT s.channel_id, s.ts, s.value, s.quality, s.run_id
          FROM metering_ranges b
         CROSS JOIN LATERAL (
               SELECT r.channel_id, r.ts, r.value, r.quality, r.run_id
                 FROM metering_intervalreading r
                WHERE r.channel_id = b.channel_id AND r.ts >= b.lo AND r.ts <= b.hi
               OFFSET 0) s
    ) TO STDOUT (FORMAT BINARY)
"""
STORED_DTYPE = _copy_row(
    ("channel_id", ">i4"), ("ts", ">i8"), ("value", ">f8"), ("quality", ">i2"), ("run_id", ">i4")
)[0]
COPY_HEADER_SIZE = 19  # signature (11), flags (4), extension length (4)


def fetch_stored(cur, channels: np.ndarray, stamps: np.ndarray) -> np.ndarray:
    """The stored rows of the channels of a batch in key order, between each channel's first
    and last timestamp in it, as a numpy record array (STORED_DTYPE)."""
    starts = np.flatnonzero(np.r_[True, channels[1:] != channels[:-1]])
    ends = np.r_[starts[1:], len(channels)] - 1
    cur.execute("TRUNCATE metering_ranges")
    with cur.copy(COPY_TO_RANGES) as copy:
        copy.write(
            copy_payload(RANGE_ROW, channel_id=channels[starts], lo=stamps[starts], hi=stamps[ends])
        )
    data = bytearray()
    with cur.copy(STORED) as copy:
        for block in copy:
            data += block
    count = (len(data) - COPY_HEADER_SIZE - 2) // STORED_DTYPE.itemsize
    if count <= 0:
        return np.zeros(0, STORED_DTYPE)
    return np.frombuffer(data, STORED_DTYPE, count=count, offset=COPY_HEADER_SIZE)


def match(channels: np.ndarray, stamps: np.ndarray, stored: np.ndarray) -> np.ndarray:
    """For each row (channel, timestamp), the index of the stored row with its key, or -1."""
    n, m = len(channels), len(stored)
    if not m:
        return np.full(n, -1, np.int64)
    if (
        m == n
        and np.array_equal(stored["channel_id"], channels)
        and np.array_equal(stored["ts"], stamps)
    ):
        # A file sent again: the store holds exactly the batch's keys, in the same order (the
        # ranges are read in key order). No sort needed.
        return np.arange(n, dtype=np.int64)
    all_channels = np.concatenate([stored["channel_id"].astype(np.int64), channels])
    all_stamps = np.concatenate([stored["ts"].astype(np.int64), stamps])
    side = np.r_[np.zeros(m, np.int8), np.ones(n, np.int8)]  # stored rows first in a key
    order = np.lexsort((side, all_stamps, all_channels))
    c, t = all_channels[order], all_stamps[order]
    start = np.r_[True, (c[1:] != c[:-1]) | (t[1:] != t[:-1])]
    head = order[np.maximum.accumulate(np.where(start, np.arange(n + m), 0))]
    found = np.where(head < m, head, -1)
    rows = order >= m
    result = np.empty(n, np.int64)
    result[order[rows] - m] = found[rows]
    return result


@dataclass
class Comparison:
    """A batch (in key order) against the store. Masks over the batch's rows:
    `new` (the first of its key, not stored), `later` (a key repeated in the batch),
    `this_run` (stored by an earlier batch of this file), `same` (stored by another run with
    this value), `differ` (stored by another run with another value); `head`, for each row,
    the index of the first row of its key; `stored` the stored rows, `found` the index of
    each row's stored row (or -1)."""

    new: np.ndarray
    later: np.ndarray
    this_run: np.ndarray
    same: np.ndarray
    differ: np.ndarray
    head: np.ndarray
    stored: np.ndarray
    found: np.ndarray

    def stored_field(self, name: str, which: np.ndarray) -> np.ndarray:
        """A field of the stored row of the rows `which` selects (all of them stored)."""
        return self.stored[name][self.found[which]]


def compare(rows, stored: np.ndarray, run_id: int, source_bit: int | None = None) -> Comparison:
    """Classify the rows of a batch (in key order) against the stored rows of its keys.
    `source_bit`: also count as different a value whose head-end quality flag changed (a
    correction replaces it)."""
    channels, stamps = rows.channels, rows.stamps
    n = len(channels)
    first = np.r_[True, (channels[1:] != channels[:-1]) | (stamps[1:] != stamps[:-1])]
    head = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    found = match(channels.astype(np.int64), stamps.astype(np.int64), stored)
    present = found >= 0
    at = np.maximum(found, 0)
    if len(stored):
        stored_run = stored["run_id"][at]
        equal = stored["value"][at] == rows.values
        if source_bit is not None:
            equal &= (stored["quality"][at] & source_bit) == (rows.qualities & source_bit)
    else:
        stored_run = np.zeros(n, np.int32)
        equal = np.zeros(n, bool)
    this_run = first & present & (stored_run == run_id)
    other = first & present & ~this_run
    return Comparison(
        new=first & ~present,
        later=~first,
        this_run=this_run,
        same=other & equal,
        differ=other & ~equal,
        head=head,
        stored=stored,
        found=found,
    )


def left_out(rows, found: Comparison, serials: dict[int, str], correcting: bool) -> list[Rejection]:
    """Why each line of the batch a comparison left out did not go in, in line order: a later
    line of a key the batch repeats, a key an earlier batch of this file stored, or one
    another run stored with another value (unless this run corrects it)."""
    lines: list[tuple[int, Rejection]] = []
    stored_value = found.stored["value"] if len(found.stored) else None
    for index in np.flatnonzero(found.later | found.this_run | found.differ).tolist():
        line = int(rows.lines[index])
        serial = serials.get(int(rows.channels[index]), "")
        value = f"{rows.values[index]:g}"
        where = f"línea {line}"
        if found.later[index]:
            head = found.head[index]
            first_line = int(rows.lines[head])
            at = found.found[head]
            kept = stored_value[at] if at >= 0 else rows.values[head]
            reason = f"duplicado en el archivo (primera aparición: línea {first_line})"
            if rows.values[index] != kept:
                reason = (
                    f"duplicado en el archivo con otro valor (primera aparición: "
                    f"línea {first_line}; se conserva {kept:g})"
                )
            lines.append((line, Rejection(where, "timestamp", reason, serial, value)))
        elif found.this_run[index]:
            reason = (
                "duplicado en el archivo (un valor anterior del archivo tiene "
                "el mismo medidor, tipo de lectura e instante)"
            )
            lines.append((line, Rejection(where, "timestamp", reason, serial, value)))
        elif not correcting:
            kept = stored_value[found.found[index]]
            reason = f"ya existe con otro valor ({kept:g}); se conserva el existente"
            lines.append((line, Rejection(where, "value", reason, serial, value)))
    lines.sort(key=lambda entry: entry[0])
    return [rejection for _, rejection in lines]
