"""Validation, estimation and editing (VEE) of interval readings, set-based in SQL.

`validate(first_day, last_day)` works on the local days given, for every interval channel
with readings then (or only the meters given):

1. Checks, written as quality bits on the raw readings (their values are never changed; a
   re-run clears and recomputes the bits it owns, the head-end's SOURCE bit stays):
   - negative: an energy value below zero;
   - spike: an energy value above VEE_SPIKE_FACTOR times the channel's median over the days
     validated, and above VEE_SPIKE_MIN_KWH;
   - flat line: VEE_FLAT_INTERVALS or more consecutive identical non-zero energy values;
   - clock drift: a timestamp more than VEE_CLOCK_TOLERANCE_SECONDS off the interval grid;
   - duplicates: two readings in the same interval slot (a drifting clock sends 00:15:07
     besides 00:15:00; exact repeats never reach the store: ingest refuses them).
   - gaps: slots of the day with no reading.
2. Estimation, into EstimatedReading (apart from the raw values), for energy channels, of
   every slot that is missing or holds only an invalid value: first the meter's backup meter
   (Meter.backup_for), when it has a valid value of the same reading type at that slot and
   VEE_BACKUP_SUBSTITUTE is on (method "backup"); then gaps of up to
   VEE_INTERPOLATION_MAX_INTERVALS slots by linear interpolation between the valid values
   around them; longer ones from like days (the mean of the same slot on the same weekday of
   the VEE_LIKE_DAYS_WEEKS previous weeks, valid values only). A slot with neither stays
   unestimated. Estimates whose slot has since received a valid value are deleted. An
   estimate a planner accepted, or a manual value (metering.services.vee_edits), is not
   replaced by later runs. Virtual meters are not validated: their sources are.
3. A report per channel and day (ValidationDay), replaced on every run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from metering.models import Quality

VEE_BITS = Quality.SPIKE | Quality.NEGATIVE | Quality.FLAT | Quality.CLOCK


@dataclass(frozen=True)
class Thresholds:
    spike_factor: float
    spike_min_kwh: float
    flat_intervals: int
    clock_tolerance_s: int
    interpolation_max: int
    like_days_weeks: int
    use_backup: bool = True

    @classmethod
    def from_settings(cls) -> Thresholds:
        return cls(
            spike_factor=settings.VEE_SPIKE_FACTOR,
            spike_min_kwh=settings.VEE_SPIKE_MIN_KWH,
            flat_intervals=settings.VEE_FLAT_INTERVALS,
            clock_tolerance_s=settings.VEE_CLOCK_TOLERANCE_SECONDS,
            interpolation_max=settings.VEE_INTERPOLATION_MAX_INTERVALS,
            like_days_weeks=settings.VEE_LIKE_DAYS_WEEKS,
            use_backup=settings.VEE_BACKUP_SUBSTITUTE,
        )


@dataclass
class VeeResult:
    channels: int = 0
    days: int = 0
    flagged: int = 0
    missing: int = 0
    estimated: int = 0

    def summary(self) -> str:
        return (
            f"{self.channels} canales, {self.days} días-canal validados: {self.flagged} "
            f"valores marcados, {self.missing} intervalos faltantes, {self.estimated} estimados"
        )


# The channels and their slot grid for the period: one row per channel with interval readings
# in it (optionally of some meters), with its interval in seconds and whether it is energy.
CHANNELS = """
    CREATE TEMPORARY TABLE vee_channel ON COMMIT DROP AS
    SELECT c.id AS channel_id, m.interval_minutes * 60 AS step, rt.is_energy
      FROM metering_channel c
      JOIN metering_meter m ON m.id = c.meter_id
      JOIN metering_readingtype rt ON rt.id = c.reading_type_id
     WHERE rt.interval_minutes > 0 AND NOT m.virtual
       AND (%(meters)s::bigint[] IS NULL OR m.id = ANY(%(meters)s::bigint[]))
       AND EXISTS (SELECT FROM metering_intervalreading r
                    WHERE r.channel_id = c.id AND r.ts > %(start)s AND r.ts <= %(end)s)
"""
# Readings of the period, each with its slot (the end of the interval it falls in).
READINGS = """
    CREATE TEMPORARY TABLE vee_reading ON COMMIT DROP AS
    SELECT r.channel_id, r.ts, r.value, r.quality, vc.is_energy, vc.step,
           to_timestamp(ceil(extract(epoch FROM r.ts) / vc.step) * vc.step) AS slot
      FROM metering_intervalreading r
      JOIN vee_channel vc ON vc.channel_id = r.channel_id
     WHERE r.ts > %(start)s AND r.ts <= %(end)s
"""
CLEAR = """
    UPDATE metering_intervalreading r SET quality = r.quality & ~%(bits)s
      FROM vee_channel vc
     WHERE r.channel_id = vc.channel_id AND r.ts > %(start)s AND r.ts <= %(end)s
       AND r.quality & %(bits)s <> 0
"""
FLAGS = """
    WITH medians AS (
        SELECT channel_id, percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median
          FROM vee_reading WHERE is_energy AND value > 0 GROUP BY channel_id
    ), runs AS (
        SELECT channel_id, ts, value,
               row_number() OVER (PARTITION BY channel_id ORDER BY ts)
             - row_number() OVER (PARTITION BY channel_id, value ORDER BY ts) AS island
          FROM vee_reading WHERE is_energy
    ), flat AS (
        SELECT channel_id, ts FROM (
            SELECT channel_id, ts, value,
                   count(*) OVER (PARTITION BY channel_id, value, island) AS length
              FROM runs) x
         WHERE length >= %(flat)s AND value <> 0
    ), flags AS (
        SELECT v.channel_id, v.ts,
               (CASE WHEN v.is_energy AND v.value < 0 THEN %(negative)s ELSE 0 END)
             | (CASE WHEN v.is_energy AND v.value > %(spike_min)s
                      AND v.value > %(spike_factor)s * m.median THEN %(spike)s ELSE 0 END)
             | (CASE WHEN f.ts IS NOT NULL THEN %(flat_bit)s ELSE 0 END)
             | (CASE WHEN abs(extract(epoch FROM v.ts - v.slot)) > %(tolerance)s
                     THEN %(clock)s ELSE 0 END) AS bits
          FROM vee_reading v
          LEFT JOIN medians m ON m.channel_id = v.channel_id
          LEFT JOIN flat f ON f.channel_id = v.channel_id AND f.ts = v.ts
    )
    UPDATE metering_intervalreading r SET quality = r.quality | flags.bits
      FROM flags
     WHERE r.channel_id = flags.channel_id AND r.ts = flags.ts AND flags.bits <> 0
       AND r.ts > %(start)s AND r.ts <= %(end)s
"""
# Every slot of the period per channel, and what it holds: a valid value, only invalid ones,
# or nothing. A slot ends its interval: the day's first slot is 00:15, its last 00:00.
SLOTS = """
    CREATE TEMPORARY TABLE vee_slot ON COMMIT DROP AS
    SELECT vc.channel_id, vc.is_energy, s.slot, r.value AS valid_value,
           received.slot IS NOT NULL AS received
      FROM vee_channel vc
      CROSS JOIN LATERAL generate_series(
            %(start)s::timestamptz + make_interval(secs => vc.step), %(end)s::timestamptz,
            make_interval(secs => vc.step)) AS s(slot)
      LEFT JOIN metering_intervalreading r
        ON r.channel_id = vc.channel_id AND r.ts = s.slot AND r.quality & %(bits)s = 0
      LEFT JOIN (SELECT DISTINCT channel_id, slot FROM vee_reading) received
        ON received.channel_id = vc.channel_id AND received.slot = s.slot
"""
DELETE_STALE_ESTIMATES = """
    DELETE FROM metering_estimatedreading e
     USING vee_slot s
     WHERE e.channel_id = s.channel_id AND e.ts = s.slot
       AND (s.valid_value IS NOT NULL OR NOT s.is_energy)
"""
# Gaps: runs of consecutive energy slots without a valid value; each gap slot with its
# position in the gap, the gap's length, and the valid values just before and after it.
GAPS = """
    CREATE TEMPORARY TABLE vee_gap ON COMMIT DROP AS
    WITH marked AS (
        SELECT channel_id, slot, received,
               slot - make_interval(secs => vc_step.step * row_number() OVER (
                   PARTITION BY channel_id ORDER BY slot)) AS gap
          FROM vee_slot s
          JOIN vee_channel vc_step USING (channel_id)
         WHERE s.is_energy AND s.valid_value IS NULL
    )
    SELECT m.channel_id, m.slot, m.received,
           row_number() OVER (PARTITION BY m.channel_id, m.gap ORDER BY m.slot) AS position,
           count(*) OVER (PARTITION BY m.channel_id, m.gap) AS length,
           min(m.slot) OVER (PARTITION BY m.channel_id, m.gap) AS first_slot,
           max(m.slot) OVER (PARTITION BY m.channel_id, m.gap) AS last_slot
      FROM marked m
"""
ESTIMATE = """
    WITH backup AS (
        SELECT g.channel_id, g.slot, g.received, r.value, 'backup' AS method
          FROM vee_gap g
          JOIN metering_channel c ON c.id = g.channel_id
          JOIN metering_meter b ON b.backup_for_id = c.meter_id
          JOIN metering_channel bc
            ON bc.meter_id = b.id AND bc.reading_type_id = c.reading_type_id
          JOIN metering_intervalreading r
            ON r.channel_id = bc.id AND r.ts = g.slot AND r.quality & %(bits)s = 0
         WHERE %(use_backup)s
    ), bounds AS (
        SELECT DISTINCT g.channel_id, g.first_slot, g.last_slot, g.length,
               (SELECT r.value FROM metering_intervalreading r
                 WHERE r.channel_id = g.channel_id AND r.ts < g.first_slot
                   AND r.ts >= g.first_slot - interval '1 day' AND r.quality & %(bits)s = 0
                 ORDER BY r.ts DESC LIMIT 1) AS before,
               (SELECT r.value FROM metering_intervalreading r
                 WHERE r.channel_id = g.channel_id AND r.ts > g.last_slot
                   AND r.ts <= g.last_slot + interval '1 day' AND r.quality & %(bits)s = 0
                 ORDER BY r.ts LIMIT 1) AS after
          FROM vee_gap g
         WHERE g.length <= %(interpolation_max)s
    ), interpolated AS (
        SELECT g.channel_id, g.slot, g.received,
               b.before + (b.after - b.before) * g.position / (g.length + 1) AS value,
               'interpolation' AS method
          FROM vee_gap g
          JOIN bounds b ON b.channel_id = g.channel_id AND b.first_slot = g.first_slot
         WHERE b.before IS NOT NULL AND b.after IS NOT NULL
    ), like_days AS (
        SELECT g.channel_id, g.slot, g.received, avg(r.value) AS value, 'like_days' AS method
          FROM vee_gap g
          JOIN generate_series(1, %(weeks)s) AS w(n) ON true
          JOIN metering_intervalreading r
            ON r.channel_id = g.channel_id AND r.ts = g.slot - make_interval(weeks => w.n)
           AND r.quality & %(bits)s = 0
         WHERE g.length > %(interpolation_max)s
         GROUP BY g.channel_id, g.slot, g.received
    ), estimates AS (
        SELECT * FROM backup
         UNION ALL
        SELECT * FROM (SELECT * FROM interpolated UNION ALL SELECT * FROM like_days) e
         WHERE NOT EXISTS (SELECT FROM backup b
                            WHERE b.channel_id = e.channel_id AND b.slot = e.slot)
    )
    INSERT INTO metering_estimatedreading AS e
           (channel_id, ts, value, method, replaces_invalid, estimated_at)
    SELECT channel_id, slot, value, method, received, now() FROM estimates
    ON CONFLICT (channel_id, ts) DO UPDATE
       SET value = EXCLUDED.value, method = EXCLUDED.method,
           replaces_invalid = EXCLUDED.replaces_invalid, estimated_at = EXCLUDED.estimated_at
     -- What a planner accepted or entered stays (metering.VeeEdit keeps who and why).
     WHERE e.accepted_at IS NULL
"""
REPORT = """
    WITH days AS (
        SELECT channel_id, (slot - interval '1 microsecond') AT TIME ZONE %(zone)s AS local,
               slot
          FROM vee_slot
    ), slots AS (
        SELECT d.channel_id, d.local::date AS day, count(*) AS expected,
               count(*) FILTER (WHERE s.received) AS received,
               count(e.id) AS estimated
          FROM days d
          JOIN vee_slot s ON s.channel_id = d.channel_id AND s.slot = d.slot
          LEFT JOIN metering_estimatedreading e ON e.channel_id = d.channel_id AND e.ts = d.slot
         GROUP BY d.channel_id, d.local::date
    ), checks AS (
        SELECT v.channel_id,
               ((v.slot - interval '1 microsecond') AT TIME ZONE %(zone)s)::date AS day,
               count(*) - count(DISTINCT v.slot) AS duplicates,
               count(*) FILTER (WHERE r.quality & %(spike)s <> 0) AS spikes,
               count(*) FILTER (WHERE r.quality & %(negative)s <> 0) AS negatives,
               count(*) FILTER (WHERE r.quality & %(flat_bit)s <> 0) AS flat,
               count(*) FILTER (WHERE r.quality & %(clock)s <> 0) AS clock
          FROM vee_reading v
          JOIN metering_intervalreading r ON r.channel_id = v.channel_id AND r.ts = v.ts
         GROUP BY 1, 2
    )
    INSERT INTO metering_validationday
           (channel_id, day, expected, received, missing, duplicates, spikes, negatives, flat,
            clock, estimated, validated_at)
    SELECT s.channel_id, s.day, s.expected, s.received, s.expected - s.received,
           coalesce(c.duplicates, 0), coalesce(c.spikes, 0), coalesce(c.negatives, 0),
           coalesce(c.flat, 0), coalesce(c.clock, 0), s.estimated, now()
      FROM slots s
      LEFT JOIN checks c ON c.channel_id = s.channel_id AND c.day = s.day
    ON CONFLICT (channel_id, day) DO UPDATE
       SET expected = EXCLUDED.expected, received = EXCLUDED.received,
           missing = EXCLUDED.missing, duplicates = EXCLUDED.duplicates,
           spikes = EXCLUDED.spikes, negatives = EXCLUDED.negatives, flat = EXCLUDED.flat,
           clock = EXCLUDED.clock, estimated = EXCLUDED.estimated,
           validated_at = EXCLUDED.validated_at
"""


def period(first_day: date, last_day: date) -> tuple[datetime, datetime]:
    """The local days as (start, end]: slots end their interval, so a day's readings are
    stamped from 00:15 to 24:00."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime(first_day.year, first_day.month, first_day.day, tzinfo=zone)
    after = last_day + timedelta(days=1)
    return start, datetime(after.year, after.month, after.day, tzinfo=zone)


def validate(
    first_day: date,
    last_day: date,
    meter_ids: list[int] | None = None,
    thresholds: Thresholds | None = None,
) -> VeeResult:
    limits = thresholds or Thresholds.from_settings()
    start, end = period(first_day, last_day)
    params = {
        "start": start,
        "end": end,
        "meters": meter_ids,
        "bits": int(VEE_BITS),
        "negative": int(Quality.NEGATIVE),
        "spike": int(Quality.SPIKE),
        "flat_bit": int(Quality.FLAT),
        "clock": int(Quality.CLOCK),
        "spike_min": limits.spike_min_kwh,
        "spike_factor": limits.spike_factor,
        "flat": limits.flat_intervals,
        "tolerance": limits.clock_tolerance_s,
        "interpolation_max": limits.interpolation_max,
        "weeks": limits.like_days_weeks,
        "use_backup": limits.use_backup,
        "zone": settings.TIME_ZONE,
    }
    result = VeeResult()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS vee_channel, vee_reading, vee_slot, vee_gap")
        cur.execute(CHANNELS, params)
        cur.execute(READINGS, params)
        cur.execute("ANALYZE vee_channel, vee_reading")
        cur.execute("SELECT count(*) FROM vee_channel")
        result.channels = cur.fetchone()[0]
        cur.execute(CLEAR, params)
        cur.execute(FLAGS, params)
        result.flagged = cur.rowcount
        cur.execute(SLOTS, params)
        cur.execute("ANALYZE vee_slot")
        cur.execute(DELETE_STALE_ESTIMATES, params)
        cur.execute(GAPS, params)
        cur.execute(ESTIMATE, params)
        result.estimated = cur.rowcount
        cur.execute(REPORT, params)
        result.days = cur.rowcount
        cur.execute("SELECT count(*) FROM vee_slot WHERE NOT received")
        result.missing = cur.fetchone()[0]
        cur.execute("DROP TABLE vee_channel, vee_reading, vee_slot, vee_gap")
    return result
