"""A readings CSV read a block of lines at a time, without a Python step per line.

`Lines` reads the file in binary as the text reader with `newline=""` would (lines end at
`\\n`, `\\r\\n` or a lone `\\r`, decoded as UTF-8, a BOM dropped at the start) and also hands
out blocks of whole lines as bytes. `parse_block` reads such a block with numpy when every line
in it is in the usual form: ASCII, no quotes, each line with its columns, timestamps already
accepted or accepted now, values in the grammar with a decimal point, no empty meter. Anything
else (a line to reject, a quoted field, a lone `\\r`) returns None, and sources.csv_items reads
the block line by line as always: the two give the same batches.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

_NEWLINE = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"
# Fields longer than these go line by line (a gather costs lines x width).
_WIDEST_NAME = 128
_WIDEST_TIMESTAMP = 64
_WIDEST_VALUE = 32


class Lines:
    """Lines of a binary file, and blocks of whole lines for parse_block."""

    CHUNK = 1 << 23

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.started = False

    def _fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.handle.read(self.CHUNK)
        if not self.started:
            self.started = True
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if not chunk:
            self.eof = True
            return False
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    def line(self) -> bytes | None:
        """The next line with its end, as the text reader splits them; None at the end."""
        while True:
            found = _NEWLINE.search(self.buf, self.pos)
            # A `\r` at the end of what is read may be the first half of a `\r\n`.
            if found is not None and (found.end() < len(self.buf) or found.group() != b"\r"):
                break
            if not self._fill():
                break
        if found is None:
            if self.pos >= len(self.buf):
                return None
            found_end = len(self.buf)
        else:
            found_end = found.end()
        start, self.pos = self.pos, found_end
        return self.buf[start:found_end]

    def text(self) -> str:
        raw = self.line()
        return "" if raw is None else raw.decode("utf-8")

    def block(self, count: int) -> tuple[bytes, int, bool] | None:
        """Up to `count` whole lines (each ending in `\\n`) from here, without moving on: the
        bytes, how many lines, and whether they are all of them (`count`, or the rest of the
        file with nothing after the last `\\n`)."""
        window = count * 128
        while True:
            view = np.frombuffer(self.buf, np.uint8)[self.pos : self.pos + window]
            ends = np.flatnonzero(view == 10)
            if len(ends) >= count:
                size = int(ends[count - 1]) + 1
                return self.buf[self.pos : self.pos + size], count, True
            if self.pos + window < len(self.buf):
                window *= 2
                continue
            if not self._fill():
                break
        if not len(ends):
            return None
        size = int(ends[-1]) + 1
        return self.buf[self.pos : self.pos + size], len(ends), self.pos + size == len(self.buf)

    def advance(self, size: int) -> None:
        self.pos += size


@dataclass(frozen=True)
class Layout:
    """What parse_block needs to know of the file: the separator, the number of columns and
    where each is, and how a timestamp and a quality text are read."""

    delimiter: str
    width: int
    meter: int
    reading_type: int
    timestamp: int
    value: int
    quality: int | None
    timestamps: object  # sources.Timestamps: `parsed` (text: microseconds or reason), parse()
    quality_of: Callable[[str], int]


@dataclass
class Parsed:
    lines: np.ndarray
    stamps: np.ndarray
    values: np.ndarray
    qualities: np.ndarray | None
    runs: list[tuple[int, str, str]]


def _gather(padded: np.ndarray, starts: np.ndarray, lengths: np.ndarray, width: int) -> np.ndarray:
    """The fields as rows of `width` bytes (a multiple of 8: compared and hashed as words),
    zero after each field's end: a row of a sliding window over the block (padded with zeros)
    per field."""
    rows = sliding_window_view(padded, width)[starts]
    if (lengths != width).any():
        rows *= np.arange(width, dtype=np.int32) < lengths[:, None]
    return rows


def _as_texts(rows: np.ndarray) -> np.ndarray:
    """Rows of bytes as an array of byte strings (a field holds no NUL: checked first)."""
    return np.ascontiguousarray(rows).view(f"S{rows.shape[1]}").ravel()


def _unique(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows (as byte strings) and, per row, which: by a hash of each row's 8-byte
    words, checked row by row against the row it names (a collision: by the texts)."""
    packed = rows.view(np.uint64)
    hashed = packed[:, 0].copy()
    for k in range(1, packed.shape[1]):
        hashed *= np.uint64(0x9E3779B97F4A7C15)
        hashed ^= packed[:, k]
    _, first, inverse = np.unique(hashed, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    if (packed != packed[first][inverse]).any():
        texts, inverse = np.unique(_as_texts(rows), return_inverse=True)
        return texts, inverse.ravel()
    return _as_texts(rows[first]), inverse


_VALUE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?").fullmatch


def _values(rows: np.ndarray) -> np.ndarray | None:
    """The floats of value fields, when each matches `[+-]?[0-9]+(\\.[0-9]+)?`; else None.
    Meters repeat values (0.000, 0.125…): each distinct text is matched and converted once."""
    texts, inverse = _unique(rows)
    distinct = np.empty(len(texts), np.float64)
    for k, raw in enumerate(texts.tolist()):
        text = raw.decode("ascii")
        if _VALUE(text) is None:
            return None
        distinct[k] = float(text)
    return distinct[inverse]


def parse_block(data: bytes, first_line: int, layout: Layout) -> Parsed | None:
    """The block's values in columns, or None when some line needs the line-by-line reader."""
    if b'"' in data or b"\x00" in data or not data.isascii():
        return None
    arr = np.frombuffer(data, np.uint8)
    padded = np.frombuffer(data + bytes(_WIDEST_NAME), np.uint8)
    ends = np.flatnonzero(arr == 10)
    count = len(ends)
    line_ends = ends
    if b"\r" in data:
        following = np.flatnonzero(arr == 13) + 1
        if following[-1] >= len(arr) or (arr[following] != 10).any():
            return None  # a lone `\r` ends a line for the text reader
        line_ends = ends - (arr[np.maximum(ends - 1, 0)] == 13)
    starts = np.empty(count, np.int64)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    delimiters = np.flatnonzero(arr == ord(layout.delimiter))
    per_line = np.diff(np.searchsorted(delimiters, ends), prepend=0)
    if (per_line != layout.width - 1).any():
        return None  # an empty line, or one with too few or too many columns
    inner = delimiters.reshape(count, layout.width - 1)
    last = layout.width - 1

    def bounds(column: int) -> tuple[np.ndarray, np.ndarray]:
        s = starts if column == 0 else inner[:, column - 1] + 1
        return s, (line_ends if column == last else inner[:, column])

    def field(column: int, widest: int) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        s, e = bounds(column)
        lengths = e - s
        width = int(lengths.max())
        if width > widest:
            return None
        return s, lengths, _gather(padded, s, lengths, -(-max(width, 1) // 8) * 8)

    found = field(layout.timestamp, _WIDEST_TIMESTAMP)
    if found is None:
        return None
    texts, inverse = _unique(found[2])
    timestamps = layout.timestamps
    known = timestamps.parsed
    micros = np.empty(len(texts), np.int64)
    for k, raw in enumerate(texts.tolist()):
        text = raw.decode("ascii")
        ts = known.get(text)
        if ts is None:
            ts = timestamps.parse(text)
        if type(ts) is str:
            return None  # refused: the line-by-line reader says why
        micros[k] = ts
    stamps = micros[inverse]

    found = field(layout.value, _WIDEST_VALUE)
    if found is None:
        return None
    values = _values(found[2])
    if values is None:
        return None

    meter_s, meter_e = bounds(layout.meter)
    type_s, type_e = bounds(layout.reading_type)
    if not (meter_e > meter_s).all():
        return None  # an empty meter is reported line by line
    changed = np.zeros(count, bool)
    changed[0] = True
    for column in (layout.meter, layout.reading_type):
        found = field(column, _WIDEST_NAME)
        if found is None:
            return None
        _, lengths, rows = found
        words = rows.view(np.uint64)
        changed[1:] |= (lengths[1:] != lengths[:-1]) | (words[1:] != words[:-1]).any(axis=1)
    at = np.flatnonzero(changed).tolist()
    runs = [
        (
            i,
            data[meter_s[i] : meter_e[i]].decode("ascii"),
            data[type_s[i] : type_e[i]].decode("ascii"),
        )
        for i in at
    ]

    qualities = None
    if layout.quality is not None:
        found = field(layout.quality, _WIDEST_NAME)
        if found is None:
            return None
        texts, inverse = _unique(found[2])
        flags = np.array([layout.quality_of(t.decode("ascii")) for t in texts.tolist()], np.int16)
        qualities = flags[inverse]

    lines = np.arange(first_line, first_line + count, dtype=np.int64)
    return Parsed(lines, stamps, values, qualities, runs)
