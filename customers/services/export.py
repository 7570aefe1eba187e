"""Descargar mis datos: one customer's interval readings and monthly bills as CSV.

Both files follow the portal's CSV for Excel in Chile (`core.api.renderers`): UTF-8 with a
byte-order mark, ';' between columns, decimals with a comma. They are generators of text
chunks, for a StreamingHttpResponse: a year of 15-minute readings is ~35,000 rows per channel,
read through a server-side cursor and never held in memory.

The interval readings file has one row per interval of every interval channel of the
customer's meters (`interval_rows`), with the raw value and the VEE's estimate side by side,
so that nothing the meter sent is hidden. The quality of each row (column "Calidad"):

- `real`: a valid raw reading (quality 0). Valor = Valor medido = the raw value.
- `estimado`: an EstimatedReading for an interval the meter never delivered. Valor = the
  estimate; Valor medido empty; "Método de estimación" says how.
- `editado`: an EstimatedReading that replaces an invalid raw reading. Valor = the estimate;
  Valor medido = the raw value; "Validaciones fallidas" lists the checks it failed.
- `inválido`: an invalid raw reading the VEE could not estimate. Valor empty (it is not a
  usable value); Valor medido = the raw value; "Validaciones fallidas" lists the checks.

A raw reading is invalid when its quality is not 0: any bit of `Quality`, the head-end's own
flag (SOURCE) included, as the model defines it. (The VEE and the monitoring keep using a
value that carries SOURCE alone; the customer is still told the head-end flagged it.) An
estimate belongs to the raw reading in its slot, the interval end
the VEE gives it (`ceil(ts / step) * step`); when a slot holds two raw readings (duplicates,
e.g. a drifting clock), the first valid one takes it and the other gets its own row. An
estimate left in a slot that holds a valid reading (stale: the VEE deletes those on its next
run) is ignored: the valid reading wins.

Times are the interval's start and end in local time (settings.TIME_ZONE), ISO 8601 with
their UTC offset, so the hour repeated when daylight saving time ends is never ambiguous.
Values are written as stored, to 15 significant digits (`_number`), not rounded for
display.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import NamedTuple
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from core.api.renderers import BOM, csv_value
from metering.models import EstimatedReading, MonthlyBill, Quality
from metering.services.vee import period

__all__ = [
    "EDITED",
    "ESTIMATED",
    "INVALID",
    "REAL",
    "Channel",
    "IntervalRow",
    "bills_csv",
    "channels",
    "failed_checks",
    "interval_rows",
    "readings_csv",
]

REAL = "real"
ESTIMATED = "estimado"
EDITED = "editado"
INVALID = "inválido"

READINGS_HEADER = [
    "Medidor",
    "Código del tipo de lectura (CIM)",
    "Tipo de lectura",
    "Unidad",
    "Inicio del intervalo",
    "Fin del intervalo",
    "Valor",
    "Calidad",
    "Valor medido",
    "Validaciones fallidas",
    "Método de estimación",
]
BILL_FIELDS = [
    "month",
    "consumption_kwh",
    "charges_clp",
    "injection_kwh",
    "injection_value_clp",
    "net_charge_clp",
    "meter",
    "read_from",
    "read_to",
    "consumption_start_kwh",
    "consumption_end_kwh",
    "injection_start_kwh",
    "injection_end_kwh",
]
# Rows per chunk of the streamed CSV: large enough that the response is not a syscall per
# row, small enough that the first bytes leave at once.
CHUNK_ROWS = 2000
METHODS = dict(EstimatedReading.Method.choices)

# The customer's interval channels, in the order of the files.
CHANNELS = """
    SELECT c.id, m.serial, rt.code, rt.name, rt.unit, m.interval_minutes * 60 AS step
      FROM metering_channel c
      JOIN metering_meter m ON m.id = c.meter_id
      JOIN metering_readingtype rt ON rt.id = c.reading_type_id
     WHERE m.customer_id = %(customer)s AND m.kind = 'customer' AND rt.interval_minutes > 0
"""
ORDER = "serial, code, id"
# Raw readings and estimates of those channels side by side, one row per raw reading and per
# estimate that fills a gap. An estimate joins the first raw reading of its slot (the slot as
# the VEE computes it: the interval end on the channel's grid); valid readings rank first.
# The join's CASE keeps it a plain equality, which a FULL JOIN needs (hash or merge).
ROWS = """
    WITH ch AS MATERIALIZED ({channels}),
    raw AS (
        SELECT r.channel_id, r.ts, r.value, r.quality, s.slot,
               row_number() OVER (PARTITION BY r.channel_id, s.slot
                                  ORDER BY r.quality <> 0, r.ts) AS rank
          FROM ch
          JOIN metering_intervalreading r ON r.channel_id = ch.id
          CROSS JOIN LATERAL (
                SELECT to_timestamp(ceil(extract(epoch FROM r.ts) / ch.step) * ch.step) AS slot
          ) s
         WHERE true {raw_range}
    ),
    est AS (
        SELECT e.channel_id, e.ts, e.value, e.method
          FROM ch
          JOIN metering_estimatedreading e ON e.channel_id = ch.id
         WHERE true {est_range}
    ),
    joined AS (
        SELECT coalesce(raw.channel_id, est.channel_id) AS channel_id,
               raw.ts AS raw_ts, raw.value AS raw_value, raw.quality, raw.rank > 1 AS duplicate,
               est.ts AS est_ts, est.value AS est_value, est.method
          FROM raw
          FULL JOIN est
            ON est.channel_id = raw.channel_id
           AND est.ts = CASE WHEN raw.rank = 1 THEN raw.slot END
    )
    SELECT ch.id, ch.serial, ch.code, ch.name, ch.unit, ch.step,
           extract(epoch FROM j.raw_ts)::float8, j.raw_value, j.quality, j.duplicate,
           extract(epoch FROM j.est_ts)::float8, j.est_value, j.method
      FROM joined j
      JOIN ch ON ch.id = j.channel_id
     ORDER BY ch.serial, ch.code, ch.id,
              CASE WHEN j.raw_ts IS NULL OR (j.quality <> 0 AND j.est_ts IS NOT NULL)
                   THEN j.est_ts ELSE j.raw_ts END,
              j.raw_ts
"""


class Channel(NamedTuple):
    id: int
    serial: str
    code: str
    name: str
    unit: str
    step: int  # seconds: the meter's profile period


class IntervalRow(NamedTuple):
    """One interval of a channel, as the files show it (see the module's docstring)."""

    channel: Channel
    # The interval's end as stored, in seconds since 1970 (UTC): a float, exact to the
    # microsecond. Not a datetime: Django's psycopg loader parses timestamptz in Python, which
    # cost half a second per year of readings, as much as writing the CSV.
    ends: float
    value: float | None  # the value to use: raw if real, the estimate if estimado/editado
    kind: str  # REAL, ESTIMATED, EDITED or INVALID
    raw: float | None  # what the meter sent (None for estimado)
    quality: int | None  # the raw value's Quality bits (None for estimado)
    method: str | None  # EstimatedReading.Method for estimado and editado
    duplicate: bool  # a second raw reading in an interval that already has one

    @property
    def starts(self) -> float:
        return self.ends - self.channel.step

    @property
    def end(self) -> datetime:
        return datetime.fromtimestamp(self.ends, UTC)

    @property
    def start(self) -> datetime:
        return datetime.fromtimestamp(self.starts, UTC)


def channels(customer) -> list[Channel]:
    """The customer's interval channels, in the order `interval_rows` reads them."""
    with connection.cursor() as cursor:
        cursor.execute(f"{CHANNELS} ORDER BY {ORDER}", {"customer": customer.pk})
        return [Channel(*row) for row in cursor.fetchall()]


def interval_rows(
    customer, start: date | None = None, end: date | None = None
) -> Iterator[IntervalRow]:
    """Every interval of the customer's interval channels, by channel and time, streamed.

    `start` and `end` are local days, both included: the intervals that end in
    (start 00:00, end + 1 day 00:00], as the VEE reads a day.
    """
    params: dict = {"customer": customer.pk}
    raw_range = est_range = ""
    # Bounds written into the SQL only when given: literal bounds let PostgreSQL skip the
    # monthly partitions outside them when it plans the query.
    if start is not None:
        params["start"] = period(start, start)[0]
        raw_range += " AND r.ts > %(start)s"
        est_range += " AND e.ts > %(start)s"
    if end is not None:
        params["end"] = period(end, end)[1]
        raw_range += " AND r.ts <= %(end)s"
        est_range += " AND e.ts <= %(end)s"
    sql = ROWS.format(channels=CHANNELS, raw_range=raw_range, est_range=est_range)
    known: dict[int, Channel] = {}
    # A named (server-side) cursor: rows arrive in batches of `itersize`, not all at once.
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK_ROWS):
            for pk, *described, raw_ts, raw, quality, dup, est_ts, est, how in batch:
                channel = known.get(pk)
                if channel is None:
                    channel = known[pk] = Channel(pk, *described)
                if raw_ts is None:
                    yield IntervalRow(channel, est_ts, est, ESTIMATED, None, None, how, False)
                elif quality == Quality.VALID:
                    yield IntervalRow(channel, raw_ts, raw, REAL, raw, quality, None, dup)
                elif est_ts is not None:
                    yield IntervalRow(channel, est_ts, est, EDITED, raw, quality, how, dup)
                else:
                    yield IntervalRow(channel, raw_ts, None, INVALID, raw, quality, None, dup)


def failed_checks(quality: int | None) -> list[str]:
    """The Spanish names of the checks a raw value failed (its Quality bits)."""
    if not quality:
        return []
    names = [label for bit, label in Quality.choices if bit and quality & bit]
    unknown = quality & ~sum(bit for bit, _ in Quality.choices)
    if unknown:
        names.append(f"código {unknown}")
    return names


def readings_csv(customer, start: date | None = None, end: date | None = None) -> Iterator[str]:
    """The interval readings file, as chunks of text (see the module's docstring)."""
    zone = ZoneInfo(settings.TIME_ZONE)
    out = io.StringIO()
    out.write(BOM)
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerow(READINGS_HEADER)
    # Only the channel's own text may need quoting (csv.writer does it, once per channel);
    # every other cell is a number, a time or one of our labels, which never hold ';' or '"'.
    prefixes: dict[int, str] = {}
    numbers: dict[float, str] = {}
    checks: dict[int | None, str] = {}
    lines: list[str] = []
    last_end, last_text = None, ""
    for row in interval_rows(customer, start, end):
        channel = row.channel
        prefix = prefixes.get(channel.id)
        if prefix is None:
            cell = io.StringIO()
            cells = (channel.serial, channel.code, channel.name, channel.unit)
            csv.writer(cell, delimiter=";", lineterminator=";").writerow(
                [csv_value(text) for text in cells]
            )
            prefix = prefixes[channel.id] = cell.getvalue()
        # Intervals follow each other: a row's start is most often the previous row's end.
        starts = row.starts
        start_text = last_text if starts == last_end else _local(starts, zone)
        last_end, last_text = row.ends, _local(row.ends, zone)
        value = numbers.get(row.value)
        if value is None:
            value = numbers[row.value] = _number(row.value)
        raw = numbers.get(row.raw)
        if raw is None:
            raw = numbers[row.raw] = _number(row.raw)
        failed = checks.get(row.quality)
        if failed is None:
            failed = checks[row.quality] = ", ".join(failed_checks(row.quality))
        method = METHODS.get(row.method, row.method or "")
        lines.append(
            f"{prefix}{start_text};{last_text};{value};{row.kind};{raw};{failed};{method}\r\n"
        )
        if len(lines) == CHUNK_ROWS:
            out.write("".join(lines))
            lines.clear()
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    out.write("".join(lines))
    yield out.getvalue()


def bills_csv(customer) -> Iterator[str]:
    """Every MonthlyBill of the customer, oldest first, one row each, as chunks of text."""
    fields = [MonthlyBill._meta.get_field(name) for name in BILL_FIELDS]
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    out.write(BOM)
    writer.writerow([_header(str(field.verbose_name)) for field in fields])
    bills = MonthlyBill.objects.of_customer(customer).order_by("month").values_list(*BILL_FIELDS)
    for month, *rest in bills.iterator(chunk_size=CHUNK_ROWS):
        writer.writerow([f"{month:%m/%Y}", *(csv_value(value) for value in rest)])
    yield out.getvalue()


def _local(seconds: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(seconds, zone).isoformat()


def _header(text: str) -> str:
    return text[:1].upper() + text[1:]


def _number(value: float | None) -> str:
    """A float to 15 significant digits, with a comma. The readings are data to re-use, so
    they are not rounded to two decimals as csv_value rounds for display; 15 digits are all
    Excel keeps, they give every raw value (three decimals) back exactly, and they drop the
    binary noise of computed estimates (0.28800000000000003 is written 0,288)."""
    if value is None:
        return ""
    text = f"{value:.15g}"
    if "e" in text:
        text = format(Decimal(text), "f")
    return text.replace(".", ",")
