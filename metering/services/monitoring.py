"""Transformer and feeder monitoring from the readings: monthly demand, energy balance, alarms.

Every computation reads the validated series of a channel: its raw values without VEE flags,
plus the estimates (metering.services.vee) for the slots that have none. All are set-based
statements that replace their month's results, so running them again changes nothing.

- `monthly_demand(month)`: max and min demand (kW = kWh of the interval × 60 / its minutes)
  of every transformer totalizer and feeder-head meter, leaving out the intervals that overlap
  a LoadTransfer of that feeder (or transformer); written to demand.MonthlyDemand, which the
  feeder and transformer pages read.
- `energy_balance(month)`: per transformer with a totalizer, its net energy (imported minus
  exported) against the sum of its customers' meters; the loss and its percentage; flagged
  above METERING_LOSS_THRESHOLD_PCT.
- `detect_alarms(month)`: voltage outside METERING_VOLTAGE_NOMINAL_V ± METERING_VOLTAGE_BAND_PCT
  (one alarm per stretch of consecutive intervals), a customer's month more than
  METERING_HABIT_CHANGE_PCT away from the mean of its three previous months, tamper and
  outage events of the meters, and days missing more than METERING_MISSING_INTERVALS
  intervals after the VEE.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction

from core.months import add_months, next_month, today
from metering.services.vee import VEE_BITS

A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
A_MINUS = "0.0.2.4.19.1.12.0.0.0.0.0.0.0.0.3.72.0"

# The validated series of the channels in the CTE `channels` (which has a channel_id column):
# raw values without VEE flags, plus estimates. Joined branch by branch, so that the planner
# reads each channel's readings through the primary key instead of the whole month per channel.
SERIES = """
    series AS (
        SELECT ch.*, r.ts, r.value
          FROM metering_intervalreading r
          JOIN channels ch ON ch.channel_id = r.channel_id
         WHERE r.ts > %(start)s AND r.ts <= %(end)s AND r.quality & %(bits)s = 0
         UNION ALL
        SELECT ch.*, e.ts, e.value
          FROM metering_estimatedreading e
          JOIN channels ch ON ch.channel_id = e.channel_id
         WHERE e.ts > %(start)s AND e.ts <= %(end)s
    )
"""

# Per channel, the highest and lowest interval value of the month in the validated series
# (raw values without VEE flags, and estimates), leaving out the intervals that overlap a load
# transfer of the channel's asset (`windows`: channel, start, end, interval minutes). A SELECT
# as plain as the aggregate itself, each store aggregated where it is read: PostgreSQL runs the
# readings' part in parallel workers, each hashing its share by channel (a statement that
# writes may not; one over the union of both stores sorts all of it), and the channels are few
# next to their readings. The VEE flags are tested in the aggregate's FILTER, not the WHERE:
# PostgreSQL has no statistics for `quality & bits` and would expect 0.5 % of the month's rows,
# and sort them all by channel rather than hash them. DEMAND_WRITE writes the result.
# `{readings}` and `{estimates}` are TRANSFERS over each when the month has windows, else
# nothing.
DEMAND = """
    SELECT channel_id, max(high), min(low)
      FROM (
            SELECT r.channel_id, max(r.value) FILTER (WHERE r.quality & %(bits)s = 0) AS high,
                   min(r.value) FILTER (WHERE r.quality & %(bits)s = 0) AS low
              FROM metering_intervalreading r
             WHERE r.ts > %(start)s AND r.ts <= %(end)s
               AND r.channel_id = ANY(%(channels)s::int[]){readings}
             GROUP BY r.channel_id
             UNION ALL
            SELECT e.channel_id, max(e.value), min(e.value)
              FROM metering_estimatedreading e
             WHERE e.ts > %(start)s AND e.ts <= %(end)s
               AND e.channel_id = ANY(%(channels)s::int[]){estimates}
             GROUP BY e.channel_id
           ) s
     GROUP BY channel_id
    HAVING max(high) IS NOT NULL  -- a channel whose every reading is flagged: no figure
"""
# The intervals that overlap a window left out: a NOT EXISTS alone, which PostgreSQL turns into
# an anti-join against the windows hashed, in each worker. (Behind an OR, a cheap test of the
# channel first, it stays a correlated subplan, which keeps the whole aggregate in one process.)
TRANSFERS = """
               AND NOT EXISTS (
                   SELECT FROM unnest(%(w_channel)s::int[], %(w_start)s::timestamptz[],
                                      %(w_end)s::timestamptz[], %(w_minutes)s::int[])
                               AS w(channel_id, starts_at, ends_at, minutes)
                    WHERE w.channel_id = {t}.channel_id AND {t}.ts > w.starts_at
                      AND {t}.ts - make_interval(mins => w.minutes) < w.ends_at)"""


def demand_sql(with_windows: bool) -> str:
    """DEMAND with the transfer windows left out, or without the clause (a month with none)."""
    if not with_windows:
        return DEMAND.format(readings="", estimates="")
    return DEMAND.format(readings=TRANSFERS.format(t="r"), estimates=TRANSFERS.format(t="e"))


# One measurement per asset: its main meter (a backup only substitutes, in the VEE), a real
# one before a virtual one.
CHANNELS_OF = """
    SELECT DISTINCT ON (m.{asset}_id) c.id, m.{asset}_id, m.interval_minutes
      FROM metering_channel c
      JOIN metering_meter m ON m.id = c.meter_id
      JOIN metering_readingtype rt ON rt.id = c.reading_type_id
     WHERE m.kind = %(kind)s AND rt.code = %(a_plus)s AND m.backup_for_id IS NULL
     ORDER BY m.{asset}_id, m.virtual, m.id
"""
WINDOWS_OF = """
    SELECT c.id, t.starts_at, t.ends_at, m.interval_minutes
      FROM metering_loadtransfer t
      JOIN metering_meter m ON m.{asset}_id = t.{asset}_id AND m.kind = %(kind)s
      JOIN metering_channel c ON c.meter_id = m.id
     WHERE t.ends_at > %(start)s AND t.starts_at < %(end)s
"""
DEMAND_WRITE = """
    INSERT INTO demand_monthlydemand
           ({asset}_id, month, max_kw, min_kw, excludes_load_transfer, computed, as_of)
    SELECT asset_id, %(month)s, round(max_kw::numeric, 1), round(greatest(min_kw, 0)::numeric, 1),
           true, true, %(today)s
      FROM unnest(%(assets)s::bigint[], %(max)s::float8[], %(min)s::float8[])
           AS d(asset_id, max_kw, min_kw)
    ON CONFLICT ({asset}_id, month) WHERE {asset}_id IS NOT NULL DO UPDATE
       SET max_kw = EXCLUDED.max_kw, min_kw = EXCLUDED.min_kw,
           excludes_load_transfer = true, computed = true, as_of = EXCLUDED.as_of
"""
# Channels with a load transfer in the month that have readings in it: those of them whose
# every reading fell in a transfer have no figure in normal operation this month.
TRANSFERRED_WITH_READINGS = """
    SELECT DISTINCT channel_id FROM (
        SELECT channel_id FROM metering_intervalreading
         WHERE ts > %(start)s AND ts <= %(end)s AND channel_id = ANY(%(w_channel)s::int[])
         UNION ALL
        SELECT channel_id FROM metering_estimatedreading
         WHERE ts > %(start)s AND ts <= %(end)s AND channel_id = ANY(%(w_channel)s::int[])
    ) s
"""
# A figure computed earlier for such a month is withdrawn (an imported one is left alone).
DEMAND_WITHDRAW = """
    DELETE FROM demand_monthlydemand
     WHERE month = %(month)s AND computed AND {asset}_id = ANY(%(assets)s::bigint[])
"""

BALANCE = """
    WITH channels AS NOT MATERIALIZED (
        SELECT c.id AS channel_id, m.kind, m.transformer_id, m.customer_id,
               CASE rt.code WHEN %(a_plus)s THEN 1 ELSE -1 END AS sign
          FROM metering_channel c
          JOIN metering_meter m ON m.id = c.meter_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE rt.code IN (%(a_plus)s, %(a_minus)s) AND m.kind IN ('totalizer', 'customer')
           AND m.backup_for_id IS NULL
           AND NOT (m.virtual AND EXISTS (
                SELECT FROM metering_meter r
                 WHERE r.kind = m.kind AND r.transformer_id = m.transformer_id
                   AND NOT r.virtual AND r.backup_for_id IS NULL))
    ), {series}, net AS (
        SELECT s.kind, coalesce(s.transformer_id, cu.transformer_id) AS transformer_id,
               s.customer_id, sum(s.value * s.sign) AS kwh
          FROM series s
          LEFT JOIN network_customer cu ON cu.id = s.customer_id
         GROUP BY 1, 2, 3
    ), supplied AS (
        SELECT transformer_id, sum(kwh) AS kwh FROM net WHERE kind = 'totalizer' GROUP BY 1
    ), metered AS (
        SELECT transformer_id, sum(kwh) AS kwh, count(DISTINCT customer_id) AS customers
          FROM net WHERE kind = 'customer' GROUP BY 1
    ), balance AS (
        SELECT s.transformer_id, s.kwh AS supplied, coalesce(m.kwh, 0) AS metered,
               coalesce(m.customers, 0) AS metered_customers,
               (SELECT count(*) FROM network_customer cu
                 WHERE cu.transformer_id = s.transformer_id) AS customers
          FROM supplied s LEFT JOIN metered m USING (transformer_id)
    )
    INSERT INTO metering_energybalance
           (transformer_id, month, supplied_kwh, metered_kwh, loss_kwh, loss_pct, customers,
            metered_customers, flagged, as_of)
    SELECT transformer_id, %(month)s, round(supplied::numeric, 3), round(metered::numeric, 3),
           round((supplied - metered)::numeric, 3),
           CASE WHEN supplied > 0 THEN round(((supplied - metered) / supplied * 100)::numeric, 2)
           END,
           customers, metered_customers,
           supplied > 0 AND (supplied - metered) / supplied * 100 > %(threshold)s,
           %(today)s
      FROM balance
    ON CONFLICT (transformer_id, month) DO UPDATE
       SET supplied_kwh = EXCLUDED.supplied_kwh, metered_kwh = EXCLUDED.metered_kwh,
           loss_kwh = EXCLUDED.loss_kwh, loss_pct = EXCLUDED.loss_pct,
           customers = EXCLUDED.customers, metered_customers = EXCLUDED.metered_customers,
           flagged = EXCLUDED.flagged, as_of = EXCLUDED.as_of
"""

ALARM_UPSERT = """
    INSERT INTO metering_alarm (kind, meter_id, started_at, ended_at, value, detail, raised_at)
    SELECT %(kind)s, meter_id, started_at, ended_at, value, detail, now() FROM found
    ON CONFLICT (kind, meter_id, started_at) DO UPDATE
       SET ended_at = EXCLUDED.ended_at, value = EXCLUDED.value, detail = EXCLUDED.detail,
           raised_at = EXCLUDED.raised_at
"""

VOLTAGE = (
    """
    WITH channels AS (
        SELECT c.id AS channel_id, c.meter_id, m.interval_minutes AS minutes
          FROM metering_channel c
          JOIN metering_meter m ON m.id = c.meter_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE rt.unit = 'V' AND rt.interval_minutes > 0
    ), outside AS (
        SELECT ch.meter_id, ch.minutes, r.ts, r.value,
               r.ts - make_interval(mins => ch.minutes * row_number() OVER (
                   PARTITION BY ch.channel_id ORDER BY r.ts)::int) AS stretch,
               ch.channel_id
          FROM metering_intervalreading r
          JOIN channels ch ON ch.channel_id = r.channel_id
         WHERE r.ts > %(start)s AND r.ts <= %(end)s AND r.quality & %(bits)s = 0
           AND abs(r.value - %(nominal)s) > %(nominal)s * %(band)s / 100
    ), found AS (
        SELECT meter_id, min(ts) - make_interval(mins => min(minutes)) AS started_at,
               max(ts) AS ended_at,
               (array_agg(value ORDER BY abs(value - %(nominal)s) DESC))[1] AS value,
               'tensión fuera de ±' || replace(trim_scale(%(band)s::numeric)::text, '.', ',')
               || ' %% de ' || replace(trim_scale(%(nominal)s::numeric)::text, '.', ',')
               || ' V' AS detail
          FROM outside GROUP BY meter_id, channel_id, stretch
    )
"""
    + ALARM_UPSERT
)

HABIT = (
    """
    WITH channels AS (
        SELECT c.id AS channel_id, c.meter_id
          FROM metering_channel c
          JOIN metering_meter m ON m.id = c.meter_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE m.kind = 'customer' AND rt.code = %(a_plus)s
    ), monthly AS (
        SELECT ch.meter_id, date_trunc('month', (r.ts - interval '1 microsecond')
                                        AT TIME ZONE %(zone)s)::date AS month,
               sum(r.value) AS kwh
          FROM metering_intervalreading r
          JOIN channels ch ON ch.channel_id = r.channel_id
         WHERE r.ts > %(baseline_start)s AND r.ts <= %(end)s AND r.quality & %(bits)s = 0
         GROUP BY 1, 2
    ), compared AS (
        SELECT now_.meter_id, now_.kwh,
               (SELECT avg(b.kwh) FROM monthly b
                 WHERE b.meter_id = now_.meter_id AND b.month < %(month)s) AS baseline,
               (SELECT count(*) FROM monthly b
                 WHERE b.meter_id = now_.meter_id AND b.month < %(month)s) AS months
          FROM monthly now_ WHERE now_.month = %(month)s
    ), found AS (
        SELECT meter_id, %(start)s::timestamptz AS started_at, %(end)s::timestamptz AS ended_at,
               kwh AS value,
               'consumo del mes ' || round(kwh::numeric, 1) || ' kWh; promedio de los meses '
               || 'anteriores ' || round(baseline::numeric, 1) || ' kWh' AS detail
          FROM compared
         WHERE months = 3 AND baseline >= %(habit_min)s
           AND abs(kwh - baseline) > baseline * %(habit_pct)s / 100
    )
"""
    + ALARM_UPSERT
)

EVENTS = (
    """
    WITH found AS (
        SELECT e.meter_id, e.ts AS started_at,
               CASE WHEN %(kind)s = 'outage' THEN (
                   SELECT min(x.ts) FROM metering_meterevent x
                     JOIN metering_metereventtype xt ON xt.id = x.event_type_id
                    WHERE x.meter_id = e.meter_id AND x.ts > e.ts
                      AND xt.category = 'outage_end') END AS ended_at,
               NULL::float8 AS value, t.name AS detail
          FROM metering_meterevent e
          JOIN metering_metereventtype t ON t.id = e.event_type_id
         WHERE t.category = %(category)s AND e.ts > %(start)s AND e.ts <= %(end)s
    )
"""
    + ALARM_UPSERT
)

MISSING = (
    """
    WITH found AS (
        SELECT c.meter_id,
               (v.day::timestamp AT TIME ZONE %(zone)s) AS started_at,
               ((v.day + 1)::timestamp AT TIME ZONE %(zone)s) AS ended_at,
               max(v.missing)::float8 AS value,
               string_agg(v.missing || ' de ' || v.expected || ' intervalos sin dato de '
                          || rt.name, '; ' ORDER BY rt.name) AS detail
          FROM metering_validationday v
          JOIN metering_channel c ON c.id = v.channel_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE v.day >= %(month)s AND v.day < %(next)s AND v.missing > %(missing)s
         -- One alarm per meter and day, naming every channel that misses data.
         GROUP BY c.meter_id, v.day
    )
"""
    + ALARM_UPSERT
)


@dataclass
class MonitoringResult:
    demands: int = 0
    balances: int = 0
    flagged: int = 0
    alarms: dict[str, int] | None = None

    def summary(self) -> str:
        alarms = ", ".join(f"{k}: {v}" for k, v in (self.alarms or {}).items())
        return (
            f"{self.demands} demandas mensuales, {self.balances} balances "
            f"({self.flagged} sobre el umbral), alarmas: {alarms or 'ninguna'}"
        )


def month_bounds(month: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(settings.TIME_ZONE)
    after = next_month(month)
    return (
        datetime(month.year, month.month, 1, tzinfo=zone),
        datetime(after.year, after.month, 1, tzinfo=zone),
    )


def _params(month: date) -> dict:
    start, end = month_bounds(month)
    return {
        "month": month,
        "next": next_month(month),
        "start": start,
        "end": end,
        "bits": int(VEE_BITS),
        "a_plus": A_PLUS,
        "a_minus": A_MINUS,
        "today": today(),
        "zone": settings.TIME_ZONE,
    }


def monthly_demand(month: date) -> int:
    params = _params(month)
    written = 0
    with transaction.atomic(), connection.cursor() as cur:
        for kind, asset in (("totalizer", "transformer"), ("feeder_head", "feeder")):
            query = {**params, "kind": kind}
            cur.execute(CHANNELS_OF.format(asset=asset), query)
            channels = {pk: (asset_id, minutes) for pk, asset_id, minutes in cur.fetchall()}
            if not channels:
                continue
            cur.execute(WINDOWS_OF.format(asset=asset), query)
            windows = cur.fetchall()
            columns = [list(c) for c in zip(*windows, strict=True)] if windows else [[]] * 4
            cur.execute(
                demand_sql(bool(windows)),
                {
                    **query,
                    "channels": list(channels),
                    **dict(
                        zip(("w_channel", "w_start", "w_end", "w_minutes"), columns, strict=True)
                    ),
                },
            )
            demand: dict[int, list[float]] = {}
            for channel, high, low in cur.fetchall():
                asset_id, minutes = channels[channel]
                kw = demand.setdefault(asset_id, [float("-inf"), float("inf")])
                kw[0] = max(kw[0], high * 60 / minutes)
                kw[1] = min(kw[1], low * 60 / minutes)
            if demand:
                cur.execute(
                    DEMAND_WRITE.format(asset=asset),
                    {
                        **params,
                        "assets": list(demand),
                        "max": [kw[0] for kw in demand.values()],
                        "min": [kw[1] for kw in demand.values()],
                    },
                )
                written += cur.rowcount
            transferred = sorted({channel for channel in columns[0] if channel in channels})
            if transferred:
                cur.execute(TRANSFERRED_WITH_READINGS, {**query, "w_channel": transferred})
                idle = {channels[channel][0] for (channel,) in cur.fetchall()} - demand.keys()
                if idle:
                    cur.execute(
                        DEMAND_WITHDRAW.format(asset=asset), {**params, "assets": sorted(idle)}
                    )
    return written


def energy_balance(month: date) -> tuple[int, int]:
    """(balances written, balances flagged)."""
    params = {**_params(month), "threshold": settings.METERING_LOSS_THRESHOLD_PCT}
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(BALANCE.format(series=SERIES), params)
        written = cur.rowcount
        cur.execute(
            "SELECT count(*) FROM metering_energybalance WHERE month = %s AND flagged", [month]
        )
        return written, cur.fetchone()[0]


def detect_alarms(month: date) -> dict[str, int]:
    params = _params(month)
    baseline_start, _ = month_bounds(add_months(month, -3))
    params.update(
        nominal=settings.METERING_VOLTAGE_NOMINAL_V,
        band=settings.METERING_VOLTAGE_BAND_PCT,
        habit_pct=settings.METERING_HABIT_CHANGE_PCT,
        habit_min=settings.METERING_HABIT_MIN_KWH,
        missing=settings.METERING_MISSING_INTERVALS,
        baseline_start=baseline_start,
    )
    found = {}
    with transaction.atomic(), connection.cursor() as cur:
        for kind, sql, extra in (
            ("voltage", VOLTAGE, {}),
            ("habit", HABIT, {}),
            ("tamper", EVENTS, {"category": "tamper"}),
            ("outage", EVENTS, {"category": "outage_start"}),
            ("missing", MISSING, {}),
        ):
            cur.execute(sql, {**params, **extra, "kind": kind})
            found[kind] = cur.rowcount
    return found


def monitor(month: date) -> MonitoringResult:
    demands = monthly_demand(month)
    balances, flagged = energy_balance(month)
    return MonitoringResult(demands, balances, flagged, detect_alarms(month))
