#!/usr/bin/env python
"""The cost of the regulator's change capture on two more write paths (issue 15): the demo
seed and the readings ingest, with the capture triggers on and off.

    .venv/bin/python bench/regulator_capture_paths.py [--db portal_bench] [--runs 3]
                                                      [--seed-db bench_seed_scratch]
                                                      [--meters 200] [--days 29]

- seed: `portal.services.seed_demo("demo")` into a scratch database the bench creates from
  the migrations (createdb, `manage.py migrate`) and drops at the end. One committed seed first
  (a re-seed finds a demo data set there, as `manage.py seed_demo` usually does), then the
  timed seeds, each inside a transaction that is rolled back (seed_demo's own atomic block is
  a savepoint in it; its TRUNCATEs, index drops and COPYs are all transactional). The files it
  writes outside the database (billing PDFs, KMZ plans, reports) go to a scratch directory.
- ingest: `metering.services.ingest.ingest_file` of a CSV of 15-minute readings (the
  bench/metering.py way: --meters of the national set's totalizers, --days days of April 2026,
  a month whose partition holds only the 00:00 slot of its first day, so every reading is new)
  on --db, inside a transaction that is rolled back.
"Off" is `ALTER TABLE … DISABLE TRIGGER USER` on every table with capture triggers
(regulator.capture.ALL: the captured tables, metering_meter for its references, the interval
store's parent table) inside the same transaction. Runs alternate on and off after one untimed
run; figures are min / median / max and the ratio of the medians, prepended to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"  # as bench/metering.py
MONTH = date(2026, 4, 1)


def generate(path: Path, serials: list[str], days: int) -> int:
    """bench/metering.py's readings file, for MONTH: meter by meter, slot by slot, from 00:15
    of the first day to 00:00 after the last."""
    zone = ZoneInfo("America/Santiago")
    start = datetime(MONTH.year, MONTH.month, 1, tzinfo=zone)
    stamps = [(start + timedelta(minutes=15 * k)).isoformat() for k in range(1, days * 96 + 1)]
    shape = [0.6 + 0.4 * abs(12 - (k % 96) / 4) / 12 for k in range(len(stamps))]
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("meter,reading_type,timestamp,value\n")
        for n, serial in enumerate(serials):
            scale = 5 + (n % 37)
            prefix = f"{serial},{A_PLUS},"
            handle.writelines(
                f"{prefix}{ts},{scale * s:.3f}\n" for ts, s in zip(stamps, shape, strict=True)
            )
    return len(serials) * len(stamps)


def child(args: argparse.Namespace) -> None:
    """One path's runs in this process (its database); the figures as one JSON line."""
    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.db import connection, transaction

    from regulator.capture import ALL

    tables = [captured.table for captured in ALL]

    class Undo(Exception):
        pass

    def timed(work, capture: bool) -> tuple[float, int]:
        """Seconds of `work()` and the change rows it left, in a transaction rolled back."""
        out = {}
        try:
            with transaction.atomic():
                with connection.cursor() as cur:
                    if not capture:
                        for table in tables:
                            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
                    cur.execute("SELECT coalesce(max(id), 0) FROM regulator_change")
                    before = cur.fetchone()[0]
                started = time.perf_counter()
                work()
                out["seconds"] = time.perf_counter() - started
                with connection.cursor() as cur:
                    cur.execute("SELECT count(*) FROM regulator_change WHERE id > %s", [before])
                    out["changes"] = cur.fetchone()[0]
                raise Undo
        except Undo:
            pass
        return out["seconds"], out["changes"]

    info: dict = {}
    if args.child == "seed":
        from portal.services import seed_demo

        def work() -> None:
            seed_demo("demo", progress=False, log=lambda line: None)

        started = time.perf_counter()
        counts = seed_demo("demo", progress=False, log=lambda line: None)  # committed
        info["committed_seconds"] = time.perf_counter() - started
        info["counts"] = {k: v for k, v in counts.items() if isinstance(v, int)}
    else:
        from metering.models import Meter
        from metering.services import ingest

        serials = list(
            Meter.objects.filter(kind="totalizer", serial__startswith="BT-")
            .order_by("pk")
            .values_list("serial", flat=True)[: args.meters]
        )
        if len(serials) < args.meters:
            raise SystemExit(f"{len(serials)} BT- totalizers in {args.db}: run bench/metering.py")
        zone = ZoneInfo("America/Santiago")
        first = datetime(MONTH.year, MONTH.month, 1, tzinfo=zone) + timedelta(minutes=15)
        last = first + timedelta(minutes=15 * (args.days * 96 - 1))
        with connection.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM metering_intervalreading r JOIN metering_channel c "
                "ON c.id = r.channel_id JOIN metering_meter m ON m.id = c.meter_id "
                "WHERE m.serial = ANY(%s) AND r.ts BETWEEN %s AND %s",
                [serials, first, last],
            )
            if cur.fetchone()[0]:
                raise SystemExit("the store already holds readings of the file's meters and days")
        path = Path(args.dir) / f"lecturas_{args.meters}x{args.days}_{MONTH:%Y-%m}.csv"
        readings = generate(path, serials, args.days)
        info.update(readings=readings, mb=path.stat().st_size / 1e6)

        def work() -> None:
            result = ingest.ingest_file(path, report_path=Path(args.dir) / "informe.csv")
            assert result.inserted == readings and result.rejected == 0, result.summary()

    timed(work, True)  # warm-up: caches, imports
    runs: dict[str, list[float]] = {"on": [], "off": []}
    changes: dict[str, int] = {}
    for _ in range(args.runs):
        for capture in (True, False):
            key = "on" if capture else "off"
            seconds, made = timed(work, capture)
            runs[key].append(seconds)
            changes[key] = made
            print(
                f"{args.child} capture={key}: {seconds:.2f} s, {made} change rows", file=sys.stderr
            )
    print("RESULT " + json.dumps({"runs": runs, "changes": changes, "info": info}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="national set, for the ingest")
    parser.add_argument("--seed-db", default="bench_seed_scratch", help="scratch, for the seed")
    parser.add_argument("--runs", type=int, default=3, help="runs of each path, on and off")
    parser.add_argument("--meters", type=int, default=200, help="totalizers in the ingest file")
    parser.add_argument("--days", type=int, default=29, help="days of April 2026 (1 to 29)")
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path("/work/bench_tmp/regulator_capture_paths"),
        help="scratch files",
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print the figures, leave RESULTS.md alone"
    )
    parser.add_argument("--child", choices=["seed", "ingest"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if not 1 <= args.days <= 29:
        raise SystemExit("--days: 1 to 29 (the file stays inside April's partition)")

    # Django only for its settings: TIME_ZONE, the zone the other benches stamp their runs in.
    os.environ["DB_NAME"] = args.db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from results import record

    shutil.rmtree(args.dir, ignore_errors=True)
    args.dir.mkdir(parents=True)
    scratch = {
        name: args.dir / name for name in ("kmz", "billing", "media", "reports", "regulador")
    }
    env = {
        **os.environ,
        "KMZ_DIR": str(scratch["kmz"]),
        "BILLING_DIR": str(scratch["billing"]),
        "MEDIA_ROOT": str(scratch["media"]),
        "METERING_REPORTS_DIR": str(scratch["reports"]),
        "REGULATOR_BATCH_DIR": str(scratch["regulador"]),
        "DEBUG": "false",
    }
    pg = ["-h", "127.0.0.1", "-p", "5433", "-U", "portal"]
    pg_env = {**env, "PGPASSWORD": "portal"}

    def run_child(path: str, db: str) -> dict:
        done = subprocess.run(
            [sys.executable, __file__, "--child", path, "--db", db, "--runs", str(args.runs),
             "--meters", str(args.meters), "--days", str(args.days), "--dir", str(args.dir)],
            env={**env, "DB_NAME": db},
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )  # fmt: skip
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        return json.loads(line[len("RESULT ") :])

    load_before = os.getloadavg()
    subprocess.run(["dropdb", *pg, "--if-exists", args.seed_db], env=pg_env, check=True)
    subprocess.run(["createdb", *pg, args.seed_db], env=pg_env, check=True)
    try:
        subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "migrate", "--verbosity", "0"],
            env={**env, "DB_NAME": args.seed_db},
            check=True,
        )
        seed = run_child("seed", args.seed_db)
    finally:
        subprocess.run(["dropdb", *pg, "--if-exists", args.seed_db], env=pg_env, check=True)
    ingest = run_child("ingest", args.db)
    load_after = os.getloadavg()
    shutil.rmtree(args.dir, ignore_errors=True)

    def mmm(values: list[float]) -> str:
        return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s"

    counts = seed["info"]["counts"]
    labels = {
        "seed": f"seed_demo('demo') in `{args.seed_db}`, rolled back",
        "ingest": f"ingest_file of {ingest['info']['readings']:,} readings on `{args.db}`, "
        "rolled back",
    }
    lines = [
        f"- seed_demo('demo') loads {counts['poles']:,} poles, {counts['spans']:,} spans, "
        f"{counts['customers']:,} customers, {counts['monthly_bills']:,} monthly bills, "
        f"{counts['interval_readings']:,} interval readings (and the rest of the demo); the "
        f"ingest file: {args.meters} meters x {args.days} days x 96, CSV "
        f"{ingest['info']['mb']:.0f} MB"
    ]
    for name, got in (("seed", seed), ("ingest", ingest)):
        on, off = got["runs"]["on"], got["runs"]["off"]
        lines += [
            f"- {labels[name]}, capture on: {mmm(on)} ({got['changes']['on']:,} change rows)",
            f"- {labels[name]}, capture off: {mmm(off)} ({got['changes']['off']:,} change rows)",
            f"- {labels[name]}, ratio on/off at the median: "
            f"{statistics.median(on) / statistics.median(off):.2f}",
        ]
    lines.append(
        f"- load average (1 / 5 / 15 min) before: {' / '.join(f'{x:.2f}' for x in load_before)}"
        f"; after: {' / '.join(f'{x:.2f}' for x in load_after)} (2 cores shared with other work)"
    )
    notes = (
        f"{args.runs} runs of each path, on and off alternating after one untimed run, each in "
        "a transaction rolled back; off = ALTER TABLE … DISABLE TRIGGER USER on the tables of "
        "regulator.capture.ALL (the 17 captured tables, metering_meter for its references, "
        "metering_intervalreading's per-statement month trigger) in the same transaction. Seed: "
        f"scratch database `{args.seed_db}` created by createdb and the migrations, one "
        f"committed seed first ({seed['info']['committed_seconds']:.1f} s, triggers on), so "
        "each timed seed replaces a demo data set; the database dropped afterwards; PDFs, KMZ "
        "and reports written to a scratch directory. Ingest: the BT- totalizers of "
        f"bench/metering.py in `{args.db}`, readings of April 2026 (none stored before); no "
        "post-commit work is left out (the ingest queues none)."
    )
    title = "regulator change capture, seed and ingest paths (bench/regulator_capture_paths.py)"
    if args.no_record:
        print("\n".join(lines) + "\n\n" + notes)
    else:
        print(record(title, lines, notes))


if __name__ == "__main__":
    main()
