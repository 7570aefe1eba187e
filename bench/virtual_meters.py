#!/usr/bin/env python
"""Virtual meters at national scale: every feeder head as the sum of its totalizers, after a
day's ingest, against the plain SQL of the same sum.

    .venv/bin/python bench/virtual_meters.py [--db portal_bench] [--day 2026-03-10] [--runs 3]

In one transaction, rolled back at the end: up to `--per-feeder` totalizers on every feeder of
the national set (besides the 1,700 bench/metering.py gave March readings), the day's
15-minute readings of the new ones loaded by the real ingest, and a virtual feeder-head meter
for every feeder, defined as the sum of its totalizers (metering.services.virtual.define,
checked) before that ingest, which computes them in its transaction. Then, `--runs` times
each:

- compute: `virtual.compute(day, day)` after the day's virtual values were removed (what the
  ingest of the day's file runs in its transaction: every virtual channel, its terms, the
  validated series of its sources, written into the store);
- recompute: the same call again with every value already there (nothing written);
- plain SQL: the same sum (terms joined to the day's valid readings, grouped by channel and
  instant) into a temporary table, without the per-day term counts, estimates or the upsert.

Figures are prepended to bench/RESULTS.md.
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

PLAIN = """
    CREATE TEMPORARY TABLE bench_plain ON COMMIT DROP AS
    SELECT t.channel_id, r.ts, sum(t.sign * r.value) AS value
      FROM metering_virtualterm t
      JOIN metering_intervalreading r ON r.channel_id = t.source_id
     WHERE r.ts > %(start)s AND r.ts <= %(end)s AND r.quality & %(bits)s = 0
     GROUP BY t.channel_id, r.ts
"""


def setup(db: str) -> None:
    os.environ["DB_NAME"] = db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def totalizers_everywhere(day: date, per_feeder: int, folder: Path) -> tuple[int, Path]:
    """Up to `per_feeder` totalizers on every feeder (beside the ones the national set has),
    and the day's CSV of their 15-minute readings; (meters made, file)."""
    from django.db import connection

    from metering.services.monitoring import A_PLUS
    from metering.services.vee import period

    with connection.cursor() as cur:
        cur.execute(
            """
            INSERT INTO metering_meter (serial, kind, transformer_id, interval_minutes,
                                        installed_on, virtual, as_of)
            SELECT 'BENCH-T-' || t.id, 'totalizer', t.id, 15, %s, false, %s
              FROM (SELECT t.id, row_number() OVER (PARTITION BY t.feeder_id ORDER BY t.id) AS n
                      FROM network_transformer t
                     WHERE NOT EXISTS (SELECT FROM metering_meter m
                                        WHERE m.transformer_id = t.id)) t
             WHERE t.n <= %s
            RETURNING serial
            """,
            [day, day, per_feeder],
        )
        serials = [row[0] for row in cur.fetchall()]
    start, _ = period(day, day)
    from datetime import timedelta

    stamps = [(start + timedelta(minutes=15 * k)).isoformat() for k in range(1, 97)]
    path = folder / f"virtual_bench_{day}.csv"
    with open(path, "w", encoding="utf-8") as out:
        out.write("meter,reading_type,timestamp,value\n")
        for n, serial in enumerate(serials):
            base = 2 + n % 7
            out.writelines(
                f"{serial},{A_PLUS},{stamp},{base + k / 97:.3f}\n" for k, stamp in enumerate(stamps)
            )
    return len(serials), path


def define_heads(day: date) -> tuple[int, int]:
    """A virtual feeder head per feeder, the sum of its totalizers; (heads, terms)."""
    from metering.models import Channel, Meter, ReadingType
    from metering.services import virtual
    from metering.services.monitoring import A_PLUS

    a_plus = ReadingType.objects.get(code=A_PLUS)
    for meter in Meter.objects.filter(kind="totalizer").exclude(channels__reading_type=a_plus):
        Channel.objects.create(meter=meter, reading_type=a_plus)
    sources: dict[int, list[Channel]] = {}
    for channel in Channel.objects.filter(
        reading_type=a_plus, meter__kind="totalizer", meter__virtual=False
    ).select_related("meter__transformer", "meter", "reading_type"):
        sources.setdefault(channel.meter.transformer.feeder_id, []).append(channel)
    heads = [
        Meter(
            serial=f"BENCH-V-{feeder}",
            kind="feeder_head",
            feeder_id=feeder,
            virtual=True,
            installed_on=day,
        )  # fmt: skip
        for feeder in sources
    ]
    Meter.objects.bulk_create(heads)
    terms = 0
    for head in Meter.objects.filter(serial__startswith="BENCH-V-").select_related("feeder"):
        channel = Channel.objects.create(meter=head, reading_type=a_plus)
        channel.meter = head
        channel.reading_type = a_plus
        virtual.define(channel, [virtual.Term(s, 1, day, None) for s in sources[head.feeder_id]])
        terms += len(sources[head.feeder_id])
    return len(heads), terms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--db", default="portal_bench")
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 3, 10))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--per-feeder", type=int, default=4, help="totalizers added per feeder for the bench"
    )
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    setup(args.db)

    from django.db import connection, transaction
    from results import record

    from metering.services import virtual
    from metering.services.vee import VEE_BITS, period

    start, end = period(args.day, args.day)
    params = {"start": start, "end": end, "bits": int(VEE_BITS)}
    computed, recomputed, plain = [], [], []
    from metering.services.ingest import ingest_file

    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    with transaction.atomic():
        made, day_file = totalizers_everywhere(args.day, args.per_feeder, out)
        heads, terms = define_heads(args.day)
        began = time.perf_counter()
        ingested = ingest_file(day_file)
        ingest_seconds = time.perf_counter() - began
        assert not ingested.fatal and not ingested.rejected, ingested.summary()
        print(f"ingest: {ingested.summary()} in {ingest_seconds:.1f} s", flush=True)
        with connection.cursor() as cur:
            cur.execute("ANALYZE metering_virtualterm, metering_channel, metering_meter")
            cur.execute(
                "SELECT count(*) FROM metering_intervalreading r JOIN metering_virtualterm t "
                "ON t.source_id = r.channel_id WHERE r.ts > %(start)s AND r.ts <= %(end)s",
                params,
            )
            source_values = cur.fetchone()[0]
        for n in range(args.runs):
            with connection.cursor() as cur:
                cur.execute(
                    "DELETE FROM metering_intervalreading WHERE channel_id IN (SELECT channel_id "
                    "FROM metering_virtualterm) AND ts > %(start)s AND ts <= %(end)s",
                    params,
                )
            began = time.perf_counter()
            result = virtual.compute(args.day, args.day)
            computed.append(time.perf_counter() - began)
            written = result.written
            began = time.perf_counter()
            again = virtual.compute(args.day, args.day)
            recomputed.append(time.perf_counter() - began)
            assert again.written == 0, again
            with connection.cursor() as cur:
                began = time.perf_counter()
                cur.execute(PLAIN, params)
                plain.append(time.perf_counter() - began)
                cur.execute("SELECT count(*) FROM bench_plain")
                plain_rows = cur.fetchone()[0]
                cur.execute("DROP TABLE bench_plain")
            print(
                f"run {n + 1}: compute {computed[-1]:.3f} s ({written} values), recompute "
                f"{recomputed[-1]:.3f} s, plain SQL {plain[-1]:.3f} s ({plain_rows} rows)",
                flush=True,
            )
        transaction.set_rollback(True)

    def mmm(values: list[float]) -> str:
        return f"{min(values):.3f} / {statistics.median(values):.3f} / {max(values):.3f}"

    ratio = statistics.median(computed) / statistics.median(plain)
    lines = [
        f"- totalizers added for the bench (up to {args.per_feeder} a feeder): {made} meters",
        f"- the day's ingest of their readings, virtual values computed in it: "
        f"{ingest_seconds:.1f} s ({ingested.inserted} readings, {ingested.virtual} virtual)",
        f"- virtual feeder heads (sum of their totalizers): {heads} meters",
        f"- their terms: {terms} source channels",
        f"- source values of the day ({args.day}): {source_values} readings",
        f"- virtual values written per run: {written} values",
        f"- compute after the day's ingest, min / median / max: {mmm(computed)} s",
        f"- recompute with every value stored, min / median / max: {mmm(recomputed)} s",
        f"- plain SQL of the same sum into a temporary table, min / median / max: {mmm(plain)} s",
        f"- compute / plain SQL (medians): {ratio:.2f} x",
        f"- load average at the end: {os.getloadavg()[0]:.2f}",
    ]
    print("\n".join(lines))
    if not args.no_record:
        record("virtual meters (every feeder head as the sum of its totalizers)", lines)


if __name__ == "__main__":
    main()
