#!/usr/bin/env python
"""Outage grouping at national scale: one month of interruptions of ~1 M customers grouped into
transformer and feeder events, and the SAIFI / SAIDI over every customer, against the plain SQL
of the same aggregation.

    .venv/bin/python bench/outages.py [--db portal_bench] [--runs 3] [--no-record]

`portal_bench` holds the national network (~1 M customers, 126 k transformers, 3 k feeders)
but only a few meters and no meter events, so the month's interruptions are generated, the
way `outages.services.rebuild.collect` would have found them, into a table of the bench's own
(`bench_outages_cand`, UNLOGGED, dropped at the end), with PostgreSQL's random() under a fixed
setseed:

- a feeder outage on 30 % of the feeders: every customer of the feeder, starts spread over
  90 s, 20 to 180 minutes;
- a transformer outage on 5 % of the transformers: every customer, starts within 60 s;
- 1 % of the customers alone (a service point), 5 to 300 minutes; 1 in 20 of those open;
- in the group outages one customer in ten sends nothing (counted from the network).

Each run, in a transaction rolled back at its end (nothing stays in the bench database): the
candidates go into `outage_cand` (not timed), then `rebuild.group` (transformer islands,
groups, feeder islands, events, interruptions with the silent customers, event totals) and
`rebuild.indices` (SAIFI / SAIDI per feeder, comuna and distributor) are timed; the plain SQL
is one SELECT computing the same islands, groups, feeder events, customers affected and
customer minutes, without writing anything. Both answers are compared (customers per kind).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

MONTH = date(2026, 3, 1)

GENERATE = """
    DROP TABLE IF EXISTS bench_outages_cand;
    SELECT setseed(0.1366);
    CREATE UNLOGGED TABLE bench_outages_cand AS
    WITH month AS (SELECT %(start)s::timestamptz AS start),
    feeder_faults AS (
        SELECT f.id AS feeder_id,
               (SELECT start FROM month) + (random() * 29 * 86400) * interval '1 second' AS at,
               20 + random() * 160 AS minutes
          FROM network_feeder f WHERE random() < 0.30
    ), transformer_faults AS (
        SELECT t.id AS transformer_id,
               (SELECT start FROM month) + (random() * 29 * 86400) * interval '1 second' AS at,
               10 + random() * 200 AS minutes
          FROM network_transformer t WHERE random() < 0.05
    ), rows AS (
        SELECT cu.id AS customer_id, cu.transformer_id, t.feeder_id,
               ff.at + random() * 90 * interval '1 second' AS started_at, ff.minutes
          FROM feeder_faults ff
          JOIN network_transformer t ON t.feeder_id = ff.feeder_id
          JOIN network_customer cu ON cu.transformer_id = t.id
         WHERE random() >= 0.1
         UNION ALL
        SELECT cu.id, cu.transformer_id, t.feeder_id,
               tf.at + random() * 60 * interval '1 second', tf.minutes
          FROM transformer_faults tf
          JOIN network_transformer t ON t.id = tf.transformer_id
          JOIN network_customer cu ON cu.transformer_id = t.id
         WHERE random() >= 0.1
         UNION ALL
        SELECT cu.id, cu.transformer_id, t.feeder_id,
               (SELECT start FROM month) + (random() * 29 * 86400) * interval '1 second',
               CASE WHEN random() < 0.05 THEN NULL ELSE 5 + random() * 295 END
          FROM network_customer cu
          JOIN network_transformer t ON t.id = cu.transformer_id
         WHERE random() < 0.01
    )
    SELECT customer_id, transformer_id, feeder_id, started_at,
           started_at + minutes * interval '1 minute' AS ended_at
      FROM rows
"""

# Every customer of the national set as if it had a meter: the 1 M meters of the scenario.
EVERY_CUSTOMER_METERED = """
        SELECT cu.transformer_id, count(*) AS meters FROM network_customer cu
         WHERE cu.transformer_id IN (SELECT transformer_id FROM g)
         GROUP BY cu.transformer_id
"""

LOAD = """
    INSERT INTO outage_cand (customer_id, transformer_id, feeder_id, started_at, ended_at, source)
    SELECT customer_id, transformer_id, feeder_id, started_at, ended_at, 'events'
      FROM bench_outages_cand;
    ANALYZE outage_cand
"""

# The same aggregation as rebuild.group, as one plain SELECT: islands per transformer, groups
# (all of them hold event-based interruptions here: no isolated ones), feeder islands, and per
# kind of event the customers affected (with the silent ones) and the customer minutes.
PLAIN = """
    WITH c AS (
        SELECT b.*, greatest(0, extract(epoch FROM coalesce(b.ended_at, %(cutoff)s)
                                                   - b.started_at) / 60) AS minutes
          FROM bench_outages_cand b
    ), tr AS (
        SELECT c.*, sum(CASE WHEN c.prev IS NULL OR c.started_at - c.prev > %(tolerance)s
                             THEN 1 ELSE 0 END)
                    OVER (PARTITION BY c.transformer_id ORDER BY c.started_at) AS island
          FROM (SELECT c.*, lag(started_at) OVER (PARTITION BY transformer_id
                                                  ORDER BY started_at) AS prev FROM c) c
    ), size AS (
        SELECT transformer_id, count(*) AS customers FROM network_customer
         WHERE transformer_id IN (SELECT transformer_id FROM bench_outages_cand)
         GROUP BY transformer_id
    ), grp AS (
        SELECT tr.transformer_id, tr.island, min(tr.feeder_id) AS feeder_id,
               count(DISTINCT tr.customer_id) AS hit, min(tr.started_at) AS started_at,
               max(coalesce(tr.ended_at, %(cutoff)s)) AS ended_at, sum(tr.minutes) AS minutes,
               min(s.customers) AS customers
          FROM tr JOIN size s USING (transformer_id)
         GROUP BY tr.transformer_id, tr.island
    ), typed AS (
        SELECT g.*, g.hit >= greatest(least(2, g.customers), %(share)s * g.customers)
                    AS whole
          FROM grp g
    ), fd AS (
        SELECT t.*, sum(CASE WHEN t.prev IS NULL OR t.started_at - t.prev > %(tolerance)s
                             THEN 1 ELSE 0 END)
                    OVER (PARTITION BY t.feeder_id ORDER BY t.started_at, t.transformer_id)
                    AS fisland
          FROM (SELECT typed.*, lag(started_at) OVER (PARTITION BY feeder_id
                        ORDER BY started_at, transformer_id) AS prev
                  FROM typed WHERE whole) t
    ), events AS (
        SELECT CASE WHEN count(*) > 1 THEN 'feeder' ELSE 'transformer' END AS kind,
               sum(customers) AS customers,
               sum(minutes + (customers - hit)
                   * extract(epoch FROM ended_at - started_at) / 60) AS minutes
          FROM fd GROUP BY feeder_id, fisland
         UNION ALL
        SELECT 'customer', 1, tr.minutes
          FROM tr JOIN typed t USING (transformer_id, island) WHERE NOT t.whole
    )
    SELECT kind, count(*), sum(customers) FROM events GROUP BY kind ORDER BY kind
"""


def setup(db: str) -> None:
    os.environ["DB_NAME"] = db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def service_answer(cur) -> list[tuple]:
    cur.execute(
        "SELECT kind, count(*), sum(customers) FROM outages_outageevent WHERE month = %s "
        "GROUP BY kind ORDER BY kind",
        [MONTH],
    )
    return [tuple(int(v) if not isinstance(v, str) else v for v in row) for row in cur.fetchall()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="base con la red nacional")
    parser.add_argument("--runs", type=int, default=3, help="corridas (mínimo, mediana, máximo)")
    parser.add_argument("--no-record", action="store_true", help="no escribe bench/RESULTS.md")
    args = parser.parse_args()
    setup(args.db)
    from django.db import connection, transaction
    from results import machine, record

    from outages.services import rebuild

    p = rebuild.params(MONTH)
    print(machine())
    with connection.cursor() as cur:
        started = time.monotonic()
        rebuild.run(cur, GENERATE, p)
        cur.execute("SELECT count(*), count(DISTINCT transformer_id) FROM bench_outages_cand")
        rows, transformers = cur.fetchone()
        cur.execute("SELECT count(*) FROM network_customer")
        customers = cur.fetchone()[0]
        print(f"generated {rows:,} interruptions on {transformers:,} transformers "
              f"({customers:,} customers) in {time.monotonic() - started:.1f} s")  # fmt: skip
    grouping, plans, indices, plain, answers = [], [], [], [], []
    for run in range(args.runs):
        with transaction.atomic(), connection.cursor() as cur:
            rebuild.delete_month(cur, MONTH)
            rebuild.drop_temp_tables(cur)
            cur.execute(rebuild.CANDIDATES)
            rebuild.run(cur, LOAD, p)
            t0 = time.monotonic()
            rebuild.group(cur, p, meters=EVERY_CUSTOMER_METERED)
            t1 = time.monotonic()
            rebuild.apply_plans(cur, p)
            t15 = time.monotonic()
            rebuild.indices(cur, p)
            t2 = time.monotonic()
            mine = service_answer(cur)
            rebuild.drop_temp_tables(cur)
            transaction.set_rollback(True)
        with connection.cursor() as cur:
            t3 = time.monotonic()
            cur.execute(PLAIN, p)
            theirs = [(k, int(n), int(c)) for k, n, c in cur.fetchall()]
            t4 = time.monotonic()
        grouping.append(t1 - t0)
        plans.append(t15 - t1)
        indices.append(t2 - t15)
        plain.append(t4 - t3)
        answers.append((mine, theirs))
        print(f"run {run + 1}: group {t1 - t0:.2f} s, plans {t15 - t1:.2f} s, "
              f"indices {t2 - t15:.2f} s, "
              f"plain SQL {t4 - t3:.2f} s; service {mine}; plain {theirs}")  # fmt: skip
    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_outages_cand")
    same = all(mine == theirs for mine, theirs in answers)

    def fig(values: list[float]) -> str:
        return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s"

    events = answers[-1][0]
    lines = [
        f"- national set: {customers:,} customers; {rows:,} generated interruptions of March "
        f"2026 on {transformers:,} transformers",
        "- events found: " + ", ".join(f"{k} {n:,} ({c:,} customers)" for k, n, c in events),
        f"- grouping (rebuild.group: islands, events, interruptions with silent customers, "
        f"totals), min / median / max: {fig(grouping)}",
        f"- planned marks and exclusions (rebuild.apply_plans): {fig(plans)}",
        f"- SAIFI / SAIDI per feeder, comuna and distributor over every customer "
        f"(rebuild.indices): {fig(indices)}",
        f"- plain SQL of the same aggregation (one SELECT, no writes): {fig(plain)}",
        f"- ratio grouping / plain SQL at the median: "
        f"{statistics.median(grouping) / statistics.median(plain):.2f}",
        f"- same events and customers per kind from both: {'yes' if same else 'NO'}",
    ]
    print("\n".join(lines))
    if not args.no_record:
        record(
            "outages: grouping of a national month into events, SAIFI / SAIDI (bench/outages.py)",
            lines,
            "Synthetic interruptions (portal_bench has ~1 M customers but 1,700 meters and no "
            "meter events): see the script's docstring. Each run rolled back; 2 cores shared "
            "with other work.",
        )


if __name__ == "__main__":
    main()
