"""Corrections: a run that is asked to (`ingest_file(..., correction="motivo")`, or a CIM
MeterReadings message with the verb `changed`) replaces stored values that differ. Each value
replaced goes first to metering_readingrevision (the value, quality and run it had, the new
value, the line, the reason, when). Then the VEE, the monthly demand and the energy balances of
the days and months the correction touched are computed again, in the same transaction.

An ordinary run never takes this path: a value already stored with another value is reported
and kept ("se conserva el existente")."""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from django.conf import settings
from django.db import connection

from metering.services import monitoring, vee
from metering.services.ingest.pgcopy import _copy_row, copy_payload
from metering.services.sources import FatalFileError, as_datetime

REVISE_TABLE = """
    CREATE TEMPORARY TABLE metering_revise (
        line bigint NOT NULL, channel_id integer NOT NULL, ts timestamptz NOT NULL,
        previous_value double precision NOT NULL, previous_quality smallint NOT NULL,
        previous_run integer NOT NULL, value double precision NOT NULL, quality smallint NOT NULL
    ) ON COMMIT DROP
"""
REVISE_ROW = _copy_row(
    ("line", ">i8"),
    ("channel_id", ">i4"),
    ("ts", ">i8"),
    ("previous_value", ">f8"),
    ("previous_quality", ">i2"),
    ("previous_run", ">i4"),
    ("value", ">f8"),
    ("quality", ">i2"),
)
COPY_TO_REVISE = "COPY metering_revise FROM STDIN (FORMAT BINARY)"
# Only a row still as the comparison saw it is replaced: another load changing it meanwhile
# fails the file (the counts differ).
REVISE_INTERVALS = """
    WITH updated AS (
        UPDATE metering_intervalreading r
           SET value = v.value, quality = v.quality, run_id = %(run)s
          FROM metering_revise v
         WHERE r.channel_id = v.channel_id AND r.ts = v.ts
           AND r.run_id = v.previous_run AND r.value = v.previous_value
        RETURNING r.channel_id, r.ts
    )
    INSERT INTO metering_readingrevision (channel_id, register, ts, previous_value,
           previous_quality, previous_run_id, value, run_id, line, reason, revised_at)
    SELECT v.channel_id, false, v.ts, v.previous_value, v.previous_quality, v.previous_run,
           v.value, %(run)s, v.line, %(reason)s, now()
      FROM metering_revise v
      JOIN updated u ON u.channel_id = v.channel_id AND u.ts = v.ts
"""
# Register reads staged in metering_chunk: the first line of each stored key whose value (or
# head-end flag) differs replaces it; answers the lines replaced.
REVISE_REGISTERS = """
    WITH source AS MATERIALIZED (
        SELECT s.line, s.channel_id, c.meter_id, rt.obis_id, s.ts, s.value, s.quality,
               first_value(s.line) OVER same_key AS first_line
          FROM metering_chunk s
          JOIN metering_channel c ON c.id = s.channel_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE s.register
        WINDOW same_key AS (PARTITION BY c.meter_id, rt.obis_id, s.ts ORDER BY s.line)
    ), changed AS MATERIALIZED (
        SELECT s.*, r.id AS read_id, r.value::double precision AS previous_value,
               r.quality AS previous_quality, r.run_id AS previous_run
          FROM source s
          JOIN metering_registerread r
            ON r.meter_id = s.meter_id AND r.obis_id = s.obis_id AND r.ts = s.ts
         WHERE s.line = s.first_line AND r.run_id <> %(run)s
           AND (r.value::double precision <> s.value
                OR (r.quality & %(source)s) <> (s.quality & %(source)s))
    ), revised AS (
        INSERT INTO metering_readingrevision (channel_id, register, ts, previous_value,
               previous_quality, previous_run_id, value, run_id, line, reason, revised_at)
        SELECT channel_id, true, ts, previous_value, previous_quality, previous_run, value,
               %(run)s, line, %(reason)s, now()
          FROM changed
    ), updated AS (
        UPDATE metering_registerread r
           SET value = c.value, quality = c.quality, run_id = %(run)s
          FROM changed c
         WHERE r.id = c.read_id
        RETURNING c.line
    )
    SELECT line FROM updated
"""


def revise_intervals(cur, rows, comparison, run_id: int, reason: str) -> int:
    """Replace the stored values of the rows `comparison.differ` selects; the count."""
    which = comparison.differ
    payload = copy_payload(
        REVISE_ROW,
        line=rows.lines[which],
        channel_id=rows.channels[which],
        ts=rows.stamps[which],
        previous_value=comparison.stored_field("value", which),
        previous_quality=comparison.stored_field("quality", which),
        previous_run=comparison.stored_field("run_id", which),
        value=rows.values[which],
        quality=rows.qualities[which],
    )
    cur.execute("DROP TABLE IF EXISTS metering_revise")
    cur.execute(REVISE_TABLE)
    with cur.copy(COPY_TO_REVISE) as copy:
        copy.write(payload)
    cur.execute("ANALYZE metering_revise")
    cur.execute(REVISE_INTERVALS, {"run": run_id, "reason": reason})
    revised = cur.rowcount
    cur.execute("DROP TABLE metering_revise")
    if revised != int(which.sum()):
        raise FatalFileError(
            "otra carga cambió al mismo tiempo lecturas que este archivo corrige; vuelva a cargarlo"
        )
    return revised


def revise_registers(cur, run_id: int, reason: str, source_bit: int) -> list[int]:
    """Replace the staged register reads that differ from the stored ones; the lines taken
    out of the staging table (the careful insert that follows must not see them again)."""
    cur.execute(REVISE_REGISTERS, {"run": run_id, "reason": reason, "source": source_bit})
    lines = [line for (line,) in cur.fetchall()]
    if lines:
        cur.execute("DELETE FROM metering_chunk WHERE register AND line = ANY(%s)", [lines])
    return lines


class Touched:
    """The channels and instants a correction inserted or replaced, collected batch by batch,
    and the recomputation of what depends on them."""

    def __init__(self) -> None:
        self.channels: list[np.ndarray] = []
        self.stamps: list[np.ndarray] = []

    def add(self, channels: np.ndarray, stamps: np.ndarray) -> None:
        if len(channels):
            self.channels.append(np.unique(channels))
            self.stamps.append(np.unique(stamps))

    def __bool__(self) -> bool:
        return bool(self.channels)

    def days(self) -> list[date]:
        zone = ZoneInfo(settings.TIME_ZONE)
        found = set()
        for moment in np.unique(np.concatenate(self.stamps)).tolist():
            # The reading that ends at 00:00 belongs to the day before (slots end intervals).
            local = (as_datetime(moment) - timedelta(microseconds=1)).astimezone(zone)
            found.add(local.date())
        return sorted(found)

    def meter_ids(self) -> list[int]:
        channels = np.unique(np.concatenate(self.channels)).tolist()
        with connection.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT meter_id FROM metering_channel WHERE id = ANY(%s)", [channels]
            )
            return sorted(pk for (pk,) in cur.fetchall())


def spans(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) spans."""
    found: list[tuple[date, date]] = []
    for day in days:
        if found and day == found[-1][1] + timedelta(days=1):
            found[-1] = (found[-1][0], day)
        else:
            found.append((day, day))
    return found


def recompute(touched: Touched) -> dict[str, int]:
    """The VEE of the touched meters on the touched days (each span of consecutive days
    apart: a correction of two far apart days validates those two), then the monthly demand
    and the energy balances of the touched months; what was written."""
    days = touched.days()
    meters = touched.meter_ids()
    done = {"vee_days": 0, "demands": 0, "balances": 0}
    for first, last in spans(days):
        done["vee_days"] += vee.validate(first, last, meters).days
    for month in sorted({day.replace(day=1) for day in days}):
        done["demands"] += monitoring.monthly_demand(month)
        done["balances"] += monitoring.energy_balance(month)[0]
    return done
