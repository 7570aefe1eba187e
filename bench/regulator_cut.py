#!/usr/bin/env python
"""The regulator's cut at national scale (issue 15): the initial load (batch 0) and the delta
of 1 M changes, each against PostgreSQL's own JSON of the same rows, gzip-compressed.

    .venv/bin/python bench/regulator_cut.py [--db portal_bench] [--runs 3]
                                            [--dir /work/bench_tmp/regulator_cut]
                                            [--changes 1000000 100000]

1. The initial load: `cut(initial=True)` with REGULATOR_BATCH_DIR under --dir, each run in a
   fresh subprocess (its own peak RSS), after making the database look like it has no batch
   (regulator_batch and regulator_pushattempt emptied, every change's batch set back to NULL)
   and deleting the previous run's files. Raw baseline: for each captured table and each
   partition of the interval store, `COPY (SELECT row_to_json(t) FROM <table> t) TO STDOUT`
   streamed through Python's gzip at level 6 into a file (fsync'ed, as the cut's are).
   Target: at most 10 minutes, memory flat.
2. The delta: with the last run's batch 0 kept, `UPDATE network_pole SET height_m = height_m`
   of the first --changes poles by id, committed (the capture triggers write one change row
   per pole), VACUUM ANALYZE of the pole and change tables, then `cut()` (batch 1) in a fresh
   subprocess. Before each run the previous delta's batch row, its change rows and its files
   are deleted. Raw baseline: the same poles by `COPY (SELECT row_to_json(p) …)` through gzip
   level 6. Target for 1 M changes: at most 60 s, memory flat (the smaller batch shows it).

Runs alternate raw and cut; figures are min / median / max of --runs runs and the ratio of the
medians, prepended to bench/RESULTS.md. Afterwards every batch row, every change row the bench
made and every file go: the database is left without batches.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
RAW_LEVEL = 6  # the contract's gzip level (regulator.contract.GZIP_LEVEL)
MIN_FREE_GB = 15  # one run's batch and raw files side by side, with room to spare


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(db: str) -> None:
    os.environ["DB_NAME"] = db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def child(kind: str, db: str) -> None:
    """One cut in this process; its figures as one JSON line on stdout."""
    setup(db)
    from regulator import cut as cutting
    from regulator import files

    phases: dict[str, float] = {}
    rss: dict[str, float] = {}

    def timed(fn, label):
        def wrapper(*args):
            started = time.perf_counter()
            try:
                return fn(*args)
            finally:
                name = label(*args)
                phases[name] = phases.get(name, 0.0) + time.perf_counter() - started
                rss[name] = peak_rss_mb()

        return wrapper

    # Wrapped, not changed: the cut looks these up in its module when it calls them.
    cutting._initial_pages = timed(cutting._initial_pages, lambda work, rt, n: rt.entity)
    cutting._delta_pages = timed(cutting._delta_pages, lambda work, rt, b, n: rt.entity)
    cutting._collapse = timed(cutting._collapse, lambda number: "(collapse)")
    cutting._interval_file = timed(
        cutting._interval_file, lambda work, month: f"lecturas_intervalo-{month:%Y-%m}"
    )
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    batch = cutting.cut(initial=kind == "initial")
    seconds = time.perf_counter() - started
    manifest = json.loads((files.batch_dir(batch.number) / files.MANIFEST_FILE).read_text())
    entities = {
        name: {
            "records": summary["records"],
            "bytes": sum(page["bytes"] for page in summary["pages"]),
            "pages": len(summary["pages"]),
        }
        for name, summary in manifest["entities"].items()
    }
    for part in manifest["interval_partitions"]:
        entities[f"lecturas_intervalo-{part['month']}"] = {
            "records": part["records"],
            "bytes": part["bytes"],
            "pages": 1,
        }
    out = {
        "number": batch.number,
        "seconds": seconds,
        "batch_seconds": batch.seconds,
        "changes": batch.changes,
        "records": batch.records,
        "bytes": batch.bytes,
        "entities": entities,
        "phases": phases,
        "phase_rss_mb": rss,
        "rss_before_mb": rss_before,
        "rss_peak_mb": peak_rss_mb(),
    }
    print("RESULT " + json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--runs", type=int, default=3, help="runs of each figure")
    parser.add_argument(
        "--dir", type=Path, default=Path("/work/bench_tmp/regulator_cut"), help="scratch files"
    )
    parser.add_argument(
        "--changes", type=int, nargs="+", default=[1_000_000, 100_000], help="poles per delta"
    )
    parser.add_argument(
        "--no-record", action="store_true", help="print the figures, leave RESULTS.md alone"
    )
    parser.add_argument("--child", choices=["initial", "delta"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db)
        return

    args.dir.mkdir(parents=True, exist_ok=True)
    free_gb = shutil.disk_usage(args.dir).free / 1e9
    if free_gb < MIN_FREE_GB:
        raise SystemExit(f"{args.dir}: {free_gb:.0f} GB free, the bench wants {MIN_FREE_GB} GB")
    batch_dir, raw_dir = args.dir / "batches", args.dir / "raw"

    setup(args.db)
    from django.core.management import call_command
    from django.db import connection
    from results import record

    from metering.services.partitions import partitions
    from regulator.capture import CAPTURED

    call_command("migrate", verbosity=0)

    def sql(statement: str, params=None) -> int:
        with connection.cursor() as cur:
            cur.execute(statement, params)
            return cur.rowcount

    def scalar(statement: str, params=None):
        with connection.cursor() as cur:
            cur.execute(statement, params)
            return cur.fetchone()[0]

    start_changes = scalar("SELECT count(*) FROM regulator_change")
    start_max_change = scalar("SELECT coalesce(max(id), 0) FROM regulator_change")
    start_batches = scalar("SELECT count(*) FROM regulator_batch")
    print(f"at start: {start_batches} batches, {start_changes:,} change rows")

    def clear_dir(path: Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)

    def run_cut(kind: str) -> dict:
        env = {**os.environ, "REGULATOR_BATCH_DIR": str(batch_dir), "DB_NAME": args.db}
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind, "--db", args.db],
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
        elapsed = time.perf_counter() - started
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        result = json.loads(line[len("RESULT ") :])
        result["process_seconds"] = elapsed
        return result

    def raw_copy(query: str, path: Path) -> int:
        """`query` (one JSON text a row) by COPY through gzip level 6 into `path`; bytes."""
        with (
            open(path, "wb") as handle,
            gzip.GzipFile(
                filename="", mode="wb", fileobj=handle, compresslevel=RAW_LEVEL, mtime=0
            ) as gz,
            connection.cursor() as cur,
            cur.cursor.copy(f"COPY ({query}) TO STDOUT") as copy,
        ):
            for data in copy:
                gz.write(data)
        with open(path, "rb+") as handle:
            os.fsync(handle.fileno())
        return path.stat().st_size

    tables = [captured.table for captured in CAPTURED] + partitions()

    def raw_initial() -> dict:
        clear_dir(raw_dir)
        started = time.perf_counter()
        sizes = {}
        for table in tables:
            sizes[table] = raw_copy(
                f"SELECT row_to_json(t) FROM {table} t", raw_dir / f"{table}.json.gz"
            )
        seconds = time.perf_counter() - started
        return {"seconds": seconds, "bytes": sum(sizes.values()), "tables": sizes}

    def first_poles(n: int) -> str:
        return f"SELECT id FROM network_pole ORDER BY id LIMIT {int(n)}"

    def raw_delta(n: int) -> dict:
        clear_dir(raw_dir)
        started = time.perf_counter()
        size = raw_copy(
            f"SELECT row_to_json(p) FROM network_pole p WHERE id IN ({first_poles(n)})",
            raw_dir / "network_pole.json.gz",
        )
        return {"seconds": time.perf_counter() - started, "bytes": size}

    def no_batches() -> None:
        sql("DELETE FROM regulator_pushattempt")
        sql("DELETE FROM regulator_batch")
        sql("UPDATE regulator_change SET batch = NULL WHERE batch IS NOT NULL")
        clear_dir(batch_dir)

    def no_delta() -> None:
        sql("DELETE FROM regulator_pushattempt WHERE batch_id > 0")
        sql("DELETE FROM regulator_batch WHERE number > 0")
        sql("DELETE FROM regulator_change WHERE id > %s", [start_max_change])
        for path in batch_dir.iterdir():
            if path.name != f"{0:08d}":
                shutil.rmtree(path)

    load_before = os.getloadavg()

    # 1. The initial load. A first raw pass, untimed, brings the tables into the OS cache for
    # both sides.
    print("warm-up: raw pass")
    raw_initial()
    initial, raw = [], []
    for n in range(args.runs):
        raw.append(raw_initial())
        print(f"initial {n + 1}: raw {raw[-1]['seconds']:.0f} s, {raw[-1]['bytes']:,} bytes")
        clear_dir(raw_dir)
        no_batches()
        initial.append(run_cut("initial"))
        got = initial[-1]
        print(
            f"initial {n + 1}: cut {got['seconds']:.0f} s, {got['records']:,} records, "
            f"{got['bytes']:,} bytes, peak RSS {got['rss_peak_mb']:.0f} MB; "
            f"phases {json.dumps({k: round(v, 1) for k, v in got['phases'].items()})}"
        )
    # The last batch 0 stays for the deltas (its files are not read by a delta cut).

    # 2. Deltas.
    deltas: dict[int, list[dict]] = {}
    raw_deltas: dict[int, list[dict]] = {}
    updates: dict[int, list[float]] = {}
    for n in args.changes:
        for k in range(args.runs):
            no_delta()
            sql("VACUUM ANALYZE regulator_change")
            started = time.perf_counter()
            updated = sql(
                f"UPDATE network_pole SET height_m = height_m WHERE id IN ({first_poles(n)})"
            )
            updates.setdefault(n, []).append(time.perf_counter() - started)
            assert updated == n, updated
            made = scalar("SELECT count(*) FROM regulator_change WHERE batch IS NULL")
            assert made == n, made
            sql("VACUUM ANALYZE network_pole")
            sql("VACUUM ANALYZE regulator_change")
            raw_deltas.setdefault(n, []).append(raw_delta(n))
            clear_dir(raw_dir)
            deltas.setdefault(n, []).append(run_cut("delta"))
            got = deltas[n][-1]
            assert got["number"] > 0 and got["changes"] == n, got
            print(
                f"delta {n:,} run {k + 1}: update {updates[n][-1]:.1f} s, raw "
                f"{raw_deltas[n][-1]['seconds']:.1f} s, cut {got['seconds']:.1f} s, "
                f"{got['records']:,} records, {got['bytes']:,} bytes, peak RSS "
                f"{got['rss_peak_mb']:.0f} MB; phases "
                f"{json.dumps({k: round(v, 2) for k, v in got['phases'].items() if v >= 0.05})}"
            )
    load_after = os.getloadavg()

    # Leave no batch: rows, the bench's change rows, files.
    sql("DELETE FROM regulator_pushattempt")
    sql("DELETE FROM regulator_batch")
    sql("DELETE FROM regulator_change WHERE id > %s", [start_max_change])
    sql("UPDATE regulator_change SET batch = NULL WHERE batch IS NOT NULL")
    sql("VACUUM ANALYZE regulator_change")
    sql("VACUUM ANALYZE network_pole")
    shutil.rmtree(args.dir, ignore_errors=True)
    end_changes = scalar("SELECT count(*) FROM regulator_change")
    end_batches = scalar("SELECT count(*) FROM regulator_batch")
    print(f"at the end: {end_batches} batches, {end_changes:,} change rows")

    def mmm(values: list[float], unit: str = "s", digits: int = 1) -> str:
        low, mid, high = min(values), statistics.median(values), max(values)
        return f"{low:.{digits}f} / {mid:.{digits}f} / {high:.{digits}f} {unit}"

    def med(values: list[float]) -> float:
        return statistics.median(values)

    def mb(n: float) -> str:
        return f"{n / 1e6:,.1f} MB"

    cut_s = [r["seconds"] for r in initial]
    raw_s = [r["seconds"] for r in raw]
    last = initial[-1]
    biggest = sorted(last["entities"].items(), key=lambda kv: -kv[1]["bytes"])[:6]
    table_of = {c.entity: c.table for c in CAPTURED}
    raw_tables = raw[-1]["tables"]

    def raw_bytes(entity: str) -> int | None:
        if entity.startswith("lecturas_intervalo-"):
            return raw_tables.get(f"metering_intervalreading_{entity[-7:].replace('-', '_')}")
        return raw_tables.get(table_of.get(entity, ""))

    per_entity = "; ".join(
        f"{name} {mb(e['bytes'])} ({e['records']:,} records, {e['pages']} files"
        + (f", raw {mb(raw_bytes(name))}" if raw_bytes(name) else "")
        + ")"
        for name, e in biggest
    )
    phase_medians = {
        name: med([r["phases"].get(name, 0.0) for r in initial]) for name in last["phases"]
    }
    top_phases = sorted(phase_medians.items(), key=lambda kv: -kv[1])[:6]
    lines = [
        f"- initial load (batch 0), cut(initial=True) wall time: {mmm(cut_s)} "
        f"(target at most 600 s; subprocess with Django's start-up "
        f"{mmm([r['process_seconds'] for r in initial])})",
        f"- initial load size: {last['records']:,} records in "
        f"{sum(e['pages'] for e in last['entities'].values())} files, "
        f"{mmm([r['bytes'] / 1e9 for r in initial], 'GB', 3)}",
        f"- initial load, biggest entities: {per_entity}",
        "- initial load, time per entity (median): "
        + "; ".join(f"{name} {s:.0f} s" for name, s in top_phases),
        f"- initial load peak RSS of the cut's process: "
        f"{mmm([r['rss_peak_mb'] for r in initial], 'MB', 0)} (after Django's start-up "
        f"{mmm([r['rss_before_mb'] for r in initial], 'MB', 0)})",
        f"- raw baseline, COPY row_to_json of the {len(tables)} tables | gzip -6: "
        f"{mmm(raw_s)}, {mmm([r['bytes'] / 1e9 for r in raw], 'GB', 3)}",
        f"- initial load / raw at the median: time {med(cut_s) / med(raw_s):.2f}, "
        f"bytes {med([r['bytes'] for r in initial]) / med([r['bytes'] for r in raw]):.2f}",
    ]
    for n in args.changes:
        runs, raws = deltas[n], raw_deltas[n]
        d_s = [r["seconds"] for r in runs]
        r_s = [r["seconds"] for r in raws]
        phases = {n: med([r["phases"].get(n, 0.0) for r in runs]) for n in runs[-1]["phases"]}
        top = sorted(phases.items(), key=lambda kv: -kv[1])[:4]
        target = " (target at most 60 s)" if n == 1_000_000 else ""
        lines += [
            f"- delta of {n:,} pole changes, cut() wall time: {mmm(d_s, 's', 2)}{target}; "
            f"{runs[-1]['records']:,} records, {mmm([r['bytes'] / 1e6 for r in runs], 'MB')}; "
            f"biggest parts (median): " + "; ".join(f"{k} {v:.1f} s" for k, v in top),
            f"- delta of {n:,} pole changes, peak RSS of the cut's process: "
            f"{mmm([r['rss_peak_mb'] for r in runs], 'MB', 0)} (after Django's start-up "
            f"{mmm([r['rss_before_mb'] for r in runs], 'MB', 0)})",
            f"- raw baseline, COPY row_to_json of the same {n:,} poles | gzip -6: "
            f"{mmm(r_s, 's', 2)}, {mmm([r['bytes'] / 1e6 for r in raws], 'MB')}",
            f"- delta of {n:,} / raw at the median: time {med(d_s) / med(r_s):.2f}, bytes "
            f"{med([r['bytes'] for r in runs]) / med([r['bytes'] for r in raws]):.2f}",
            f"- the UPDATE of {n:,} poles that made the changes (capture triggers on): "
            f"{mmm(updates[n], 's', 2)}",
        ]
    lines.append(
        f"- load average (1 / 5 / 15 min) before: {' / '.join(f'{x:.2f}' for x in load_before)}"
        f"; after: {' / '.join(f'{x:.2f}' for x in load_after)} (2 cores shared with other work)"
    )
    notes = (
        f"Database `{args.db}`; {args.runs} runs of each figure, raw and cut alternating (an "
        "untimed raw pass first, to warm the OS cache); figures min / median / max. Each cut "
        "runs in a fresh subprocess (`cut()` wall time inside it; peak RSS = its ru_maxrss). "
        "Before each initial load: regulator_batch and regulator_pushattempt emptied and every "
        f"change's batch set to NULL (the change table held {start_changes:,} rows). Deltas: "
        "the last batch 0 kept; per run the previous delta's batch row, change rows and files "
        "deleted, then `UPDATE network_pole SET height_m = height_m` of the first N poles by "
        "id, committed (one change row each), VACUUM ANALYZE of network_pole and "
        "regulator_change, then `cut()` (batch 1). Raw: `COPY (SELECT row_to_json(t) FROM "
        "<table> t) TO STDOUT` (text format) through Python's gzip level 6 into an fsync'ed "
        "file, per captured table and interval partition. Afterwards every batch row, the "
        f"bench's change rows and files deleted: {end_batches} batches and {end_changes:,} "
        "change rows left. The machine is shared (2 cores): see the load averages."
    )
    title = "regulator cut: initial load and 1 M-change delta (bench/regulator_cut.py)"
    if args.no_record:
        print("\n".join(lines) + "\n\n" + notes)
    else:
        print(record(title, lines, notes))


if __name__ == "__main__":
    main()
