#!/usr/bin/env python
"""Add CIS billing history (metering.MonthlyBill) for a share of the national customers.

    .venv/bin/python bench/seed_bills.py [--db portal_bench] [--every 5] [--months 48]

Needs the national set (bench/seed_national.py), which has no bills. Every `--every`-th
customer (by id) gets `--months` monthly bills ending with `--through` (default: last month,
local time), so that the §4 home page has its 36 months and each of them a year-ago month to
compare with. One INSERT … SELECT generate_series per block of customers, in SQL; the values
are drawn from md5 of (customer, month), so a re-run gives the same rows and adds only the
ones missing (ON CONFLICT DO NOTHING, and a block already complete is skipped). Consumption
100–900 kWh with a winter peak, charges at 150–250 $/kWh (the tariff rising month by month)
plus a fixed charge, and for EG customers the injections of their plant after connection.
ANALYZE at the end; prints the row count, the table size and the time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# %(first)s: the window's first month; %(months)s: its length; %(every)s; %(low)s/%(high)s:
# the block of customer ids. r(k) is a deterministic uniform [0, 1) of customer and month.
INSERT = """
WITH c AS (
    SELECT id, billing_day, is_eg, eg_capacity_kw, eg_technology, eg_connected_on,
           ('x' || substr(md5(id::text), 1, 8))::bit(32)::bigint / 4294967296.0 AS u1,
           ('x' || substr(md5(id::text), 9, 8))::bit(32)::bigint / 4294967296.0 AS u2,
           ('x' || substr(md5(id::text), 17, 8))::bit(32)::bigint / 4294967296.0 AS u3
    FROM network_customer
    WHERE id %% %(every)s = 0 AND id >= %(low)s AND id < %(high)s
), m AS (
    SELECT i, (%(first)s::date + make_interval(months => i))::date AS month
    FROM generate_series(0, %(months)s - 1) AS i
), b AS (
    SELECT c.id AS customer_id, m.i, m.month,
           make_date(extract(year FROM m.month - 1)::int, extract(month FROM m.month - 1)::int,
                     least(greatest(c.billing_day, 1), 28)) AS read_from,
           (m.month + least(greatest(c.billing_day, 1), 28) - 1) AS read_to,
           -- base 130–680 kWh (EG: self-consumption, a fifth less), winter (July) +20 %%.
           (130 + 550 * c.u1) * CASE WHEN c.is_eg THEN 0.8 ELSE 1 END
             * (1 + 0.2 * cos(2 * pi() * (extract(month FROM m.month) - 7) / 12))
             * (0.92 + 0.16 * ('x' || substr(md5(c.id::text || '-' || m.i), 1, 8))
                               ::bit(32)::bigint / 4294967296.0) AS kwh30,
           150 * power(1.011, m.i) AS price,
           1100 + 12 * m.i AS fixed,
           CASE WHEN c.is_eg AND c.eg_connected_on IS NOT NULL
                     AND m.month > date_trunc('month', c.eg_connected_on)::date
                THEN c.eg_capacity_kw
                     * CASE WHEN c.eg_technology = 'eolica' THEN 90
                            ELSE (ARRAY[175, 155, 140, 105, 80, 65, 72, 95, 120, 150, 165, 178])
                                 [extract(month FROM m.month)::int] END
                     * (0.55 + 0.15 * c.u2)
                     * (0.85 + 0.25 * ('x' || substr(md5(c.id::text || '-' || m.i), 9, 8))
                                      ::bit(32)::bigint / 4294967296.0)
           END AS inj30,
           2500 + 27500 * c.u3 AS register0,
           c.is_eg
    FROM c CROSS JOIN m
), v AS (
    SELECT b.*, round((kwh30 * (read_to - read_from) / 30.4)::numeric, 3) AS kwh,
           round((inj30 * (read_to - read_from) / 30.4)::numeric, 3) AS inj
    FROM b
), w AS (
    SELECT v.*, round(fixed + kwh * price::numeric)::bigint AS charges,
           round(inj * price::numeric * 0.6)::bigint AS value,
           round(register0::numeric, 3)
             + coalesce(sum(kwh) OVER (PARTITION BY customer_id ORDER BY i
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
             AS reg_start,
           CASE WHEN inj IS NOT NULL THEN round((100 + register0 / 12)::numeric, 3)
             + coalesce(sum(inj) OVER (PARTITION BY customer_id ORDER BY i
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)
           END AS inj_start
    FROM v
)
INSERT INTO metering_monthlybill (
    as_of, month, consumption_kwh, charges_clp, injection_kwh, injection_value_clp,
    net_charge_clp, meter, read_from, read_to, consumption_start_kwh, consumption_end_kwh,
    injection_start_kwh, injection_end_kwh, customer_id
)
SELECT read_to + 3, month, kwh, charges, inj, value, charges - coalesce(value, 0),
       'MB' || lpad(customer_id::text, 9, '0'), read_from, read_to, reg_start, reg_start + kwh,
       inj_start, inj_start + inj, customer_id
FROM w
ORDER BY customer_id, month
ON CONFLICT (customer_id, month) DO NOTHING
"""


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--every", type=int, default=5, help="bill every N-th customer by id")
    parser.add_argument("--months", type=int, default=48, help="months of history per customer")
    parser.add_argument(
        "--through", default="", help="last billed month AAAA-MM (default: last month, local)"
    )
    parser.add_argument("--block", type=int, default=100_000, help="customer ids per statement")
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    if args.through:
        year, month = (int(p) for p in args.through.split("-")[:2])
        last = date(year, month, 1)
    else:
        last = add_months(timezone.localdate().replace(day=1), -1)
    first = add_months(last, 1 - args.months)

    started = time.monotonic()
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        cur.execute("SELECT coalesce(max(id), 0) FROM network_customer")
        top = cur.fetchone()[0]
        added = skipped = 0
        for low in range(0, top + 1, args.block):
            high = low + args.block
            cur.execute(
                "SELECT count(*) FROM network_customer WHERE id %% %s = 0 AND id >= %s AND id < %s",
                [args.every, low, high],
            )
            expected = cur.fetchone()[0] * args.months
            cur.execute(
                "SELECT count(*) FROM metering_monthlybill WHERE customer_id >= %s "
                "AND customer_id < %s AND customer_id %% %s = 0 AND month BETWEEN %s AND %s",
                [low, high, args.every, first, last],
            )
            if cur.fetchone()[0] >= expected:
                skipped += expected
                continue
            block_started = time.monotonic()
            with transaction.atomic():
                cur.execute(
                    INSERT,
                    {"first": first, "months": args.months, "every": args.every,
                     "low": low, "high": high},
                )  # fmt: skip
                added += cur.rowcount
            print(
                f"customers {low:,}–{high - 1:,}: {cur.rowcount:,} bills "
                f"in {time.monotonic() - block_started:.1f} s",
                flush=True,
            )
        load_s = time.monotonic() - started
        cur.execute("ANALYZE metering_monthlybill")
        cur.execute(
            "SELECT count(*), count(DISTINCT customer_id), "
            "pg_total_relation_size('metering_monthlybill'), "
            "pg_relation_size('metering_monthlybill') FROM metering_monthlybill"
        )
        rows, customers, total, heap = cur.fetchone()
    print(
        f"metering_monthlybill: {rows:,} rows for {customers:,} customers "
        f"({first:%Y-%m}–{last:%Y-%m}); {added:,} added, {skipped:,} already there; "
        f"load {load_s / 60:.1f} min, with ANALYZE {(time.monotonic() - started) / 60:.1f} min; "
        f"{total / 1024**3:.2f} GiB with indexes ({heap / 1024**3:.2f} GiB heap)"
    )


if __name__ == "__main__":
    main()
