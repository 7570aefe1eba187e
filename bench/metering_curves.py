#!/usr/bin/env python
"""A group load curve over a comuna (issue point 6), against the plain SQL of the same sum.

    .venv/bin/python bench/metering_curves.py [--db portal_bench] [--customers 2000]
                                              [--days 31] [--runs 3] [--no-record]

On the national set (bench/seed_national.py): the comuna whose customer count is nearest
`--customers` gets a customer meter per customer (3 % with an export channel, as EG) and
15-minute readings of March 2026 for `--days` days, generated in SQL; 0.2 % of the import
readings get a VEE flag and an estimate, as the VEE leaves them. Everything is written in one
transaction that is rolled back at the end: the bench leaves `portal_bench` as it found it.

Timed `--runs` times each, alternating, after one untimed warm-up of each:

- the service: metering.services.curves.load_curves(comuna group, period): the validated
  series (flagged values out, estimates in), net kW per interval summed over the comuna's
  meters, and from it the daily and weekly profiles, the load–duration curve and the power
  over time, in one statement;
- the plain SQL of the same aggregation: kW of the import readings summed per interval over
  the same meters (joined through the customers of the comuna), and the daily profile of it,
  without validation, estimates, exports or the other curves.

Figures are prepended to bench/RESULTS.md (min / median / max, and the ratio at the median).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

PLAIN = """
    WITH kw AS (
        SELECT r.ts, sum(r.value * 60.0 / m.interval_minutes) AS kw
          FROM metering_intervalreading r
          JOIN metering_channel c ON c.id = r.channel_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
          JOIN metering_meter m ON m.id = c.meter_id
          JOIN network_customer cu ON cu.id = m.customer_id
         WHERE cu.comuna_id = %(comuna)s AND m.kind = 'customer' AND rt.code = %(a_plus)s
           AND r.ts > %(start)s AND r.ts <= %(end)s
         GROUP BY r.ts
    )
    SELECT ((ts - interval '15 minutes') AT TIME ZONE %(zone)s)::time, avg(kw)
      FROM kw GROUP BY 1 ORDER BY 1
"""


def seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument(
        "--customers", type=int, default=2000, help="the comuna nearest this many customers"
    )
    parser.add_argument("--days", type=int, default=31, help="days of March 2026 (1 to 31)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each")
    parser.add_argument("--no-record", action="store_true", help="print, do not write RESULTS")
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.db import connection, transaction
    from results import machine, record

    from metering.models import Quality
    from metering.services import curves, groups
    from metering.services.monitoring import A_MINUS, A_PLUS
    from metering.services.partitions import ensure_partitions

    first = date(2026, 3, 1)
    period = curves.Period(first, first + timedelta(days=args.days - 1))
    start, end = period.bounds()
    load_before = os.getloadavg()
    lines: list[str] = []
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            "SELECT c.id, c.code, c.name, count(*) FROM network_customer cu "
            "JOIN geo_comuna c ON c.id = cu.comuna_id GROUP BY 1, 2, 3 "
            "ORDER BY abs(count(*) - %s), c.code LIMIT 1",
            [args.customers],
        )
        comuna_id, code, name, customers = cur.fetchone()
        print(f"comuna {code} {name}: {customers:,} customers")
        ensure_partitions(start, end)
        cur.execute(
            "INSERT INTO metering_ingestrun (file_name, sha256, file_format, message_id, "
            "correlation_id, started_at, status, values_read, inserted, already_present, "
            "corrected, rejected, correction, report, error) VALUES ('bench-curves', "
            "repeat('0', 64), 'csv', '', '', now(), 'done', 0, 0, 0, 0, 0, '', '', '') "
            "RETURNING id"
        )
        run = cur.fetchone()[0]
        built = time.perf_counter()
        cur.execute(
            "INSERT INTO metering_meter (as_of, serial, kind, interval_minutes, installed_on, "
            "customer_id) SELECT current_date, 'BENCH-CURVES-' || cu.id, 'customer', 15, "
            "'2020-01-01', cu.id FROM network_customer cu WHERE cu.comuna_id = %s",
            [comuna_id],
        )
        meters = cur.rowcount
        cur.execute(
            "INSERT INTO metering_channel (meter_id, reading_type_id) "
            "SELECT m.id, rt.id FROM metering_meter m JOIN metering_readingtype rt "
            "ON rt.code = %(a_plus)s OR (rt.code = %(a_minus)s AND m.id %% 33 = 0) "
            "WHERE m.serial LIKE 'BENCH-CURVES-%%'",
            {"a_plus": A_PLUS, "a_minus": A_MINUS},
        )
        channels = cur.rowcount
        # A household's evening peak and a small night base, each meter scaled and phased.
        cur.execute(
            """
            INSERT INTO metering_intervalreading (channel_id, run_id, ts, value, quality)
            SELECT c.id, %(run)s, t.ts,
                   CASE WHEN rt.code = %(a_plus)s THEN
                        (0.05 + 0.25 * (1 + sin(2 * pi() * (extract(epoch FROM t.ts) / 86400.0
                                                              + (c.meter_id %% 17) / 100.0))))
                        * (1 + (c.meter_id %% 7) / 10.0)
                   ELSE greatest(0, 0.4 * sin(2 * pi() * (extract(epoch FROM t.ts) / 86400.0
                                                           - 0.375))) END,
                   0
              FROM metering_channel c
              JOIN metering_meter m ON m.id = c.meter_id
              JOIN metering_readingtype rt ON rt.id = c.reading_type_id
             CROSS JOIN generate_series(%(start)s::timestamptz + interval '15 minutes',
                                        %(end)s::timestamptz, interval '15 minutes') AS t(ts)
             WHERE m.serial LIKE 'BENCH-CURVES-%%'
            """,
            {"run": run, "a_plus": A_PLUS, "start": start, "end": end},
        )
        readings = cur.rowcount
        cur.execute(
            """
            WITH flagged AS (
                UPDATE metering_intervalreading r SET quality = %(spike)s
                  FROM metering_channel c JOIN metering_meter m ON m.id = c.meter_id
                 WHERE c.id = r.channel_id AND m.serial LIKE 'BENCH-CURVES-%%'
                   AND r.ts > %(start)s AND r.ts <= %(end)s
                   AND (c.id * 7919 + extract(epoch FROM r.ts)::bigint / 900) %% 500 = 0
                RETURNING r.channel_id, r.ts, r.value
            )
            INSERT INTO metering_estimatedreading (channel_id, ts, value, method,
                                                   replaces_invalid, estimated_at)
            SELECT channel_id, ts, value * 0.9, 'interpolation', true, now() FROM flagged
            """,
            {"start": start, "end": end, "spike": int(Quality.SPIKE)},
        )
        estimates = cur.rowcount
        for table in ("metering_meter", "metering_channel", "metering_estimatedreading"):
            cur.execute(f"ANALYZE {table}")
        cur.execute("SELECT tableoid::regclass FROM metering_intervalreading WHERE ts = %s LIMIT 1",
                    [end])  # fmt: skip
        partition = cur.fetchone()[0]
        cur.execute(f"ANALYZE {partition}")
        built = time.perf_counter() - built
        print(f"{meters:,} meters, {readings:,} readings, {estimates:,} estimates in {built:.1f} s")

        group = groups.resolve_group(groups.COMUNA, code)
        plain_params = {
            "comuna": comuna_id,
            "a_plus": A_PLUS,
            "start": start,
            "end": end,
            "zone": settings.TIME_ZONE,
        }

        def service():
            return curves.load_curves(group, period)

        def plain():
            cur.execute(PLAIN, plain_params)
            return cur.fetchall()

        result = service()
        profile = plain()
        assert len(profile) == len(result.daily) == 96, (len(profile), len(result.daily))
        timings = {"service": [], "plain": []}
        for _ in range(args.runs):
            timings["service"].append(seconds(service))
            timings["plain"].append(seconds(plain))
            print({k: f"{v[-1]:.2f}" for k, v in timings.items()})
        transaction.set_rollback(True)
    load_after = os.getloadavg()

    def triple(values: list[float]) -> str:
        return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s"

    ratio = statistics.median(timings["service"]) / statistics.median(timings["plain"])
    lines = [
        f"- comuna {code} {name}: {customers:,} customers, {meters:,} customer meters "
        f"({channels - meters:,} with export), {readings:,} readings of {args.days} days, "
        f"{estimates:,} flagged with an estimate (built in {built:.0f} s, rolled back)",
        f"- group load curve of the comuna, load_curves() (validated series, net kW, daily, "
        f"weekly, load-duration and power over time in one statement): "
        f"{triple(timings['service'])}",
        f"- plain SQL of the same sum (import kW per interval and the daily profile): "
        f"{triple(timings['plain'])}",
        f"- ratio service / plain SQL at the median: {ratio:.2f}",
        f"- intervals {result.intervals:,}, duration curve points {len(result.duration):,}, "
        f"most meters in one interval {result.meters:,}",
        f"- load average (1 / 5 / 15 min) before: {' / '.join(f'{v:.2f}' for v in load_before)};"
        f" after: {' / '.join(f'{v:.2f}' for v in load_after)} (2 cores shared with other work)",
    ]
    notes = (
        f"Database `{args.db}`, March 2026, {args.runs} runs of each alternating after one "
        "untimed warm-up; wall clock around the call (the service's Python, rows fetched). "
        "The meters, channels, readings, flags and estimates were written in one transaction "
        "and rolled back; the partition and the touched tables were analysed inside it."
    )
    print("\n".join(lines))
    print(machine())
    if not args.no_record:
        record(
            "metering curves: a group load curve over a comuna (bench/metering_curves.py)",
            lines,
            notes,
        )


if __name__ == "__main__":
    main()
