"""PostgreSQL's binary COPY format: the statements, the row layouts and the packing of a
batch of numpy columns into COPY data, without a Python call per row."""

from __future__ import annotations

import struct

import numpy as np

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
