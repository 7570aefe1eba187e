"""The two formats the head-end delivers readings in, read as a stream of values.

Both yield `Batch` (values in columns), `Event` or `Rejection` items in file order, holding at
most one batch of values and one MeterReading (XML) in memory.

CSV: an optional first line declaring the decimal separator (`#decimal=,` or `#decimal=.`; or
the `decimal` argument), a header row, then one value per line; `;` or `,` separated. Values
follow one grammar (metering.lib): ASCII digits, one decimal separator, an optional sign; the
separator is `.` unless declared, and in a `;` file that declares none only whole numbers are
taken (`1.234` could be a thousand times too small). Columns, in any order: `meter` (serial,
the head-end's mRID), `reading_type` (the 18-field CIM ReadingType, or an OBIS code C.D.E
that names a single reading type), `timestamp` (ISO 8601 with its UTC offset: the end of the
interval for profiles), `value`, and optionally `quality` (a CIM ReadingQualityType such as
1.0.0, or 0 for valid).

XML: an IEC 61968-9 EventMessage whose Noun is MeterReadings; each MeterReading names its Meter
(mRID, or Names/name) and holds IntervalBlocks (a ReadingType and IntervalReadings), Readings
(each with its ReadingType) and EndDeviceEvents (createdDateTime, EndDeviceEventType).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from metering import cim
from metering.lib import DECIMALS, value_error, value_parser
from metering.models import Quality
from metering.services import csvblock

CSV_COLUMNS = ("meter", "reading_type", "timestamp", "value")
READINGS_NOUN = "MeterReadings"


class Batch:
    """Values in columns, in file order: their lines, timestamps (PostgreSQL microseconds),
    values and head-end quality (None: all valid), and `runs`, one (index of the first value,
    meter serial, reading type code) for each stretch of consecutive values of one meter and
    reading type. A file holds millions of values: columns of plain numbers cost a fraction of
    an object or a tuple per value, and a channel is looked up once per run."""

    __slots__ = ("lines", "stamps", "values", "qualities", "runs")

    def __init__(self, with_quality: bool = True) -> None:
        self.lines: list[int] = []
        self.stamps: list[int] = []
        self.values: list[float] = []
        self.qualities: list[int] | None = [] if with_quality else None
        self.runs: list[tuple[int, str, str]] = []

    def __len__(self) -> int:
        return len(self.stamps)

    def add(self, line: int, meter: str, code: str, ts: int, value: float, quality: int) -> None:
        runs = self.runs
        if not runs or runs[-1][1] != meter or runs[-1][2] != code:
            runs.append((len(self.stamps), meter, code))
        self.lines.append(line)
        self.stamps.append(ts)
        self.values.append(value)
        self.qualities.append(quality)


@dataclass(frozen=True)
class Event:
    line: int
    meter: str
    code: str
    ts: datetime


@dataclass(frozen=True)
class Rejection:
    where: str
    field: str
    reason: str
    meter: str = ""
    value: str = ""

    @property
    def line(self) -> int | None:
        """The line number in `where` ("línea 17 (IntervalReadings)"), if any."""
        found = _LINE.match(self.where)
        return int(found.group(1)) if found else None


_LINE = re.compile(r"línea ([0-9]+)")


class FatalFileError(Exception):
    """The file cannot be read at all (wrong format, missing columns, not MeterReadings)."""


# Values come in batches of about BATCH values; events and rejections one by one.
Item = Batch | Event | Rejection
BATCH = 50_000
VALUES_SEEN = 100_000  # accepted value texts remembered while reading a CSV


PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Timestamps:
    """Timestamps by their text, as PostgreSQL's binary timestamptz (microseconds since
    2000-01-01 UTC): a file repeats each interval's end once per meter, so each text is parsed
    once. Also collects the local months seen (the partitions the values need)."""

    SIZE = 100_000

    def __init__(self) -> None:
        self.latest = timezone.now() + timedelta(days=1)
        self.parsed: dict[str, int | str] = {}
        self.months: set[date] = set()
        self.zone = ZoneInfo(settings.TIME_ZONE)

    def parse(self, raw: str) -> int | str:
        """Microseconds, or the reason the text is refused; cached."""
        try:
            moment = cim.parse_timestamp(raw)
            if moment < PG_EPOCH or moment > self.latest:
                found: int | str = f"fecha fuera de rango: {raw[:40]!r}"
            else:
                delta = moment - PG_EPOCH
                found = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
                self.months.add(moment.astimezone(self.zone).date().replace(day=1))
        except cim.MessageError as error:
            found = error.reason
        if len(self.parsed) >= self.SIZE:
            self.parsed.clear()
        self.parsed[raw] = found
        return found

    def __call__(self, raw: str) -> int:
        found = self.parsed.get(raw)
        if found is None:
            found = self.parse(raw)
        if type(found) is str:
            raise cim.MessageError(found)
        return found


def as_datetime(microseconds: int) -> datetime:
    return PG_EPOCH + timedelta(microseconds=microseconds)


_XML_NUMBER = value_parser(".")  # xsd:double's decimal point (no exponent: one grammar)
_DIRECTIVE = re.compile(r"#\s*decimal\s*[=:]\s*(\S)\s*", re.IGNORECASE)


def _decimal_directive(first: str, declared: str | None) -> str | None:
    """The decimal separator a `#decimal=,` first line declares, checked against the one
    the caller declared."""
    found = _DIRECTIVE.fullmatch(first.strip())
    if not found or found.group(1) not in DECIMALS:
        raise FatalFileError(
            f"línea 1: directiva desconocida {first.strip()[:40]!r} "
            "(se admite '#decimal=,' o '#decimal=.')"
        )
    sign = found.group(1)
    if declared and declared != sign:
        raise FatalFileError(
            f"línea 1: el archivo declara el separador decimal {sign!r} y la carga {declared!r}"
        )
    return sign


def _quality(raw: str) -> int:
    """0 for valid (CIM 1.0.0, or 0/empty); SOURCE for any other flag of the head-end."""
    text = raw.strip()
    if text in ("", "0") or text.startswith("1.0."):
        return Quality.VALID
    return Quality.SOURCE


# --- CSV -------------------------------------------------------------------------------------


def csv_items(
    path: Path, timestamps: Timestamps | None = None, decimal: str | None = None
) -> Iterator[Item]:
    """`decimal`: the decimal separator the caller declares (None: the file's `#decimal=`
    line, or `.`)."""
    with open(path, "rb") as handle:
        source = csvblock.Lines(handle)
        first = source.text()
        header_line = 1
        if first.lstrip().startswith("#"):
            decimal = _decimal_directive(first, decimal)
            first = source.text()
            header_line = 2
        if not first.strip():
            raise FatalFileError("el archivo está vacío")
        delimiter = ";" if first.count(";") > first.count(",") else ","
        header = [h.strip().lower() for h in next(csv.reader([first], delimiter=delimiter))]
        unknown = [h for h in header if h not in (*CSV_COLUMNS, "quality")]
        missing = [c for c in CSV_COLUMNS if c not in header]
        if missing or unknown:
            problems = []
            if missing:
                problems.append(f"faltan columnas: {', '.join(missing)}")
            if unknown:
                problems.append(f"columnas desconocidas: {', '.join(unknown)}")
            raise FatalFileError(f"línea {header_line}: {'; '.join(problems)}")
        index = {name: header.index(name) for name in header}
        width = len(header)
        # Never guessed from the field separator: undeclared, `.`; in a `;` file, where the
        # head-end's locale may group thousands with `.`, only whole numbers.
        ambiguous = decimal is None and delimiter == ";"
        decimal = decimal or "."
        number = value_parser(decimal, ambiguous)
        point = decimal == "." and not ambiguous
        fits = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?").fullmatch
        # Texts already accepted, with their value: meters repeat values (0.000, 0.125…), and
        # a lookup costs less than the grammar's match and float() together.
        values_seen: dict[str, float] = {}
        known = values_seen.get
        timestamp = timestamps if timestamps is not None else Timestamps()
        parsed = timestamp.parsed
        i_meter, i_type, i_ts, i_value = (index[c] for c in CSV_COLUMNS)
        i_quality = index.get("quality")
        with_quality = i_quality is not None
        # A batch of lines in the usual form is read by numpy (csvblock), a batch at a time;
        # one that is not (a line to reject, quotes, another decimal separator) line by line
        # below. Both cut the batches at the same lines.
        layout = (
            csvblock.Layout(
                delimiter, width, i_meter, i_type, i_ts, i_value, i_quality, timestamp, _quality
            )
            if point
            else None
        )
        split = str.split
        # The loop below runs once per value of the files read line by line: it only splits
        # the line, finds the timestamp among those already parsed, converts the value and
        # appends to the columns of the batch. A new run starts when the meter or reading type
        # changes. A value seen before is looked up; a new one in the usual form (ASCII,
        # decimal point) is matched and converted inline; any other goes through the
        # grammar's parser. Values too large for a float (inf) are refused when the batch is
        # loaded.
        batch = Batch(with_quality)
        lines, stamps, values, runs = batch.lines, batch.stamps, batch.values, batch.runs
        qualities = batch.qualities
        last_meter = last_type = None
        cut = BATCH + 1
        tried = 0  # the cut of the last batch numpy could not read: line by line up to it
        line = header_line
        while True:
            if layout is not None and not stamps and tried != cut:
                block = source.block(cut - line)
                read = None
                if block is not None and block[2]:
                    read = csvblock.parse_block(block[0], line + 1, layout)
                if read is None:
                    tried = cut
                else:
                    source.advance(len(block[0]))
                    line += block[1]
                    fast = Batch(with_quality)
                    fast.lines, fast.stamps, fast.values = read.lines, read.stamps, read.values
                    fast.qualities, fast.runs = read.qualities, read.runs
                    yield fast
                    cut = line + BATCH
                    continue
            raw_line = source.line()
            if raw_line is None:
                break
            text = raw_line.decode("utf-8")
            line += 1
            # A line without quotes is split as is (most files have none); one with quotes
            # goes through the csv module. A quoted value spanning lines is not supported:
            # such a line is refused for its column count.
            if '"' in text:
                row = next(csv.reader([text], delimiter=delimiter), [])
            else:
                row = split(text.rstrip("\r\n"), delimiter)
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # an empty line
                yield Rejection(f"línea {line}", "", f"{len(row)} columnas, se esperaban {width}")
                continue
            ts = parsed.get(row[i_ts])
            if ts is None:
                ts = timestamp.parse(row[i_ts])
            if type(ts) is str:
                yield Rejection(f"línea {line}", "timestamp", ts, row[i_meter], row[i_ts][:40])
                continue
            raw = row[i_value]
            value = known(raw)
            if value is None:
                value = float(raw) if point and fits(raw) is not None else number(raw)
                if value is None:
                    reason = value_error(raw, decimal, ambiguous)
                    yield Rejection(f"línea {line}", "value", reason, row[i_meter], raw[:40])
                    continue
                if len(values_seen) >= VALUES_SEEN:
                    values_seen.clear()
                values_seen[raw] = value
            meter = row[i_meter]
            if meter != last_meter or row[i_type] != last_type:
                if not meter:
                    last_meter = None
                    yield Rejection(f"línea {line}", "meter", "medidor vacío")
                    continue
                last_meter, last_type = meter, row[i_type]
                runs.append((len(stamps), meter, last_type))
            lines.append(line)
            stamps.append(ts)
            values.append(value)
            if with_quality:
                qualities.append(_quality(row[i_quality]))
            if line >= cut:
                if stamps:
                    yield batch
                batch = Batch(with_quality)
                lines, stamps, values, runs = batch.lines, batch.stamps, batch.values, batch.runs
                qualities = batch.qualities
                last_meter = last_type = None
                cut = line + BATCH
        if stamps:
            yield batch


# --- XML -------------------------------------------------------------------------------------


def _ref(element: Any) -> str:
    """A CIM reference: `<ReadingType ref="…"/>`, or the code as text, or in an mRID child."""
    if element is None:
        return ""
    return (element.get("ref") or element.text or cim.text(element, "mRID") or "").strip()


def _meter_name(reading: Any) -> str:
    meter = cim.child(reading, "Meter")
    if meter is None:
        meter = cim.child(reading, "EndDevice")
    if meter is None:
        return ""
    name = cim.text(meter, "mRID")
    if not name:
        names = cim.child(meter, "Names")
        name = cim.text(names, "name") if names is not None else ""
    return name


def _reading_quality(qualities: Any) -> int:
    """The flag of a ReadingQualities element (the worst of its ReadingQualityTypes)."""
    kinds = [_ref(cim.child(qualities, "ReadingQualityType"))] + [
        _ref(q) for q in cim.children(qualities, "ReadingQualityType")
    ]
    return max((_quality(k) for k in kinds if k), default=Quality.VALID)


def _value_of(
    element: Any, meter: str, reading_type: str, timestamp: Timestamps
) -> tuple | Rejection:
    """An IntervalReadings or Readings element: its children are looked at once (this runs
    once per value of files of gigabytes); the first of each name counts."""
    raw_ts = raw_value = qualities = None
    local = cim.local
    for sub in element:
        name = local(sub.tag)
        if name == "timeStamp":
            if raw_ts is None:
                raw_ts = (sub.text or "").strip()
        elif name == "value":
            if raw_value is None:
                raw_value = (sub.text or "").strip()
        elif name == "ReadingQualities" and qualities is None:
            qualities = sub
    if not raw_ts:
        where = f"línea {element.sourceline} ({local(element.tag)})"
        return Rejection(where, "timeStamp", "falta timeStamp", meter)
    try:
        ts = timestamp(raw_ts)
    except cim.MessageError as error:
        where = f"línea {element.sourceline} ({local(element.tag)})"
        return Rejection(where, "timeStamp", error.reason, meter, raw_ts[:40])
    value = _XML_NUMBER(raw_value or "")
    if value is None:
        where = f"línea {element.sourceline} ({local(element.tag)})"
        reason = value_error(raw_value or "")
        return Rejection(where, "value", reason, meter, (raw_value or "")[:40])
    quality = Quality.VALID if qualities is None else _reading_quality(qualities)
    return (element.sourceline, meter, reading_type, ts, value, quality)


def _meter_reading_parts(
    reading: Any, timestamp: Timestamps
) -> Iterator[tuple | Event | Rejection]:
    meter = _meter_name(reading)
    if not meter:
        yield Rejection(f"línea {reading.sourceline} (MeterReading)", "Meter", "falta el medidor")
        return
    for block in cim.children(reading, "IntervalBlocks"):
        reading_type = _ref(cim.child(block, "ReadingType"))
        if not reading_type:
            yield Rejection(
                f"línea {block.sourceline} (IntervalBlocks)",
                "ReadingType",
                "falta ReadingType",
                meter,
            )
            continue
        for interval in cim.children(block, "IntervalReadings"):
            yield _value_of(interval, meter, reading_type, timestamp)
    for single in cim.children(reading, "Readings"):
        reading_type = _ref(cim.child(single, "ReadingType"))
        if not reading_type:
            yield Rejection(
                f"línea {single.sourceline} (Readings)", "ReadingType", "falta ReadingType", meter
            )
            continue
        yield _value_of(single, meter, reading_type, timestamp)
    for event in cim.children(reading, "EndDeviceEvents"):
        where = f"línea {event.sourceline} (EndDeviceEvents)"
        code = _ref(cim.child(event, "EndDeviceEventType"))
        raw_ts = cim.text(event, "createdDateTime")
        if not code:
            yield Rejection(where, "EndDeviceEventType", "falta el tipo de evento", meter)
            continue
        try:
            ts = timestamp(raw_ts)
        except cim.MessageError as error:
            yield Rejection(where, "createdDateTime", error.reason, meter, raw_ts[:40])
            continue
        yield Event(event.sourceline, meter, code, as_datetime(ts))


def xml_items(
    path: Path,
    header_seen: list[cim.Header] | None = None,
    timestamps: Timestamps | None = None,
) -> Iterator[Item]:
    """Values of a MeterReadings EventMessage; the Header, once read, is appended to
    `header_seen` (the run records its MessageID and CorrelationID)."""
    timestamp = timestamps if timestamps is not None else Timestamps()
    with open(path, "rb") as handle:
        events = cim.iterparse(handle, ("Header", "MeterReading", "Payload"))
        batch = Batch()
        for event, element in events:
            if event == "root":
                if cim.local(element.tag) != "EventMessage":
                    raise FatalFileError(
                        "se esperaba un EventMessage (IEC 61968-9), no "
                        f"{cim.local(element.tag)[:40]}"
                    )
                continue
            if event != "end":
                continue
            name = cim.local(element.tag)
            if name == "Header":
                try:
                    header = cim.read_header(element, f"línea {element.sourceline} (Header)")
                except cim.MessageError as error:
                    raise FatalFileError(str(error)) from None
                if header.noun != READINGS_NOUN:
                    raise FatalFileError(
                        f"el mensaje es {header.noun[:40]}, se esperaba {READINGS_NOUN}"
                    )
                if header_seen is not None:
                    header_seen.append(header)
            elif name == "MeterReading":
                if header_seen is not None and not header_seen:
                    raise FatalFileError("falta el Header antes de las lecturas")
                for item in _meter_reading_parts(element, timestamp):
                    if type(item) is tuple:
                        batch.add(*item)
                    else:
                        yield item
                if len(batch) >= BATCH:
                    yield batch
                    batch = Batch()
                # Bounded memory: drop the element and the siblings already read.
                element.clear()
                parent = element.getparent()
                while parent is not None and element.getprevious() is not None:
                    del parent[0]
        if len(batch):
            yield batch


def sniff_format(path: Path) -> str:
    """'xml' or 'csv', from the extension or the first bytes."""
    suffix = path.suffix.lower()
    if suffix in (".xml", ".csv"):
        return suffix[1:]
    with open(path, "rb") as handle:
        start = handle.read(512).lstrip(b"\xef\xbb\xbf \t\r\n")
    return "xml" if start.startswith(b"<") else "csv"


def items(
    path: Path,
    header_seen: list[cim.Header] | None = None,
    timestamps: Timestamps | None = None,
    decimal: str | None = None,
) -> Iterator[Item]:
    """Batches of values, events and rejections, in file order. `decimal` declares the CSV's
    decimal separator (XML always uses the point)."""
    try:
        if sniff_format(path) == "xml":
            yield from xml_items(path, header_seen, timestamps)
        else:
            yield from csv_items(path, timestamps, decimal)
    except UnicodeDecodeError as error:
        raise FatalFileError(f"el archivo no es UTF-8 ({error.reason})") from None
    except cim.MessageError as error:
        raise FatalFileError(str(error)) from None
