"""Main against backup meters (Hemera Fronteira): a daily comparison per measurement point.

For each main meter with a backup (Meter.backup_for) and each energy interval channel both
have, per local day: the energies of the intervals both delivered with a valid value (VEE
flags excluded), their difference (backup − main) and its percentage of the main's, the
largest difference of one interval and when, and the intervals only one of them delivered.
A day whose difference exceeds METERING_BACKUP_DEVIATION_PCT is flagged (a day where the main
measured nothing and the backup something, too). Set-based; a re-run replaces the days given.
The VEE uses the backup as the first substitute for the main's gaps (services/vee.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.db import connection, transaction

from metering.services.vee import VEE_BITS, period

COMPARE = """
    WITH pairs AS (
        SELECT c.id AS channel_id, bc.id AS backup_channel_id
          FROM metering_meter b
          JOIN metering_meter m ON m.id = b.backup_for_id
          JOIN metering_channel c ON c.meter_id = m.id
          JOIN metering_channel bc
            ON bc.meter_id = b.id AND bc.reading_type_id = c.reading_type_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE rt.is_energy AND rt.interval_minutes > 0
           AND (%(meters)s::bigint[] IS NULL OR m.id = ANY(%(meters)s::bigint[]))
    ), main AS (
        SELECT p.channel_id, r.ts, r.value
          FROM pairs p
          JOIN metering_intervalreading r ON r.channel_id = p.channel_id
         WHERE r.ts > %(start)s AND r.ts <= %(end)s AND r.quality & %(bits)s = 0
    ), backup AS (
        SELECT p.channel_id, r.ts, r.value
          FROM pairs p
          JOIN metering_intervalreading r ON r.channel_id = p.backup_channel_id
         WHERE r.ts > %(start)s AND r.ts <= %(end)s AND r.quality & %(bits)s = 0
    ), joined AS (
        SELECT coalesce(a.channel_id, b.channel_id) AS channel_id,
               coalesce(a.ts, b.ts) AS ts, a.value AS main, b.value AS backup
          FROM main a
          FULL JOIN backup b ON b.channel_id = a.channel_id AND b.ts = a.ts
    ), days AS (
        SELECT channel_id,
               ((ts - interval '1 microsecond') AT TIME ZONE %(zone)s)::date AS day,
               count(*) FILTER (WHERE main IS NOT NULL AND backup IS NOT NULL) AS intervals,
               count(*) FILTER (WHERE main IS NULL) AS main_missing,
               count(*) FILTER (WHERE backup IS NULL) AS backup_missing,
               coalesce(sum(main) FILTER (WHERE backup IS NOT NULL), 0) AS main_kwh,
               coalesce(sum(backup) FILTER (WHERE main IS NOT NULL), 0) AS backup_kwh,
               coalesce(max(abs(backup - main)), 0) AS max_difference,
               (array_agg(ts ORDER BY abs(backup - main) DESC, ts)
                    FILTER (WHERE main IS NOT NULL AND backup IS NOT NULL))[1] AS max_at
          FROM joined
         GROUP BY 1, 2
    )
    INSERT INTO metering_backupcomparison AS c
           (channel_id, backup_channel_id, day, intervals, main_missing, backup_missing,
            main_kwh, backup_kwh, difference, difference_pct, max_interval_difference,
            max_interval_at, flagged, compared_at)
    SELECT d.channel_id, p.backup_channel_id, d.day, d.intervals, d.main_missing,
           d.backup_missing, d.main_kwh, d.backup_kwh, d.backup_kwh - d.main_kwh,
           CASE WHEN d.main_kwh <> 0
                THEN 100 * (d.backup_kwh - d.main_kwh) / abs(d.main_kwh) END,
           d.max_difference, d.max_at,
           CASE WHEN d.main_kwh <> 0
                THEN abs(100 * (d.backup_kwh - d.main_kwh) / d.main_kwh) > %(threshold)s
                ELSE d.backup_kwh <> 0 END,
           now()
      FROM days d
      JOIN pairs p ON p.channel_id = d.channel_id
     WHERE d.day BETWEEN %(first_day)s AND %(last_day)s
    ON CONFLICT (channel_id, day) DO UPDATE
       SET backup_channel_id = EXCLUDED.backup_channel_id, intervals = EXCLUDED.intervals,
           main_missing = EXCLUDED.main_missing, backup_missing = EXCLUDED.backup_missing,
           main_kwh = EXCLUDED.main_kwh, backup_kwh = EXCLUDED.backup_kwh,
           difference = EXCLUDED.difference, difference_pct = EXCLUDED.difference_pct,
           max_interval_difference = EXCLUDED.max_interval_difference,
           max_interval_at = EXCLUDED.max_interval_at, flagged = EXCLUDED.flagged,
           compared_at = EXCLUDED.compared_at
    RETURNING c.id, c.flagged
"""
# Days of the period compared before that have no data of either meter now (or whose pair
# was undone): their comparison goes.
STALE = """
    DELETE FROM metering_backupcomparison c
     WHERE c.day BETWEEN %(first_day)s AND %(last_day)s
       AND (%(meters)s::bigint[] IS NULL OR c.channel_id IN (
            SELECT id FROM metering_channel WHERE meter_id = ANY(%(meters)s::bigint[])))
       AND NOT c.id = ANY(%(kept)s::bigint[])
"""


@dataclass
class ComparisonResult:
    days: int = 0
    flagged: int = 0
    removed: int = 0

    def summary(self) -> str:
        return (
            f"{self.days} días-canal comparados con su respaldo, {self.flagged} sobre el "
            f"umbral de {settings.METERING_BACKUP_DEVIATION_PCT:g} %"
        )


def compare(
    first_day: date, last_day: date, meter_ids: list[int] | None = None
) -> ComparisonResult:
    """Compare every main/backup pair (or the mains in `meter_ids`) on the local days
    first_day..last_day."""
    start, end = period(first_day, last_day)
    params = {
        "start": start,
        "end": end,
        "first_day": first_day,
        "last_day": last_day,
        "meters": meter_ids,
        "bits": int(VEE_BITS),
        "zone": settings.TIME_ZONE,
        "threshold": settings.METERING_BACKUP_DEVIATION_PCT,
    }
    result = ComparisonResult()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(COMPARE, params)
        rows = cur.fetchall()
        result.days = len(rows)
        result.flagged = sum(1 for _, flagged in rows if flagged)
        cur.execute(STALE, {**params, "kept": [pk for pk, _ in rows]})
        result.removed = cur.rowcount
    return result
