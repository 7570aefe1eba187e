#!/usr/bin/env python
"""Metering at scale: ingest rate into the partitioned store, monthly max/min aggregation.

    .venv/bin/python bench/metering.py [--db portal_bench] [--meters 1700] [--days 31]
                                       [--runs 3] [--ingest-only]

Uses the national set's transformers (bench/seed_national.py): `--meters` of them get a
totalizer meter, and a CSV file of their 15-minute readings for `--days` days of March 2026
is generated under bench/out/ (1,700 × 31 × 96 = 5.06 M readings by default).

1. Ingest, against raw COPY of the same data into unindexed tables, in the same run:
   - raw A: the CSV file, COPY … (FORMAT csv) into an unindexed table of text, timestamptz and
     float columns (what psql's \\copy does: PostgreSQL parses the text);
   - raw B: the same readings already decoded (channel, run, timestamp, value, quality), by
     binary COPY into an unindexed table shaped like the store (no parsing, no index);
   - store ceiling: those decoded readings by binary COPY into the store itself (partitioned,
     primary key): what PostgreSQL alone costs, without parsing;
   - ingest_readings on the file into the emptied store (partitioned by month, primary key):
     parsing, validation, channel resolution, binary COPY into the store;
   - ingest_readings on the same file again (everything already there: nothing inserted;
     each batch compared with the store).
   Raw A, the first load, the re-load and the store ceiling are timed `--runs` times each
   (store emptied before each first load and each ceiling), reported as min / median / max;
   the load average is noted. Targets: at least 0.5x the raw rate and at least 250,000
   readings/s; the re-load at most as long as the first load (issue 14); the first load's
   rate at least 0.8x the store ceiling's, each run against the ceiling of the same run
   (issue 18).
2. Monthly max/min demand of the totalizers over the month (metering.services.monitoring:
   validated series with estimates, load transfers left out, written to the demand table)
   against the plain SQL of the max/min over the same readings, alternating, per run.
   Target: at most 1.05x (issue 18).

Figures are prepended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
OUT = ROOT / "bench" / "out"
A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
MONTH = date(2026, 3, 1)


def generate(path: Path, serials: list[str], days: int) -> int:
    """Meter by meter, slot by slot (as a head-end exports a day's profiles)."""
    zone = ZoneInfo("America/Santiago")
    start = datetime(MONTH.year, MONTH.month, 1, tzinfo=zone)
    stamps = [(start + timedelta(minutes=15 * k)).isoformat() for k in range(1, days * 96 + 1)]
    shape = [0.6 + 0.4 * abs(12 - (k % 96) / 4) / 12 for k in range(len(stamps))]
    rows = 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("meter,reading_type,timestamp,value\n")
        for n, serial in enumerate(serials):
            scale = 5 + (n % 37)
            prefix = f"{serial},{A_PLUS},"
            handle.writelines(
                f"{prefix}{ts},{scale * s:.3f}\n" for ts, s in zip(stamps, shape, strict=True)
            )
            rows += len(stamps)
    return rows


def generate_xml(path: Path, serials: list[str], days: int) -> int:
    """The same readings as one MeterReadings EventMessage (one MeterReading per meter)."""
    zone = ZoneInfo("America/Santiago")
    start = datetime(MONTH.year, MONTH.month, 1, tzinfo=zone)
    stamps = [(start + timedelta(minutes=15 * k)).isoformat() for k in range(1, days * 96 + 1)]
    rows = 0
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<EventMessage xmlns="http://iec.ch/TC57/2011/schema/message"><Header>'
            "<Verb>created</Verb><Noun>MeterReadings</Noun><MessageID>bench-1</MessageID>"
            "</Header><Payload>"
            '<MeterReadings xmlns="http://iec.ch/TC57/2011/MeterReadings#">\n'
        )
        for n, serial in enumerate(serials):
            handle.write(
                f"<MeterReading><Meter><mRID>{serial}</mRID></Meter><IntervalBlocks>"
                f'<ReadingType ref="{A_PLUS}"/>\n'
            )
            scale = 5 + (n % 37)
            handle.writelines(
                f"<IntervalReadings><timeStamp>{ts}</timeStamp>"
                f"<value>{scale * (0.5 + (k % 96) / 192):.3f}</value></IntervalReadings>\n"
                for k, ts in enumerate(stamps)
            )
            handle.write("</IntervalBlocks></MeterReading>\n")
            rows += len(stamps)
        handle.write("</MeterReadings></Payload></EventMessage>\n")
    return rows


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--meters", type=int, default=1700, help="totalizer meters")
    parser.add_argument("--days", type=int, default=31, help="days of March 2026 (1 to 31)")
    parser.add_argument(
        "--runs", type=int, default=3, help="timed runs of raw A, first load, re-load, aggregation"
    )
    parser.add_argument(
        "--ingest-only",
        action="store_true",
        help="only raw A, first load and re-load (a busy machine: a shorter run)",
    )
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from results import record

    from metering.models import Meter
    from metering.services import ingest, monitoring
    from network.models import Transformer

    call_command("migrate", verbosity=0)
    transformers = list(Transformer.objects.order_by("pk").values_list("pk", "code")[: args.meters])
    existing = set(Meter.objects.filter(serial__startswith="BT-").values_list("serial", flat=True))
    Meter.objects.bulk_create(
        [
            Meter(serial=f"BT-{code}", kind="totalizer", transformer_id=pk, installed_on=MONTH)
            for pk, code in transformers
            if f"BT-{code}" not in existing
        ],
        batch_size=5000,
    )
    serials = [f"BT-{code}" for _, code in transformers]
    OUT.mkdir(exist_ok=True)
    path = OUT / f"lecturas_{args.meters}x{args.days}.csv"
    started = time.perf_counter()
    readings = generate(path, serials, args.days)
    generated = time.perf_counter() - started
    size_mb = path.stat().st_size / 1e6
    print(f"{readings:,} readings, {size_mb:.0f} MB, generated in {generated:.0f} s")

    def timed(fn) -> float:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    with connection.cursor() as cur:
        cur.execute("TRUNCATE metering_intervalreading, metering_estimatedreading")
        cur.execute("DROP TABLE IF EXISTS bench_raw_csv, bench_raw_bin")
        # The raw tables are scratch: a vacuum of raw A's 5 M rows would run during the load
        # timed after it.
        cur.execute(
            "CREATE TABLE bench_raw_csv (meter text, reading_type text, ts timestamptz, "
            "value double precision) WITH (autovacuum_enabled = false)"
        )
        cur.execute(
            "CREATE TABLE bench_raw_bin (channel_id integer, run_id integer, ts timestamptz, "
            "value double precision, quality smallint) WITH (autovacuum_enabled = false)"
        )

    def raw_csv() -> None:
        with (
            connection.cursor() as cur,
            open(path, "rb") as handle,
            cur.copy("COPY bench_raw_csv FROM STDIN (FORMAT csv, HEADER true)") as copy,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)

    def spread(values: list[float]) -> str:
        return " / ".join(f"{v:.1f}" for v in (min(values), statistics.median(values), max(values)))

    binary = OUT / "lecturas.bin"

    def dump_binary() -> None:
        with (
            connection.cursor() as cur,
            open(binary, "wb") as handle,
            cur.copy(
                "COPY (SELECT channel_id, run_id, ts, value, quality "
                "FROM metering_intervalreading) TO STDOUT (FORMAT BINARY)"
            ) as copy,
        ):
            for block in copy:
                handle.write(block)

    def store_bin() -> None:
        with (
            connection.cursor() as cur,
            open(binary, "rb") as handle,
            cur.copy(
                "COPY metering_intervalreading (channel_id, run_id, ts, value, quality) "
                "FROM STDIN (FORMAT BINARY)"
            ) as copy,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)

    load_before = os.getloadavg()
    raw_times, first_times, again_times, store_times = [], [], [], []
    rss_before = peak_rss_mb()
    for n in range(args.runs):
        with connection.cursor() as cur:
            cur.execute("TRUNCATE bench_raw_csv, metering_intervalreading")
        raw_times.append(timed(raw_csv))
        started = time.perf_counter()
        first = ingest.ingest_file(path, report_path=OUT / "informe.csv")
        first_times.append(time.perf_counter() - started)
        assert first.inserted == readings and first.rejected == 0, first.summary()
        started = time.perf_counter()
        again = ingest.ingest_file(path, report_path=OUT / "informe2.csv")
        again_times.append(time.perf_counter() - started)
        assert again.inserted == 0 and again.already_present == readings, again.summary()
        if n == 0:
            dump_binary()
        # The store ceiling in the same run: the decoded readings by binary COPY into the
        # emptied store (its trigger included, as the ingest pays it).
        with connection.cursor() as cur:
            cur.execute("TRUNCATE metering_intervalreading")
        store_times.append(timed(store_bin))
        print(
            f"raw A {raw_times[-1]:.1f} s, first load {first_times[-1]:.1f} s, "
            f"re-load {again_times[-1]:.1f} s, store ceiling {store_times[-1]:.1f} s"
        )
    rss_after = peak_rss_mb()
    load_after = os.getloadavg()
    raw_a, ingest_s, again_s = (
        statistics.median(raw_times),
        statistics.median(first_times),
        statistics.median(again_times),
    )
    ratios = [a / f for a, f in zip(again_times, first_times, strict=True)]
    ceiling = [c / f for c, f in zip(store_times, first_times, strict=True)]
    ingest_lines = [
        f"- readings file: {readings:,} readings ({args.meters:,} meters x {args.days} days x "
        f"96), CSV {size_mb:.0f} MB",
        f"- raw A, COPY of the CSV into an unindexed table, min / median / max: "
        f"{spread(raw_times)} s ({readings / raw_a:,.0f} readings/s at the median)",
        f"- ingest_readings, first load into the emptied store, min / median / max: "
        f"{spread(first_times)} s ({readings / ingest_s:,.0f} readings/s at the median, "
        f"ratio to raw A {raw_a / ingest_s:.2f})",
        f"- ingest_readings of the same file again (nothing new), min / median / max: "
        f"{spread(again_times)} s ({readings / again_s:,.0f} readings/s at the median)",
        f"- re-load / first load, per run: {' / '.join(f'{r:.2f}' for r in ratios)} "
        f"(median {statistics.median(ratios):.2f}; target at most 1.00)",
        f"- store ceiling, binary COPY of the decoded readings into the emptied store, "
        f"min / median / max: {spread(store_times)} s "
        f"({readings / statistics.median(store_times):,.0f} readings/s at the median)",
        f"- ingest rate / store ceiling rate, per run: {' / '.join(f'{r:.2f}' for r in ceiling)} "
        f"(min / median / max {min(ceiling):.2f} / {statistics.median(ceiling):.2f} / "
        f"{max(ceiling):.2f}; target at least 0.80)",
        f"- ingest_readings peak memory (process RSS) after the {size_mb:.0f} MB CSV: "
        f"{rss_after:.0f} MB (before: {rss_before:.0f} MB)",
        f"- load average (1, 5, 15 min) before: {' '.join(f'{v:.2f}' for v in load_before)}; "
        f"after: {' '.join(f'{v:.2f}' for v in load_after)} (2 cores shared with other work)",
    ]
    if args.ingest_only:
        with connection.cursor() as cur:
            cur.execute("DROP TABLE bench_raw_csv, bench_raw_bin")
        binary.unlink()
        print(
            record(
                "metering ingest, first load against re-load (bench/metering.py --ingest-only)",
                ingest_lines,
                notes=(
                    f"Database `{args.db}`; totalizers of the first {args.meters:,} "
                    f"transformers; March 2026; {args.runs} runs, each: raw A, the first load "
                    "into the emptied store, then the same file again. Times are wall clock "
                    "around ingest_file (hashing and the report included)."
                ),
            )
        )
        return

    def raw_bin() -> None:
        with (
            connection.cursor() as cur,
            open(binary, "rb") as handle,
            cur.copy("COPY bench_raw_bin FROM STDIN (FORMAT BINARY)") as copy,
        ):
            while block := handle.read(1 << 20):
                copy.write(block)

    raw_b = timed(raw_bin)
    print(f"raw B (binary COPY, unindexed): {raw_b:.1f} s")

    # XML: the readings of a tenth of the meters, deleted first and loaded again from XML.
    xml_serials = serials[: max(1, len(serials) // 10)]
    xml_path = OUT / f"lecturas_{len(xml_serials)}x{args.days}.xml"
    xml_readings = generate_xml(xml_path, xml_serials, args.days)
    xml_mb = xml_path.stat().st_size / 1e6
    with connection.cursor() as cur:
        cur.execute(
            "DELETE FROM metering_intervalreading WHERE channel_id IN (SELECT c.id FROM "
            "metering_channel c JOIN metering_meter m ON m.id = c.meter_id "
            "WHERE m.serial = ANY(%s))",
            [xml_serials],
        )
    xml_run = ingest.ingest_file(xml_path, report_path=OUT / "informe_xml.csv")
    xml_s = (xml_run.run.finished_at - xml_run.run.started_at).total_seconds()
    assert xml_run.inserted == xml_readings, xml_run.summary()
    rss_xml = peak_rss_mb()

    # Aggregation: the service against the plain SQL of the max and min.
    start, end = monitoring.month_bounds(MONTH)
    plain = """
        SELECT m.transformer_id, max(r.value * 60 / m.interval_minutes),
               min(r.value * 60 / m.interval_minutes)
          FROM metering_intervalreading r
          JOIN metering_channel c ON c.id = r.channel_id
          JOIN metering_meter m ON m.id = c.meter_id
         WHERE r.ts > %s AND r.ts <= %s AND m.kind = 'totalizer'
         GROUP BY m.transformer_id
    """
    with connection.cursor() as cur:
        cur.execute("ANALYZE metering_intervalreading")
        cur.execute("SELECT count(*) FROM metering_intervalreading WHERE ts > %s AND ts <= %s",
                    [start, end])  # fmt: skip
        month_readings = cur.fetchone()[0]

    def plain_sql() -> None:
        with connection.cursor() as cur:
            cur.execute(plain, [start, end])
            cur.fetchall()

    plain_sql()  # warm the cache for both sides
    plain_times, service_times = [], []
    for _ in range(args.runs):
        plain_times.append(timed(plain_sql))
        service_times.append(timed(lambda: monitoring.monthly_demand(MONTH)))
    plain50, service50 = statistics.median(plain_times), statistics.median(service_times)
    aggregation = [v / p for v, p in zip(service_times, plain_times, strict=True)]

    with connection.cursor() as cur:
        cur.execute("DROP TABLE bench_raw_csv, bench_raw_bin")
    binary.unlink()
    xml_path.unlink()

    lines = [
        *ingest_lines,
        f"- raw B, binary COPY of the decoded readings into an unindexed table: {raw_b:.1f} s, "
        f"{readings / raw_b:,.0f} readings/s",
        f"- ingest_readings of CIM XML ({xml_readings:,} readings, {xml_mb:.0f} MB): "
        f"{xml_s:.1f} s, {xml_readings / xml_s:,.0f} readings/s; peak RSS after it "
        f"{rss_xml:.0f} MB",
        f"- monthly max/min over {month_readings:,} readings, plain SQL, min / median / max: "
        f"{' / '.join(f'{v:.2f}' for v in (min(plain_times), plain50, max(plain_times)))} s",
        f"- monthly max/min, monitoring.monthly_demand, min / median / max: "
        f"{' / '.join(f'{v:.2f}' for v in (min(service_times), service50, max(service_times)))} s",
        f"- monthly max/min / plain SQL, per run: {' / '.join(f'{r:.2f}' for r in aggregation)} "
        f"(min / median / max {min(aggregation):.2f} / {statistics.median(aggregation):.2f} / "
        f"{max(aggregation):.2f}; target at most 1.05)",
        f"- load average (1, 5, 15 min) at the end: "
        f"{' '.join(f'{v:.2f}' for v in os.getloadavg())}",
    ]
    block = record(
        "metering ingest and monthly aggregation (bench/metering.py)",
        lines,
        notes=(
            f"Database `{args.db}`; totalizers of the first {args.meters:,} transformers; March "
            "2026. Targets: ingest at least 0.5x the raw COPY rate (raw A: the same file by "
            "COPY) and 250,000 readings/s; at least 0.8x the store ceiling's rate, each run's "
            "ingest against the ceiling measured right after it (issue 18); monthly "
            "aggregation at most 1.05x its plain SQL (issue 18), the runs alternating. Ingest "
            "times are wall clock around ingest_file."
        ),
    )
    print(block)


if __name__ == "__main__":
    main()
