#!/usr/bin/env python
"""The cost of the regulator's change capture (issue 15): the same writes with the capture
triggers on and off, on the national data set.

    .venv/bin/python bench/regulator_capture.py [--db portal_bench] [--rows 1000000] [--runs 3]

Two write paths, each run inside a transaction that is rolled back (nothing stays):
- bulk: one INSERT … SELECT of --rows poles (copies of stored poles with new ids), after the
  bulk loader's drop of the secondary indexes and constraints, as the national seed loads;
- import: `import_network` of the real mv_oberrhein export into its own distributor (every row
  written and validated, then undone with the transaction), the planners' path.
"Off" is `ALTER TABLE … DISABLE TRIGGER USER` on the captured tables inside the same
transaction. Runs alternate on and off; figures are min / median / max and the ratio of the
medians, prepended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--rows", type=int, default=1_000_000, help="poles in the bulk insert")
    parser.add_argument("--runs", type=int, default=3, help="runs of each path, on and off")
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction
    from results import record

    from network.services import bulk
    from network.services.importing import import_network
    from regulator.capture import CAPTURED

    call_command("migrate", verbosity=0)
    tables = [captured.table for captured in CAPTURED]
    mapping = ROOT / "network" / "import_mappings" / "mv_oberrhein.toml"
    source = Path(settings.SHARED_DATA_DIR) / "networks" / "mv_oberrhein"

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
                out["seconds"] = work()
                with connection.cursor() as cur:
                    cur.execute("SELECT count(*) FROM regulator_change WHERE id > %s", [before])
                    out["changes"] = cur.fetchone()[0]
                raise Undo
        except Undo:
            pass
        return out["seconds"], out["changes"]

    def bulk_insert() -> float:
        bulk.drop_secondary_structures(["network_pole"])
        with connection.cursor() as cur:
            cur.execute(
                "SELECT string_agg(quote_ident(column_name), ', ' ORDER BY ordinal_position) "
                "FROM information_schema.columns WHERE table_name = 'network_pole' "
                "AND column_name <> 'id'"
            )
            columns = cur.fetchone()[0]
            cur.execute("SELECT max(id) FROM network_pole")
            offset = cur.fetchone()[0]
            start = time.perf_counter()
            cur.execute(
                f"INSERT INTO network_pole (id, {columns}) "
                f"SELECT id + %s, {columns} FROM network_pole ORDER BY id LIMIT %s",
                [offset, args.rows],
            )
            return time.perf_counter() - start

    def network_import() -> float:
        start = time.perf_counter()
        # Not a dry run: its own rollback would take the change rows with it before they are
        # counted; the bench's transaction undoes the import instead.
        result = import_network(mapping, source=source)
        elapsed = time.perf_counter() - start
        assert result.accepted > 0, result.summary()
        return elapsed

    paths = {"bulk": bulk_insert, "import": network_import}
    figures: dict[tuple[str, bool], list[float]] = {}
    changes: dict[tuple[str, bool], int] = {}
    load_before = os.getloadavg()
    for name, work in paths.items():
        timed(work, True)  # warm-up: caches, the first import's GDAL
        for _ in range(args.runs):
            for capture in (True, False):
                seconds, made = timed(work, capture)
                figures.setdefault((name, capture), []).append(seconds)
                changes[(name, capture)] = made
                print(f"{name} capture={'on' if capture else 'off'}: {seconds:.2f} s, "
                      f"{made} change rows")  # fmt: skip
    load_after = os.getloadavg()

    def mmm(values: list[float]) -> str:
        return f"{min(values):.2f} / {statistics.median(values):.2f} / {max(values):.2f} s"

    lines = []
    labels = {
        "bulk": f"bulk INSERT … SELECT of {args.rows:,} poles",
        "import": "import_network of mv_oberrhein (rolled back)",
    }
    for name in paths:
        on, off = figures[(name, True)], figures[(name, False)]
        lines += [
            f"- {labels[name]}, capture on: {mmm(on)} ({changes[(name, True)]:,} change rows)",
            f"- {labels[name]}, capture off: {mmm(off)} ({changes[(name, False)]:,} change rows)",
            f"- {labels[name]}, ratio on/off at the median: "
            f"{statistics.median(on) / statistics.median(off):.2f}",
        ]
    notes = (
        f"{args.runs} runs of each path, on and off alternating, each in a transaction rolled "
        f"back; off = ALTER TABLE … DISABLE TRIGGER USER on the {len(tables)} captured tables "
        f"in the same transaction. Database `{args.db}`. Load average (1 / 5 / 15 min) before "
        f"{' / '.join(f'{x:.2f}' for x in load_before)}, after "
        f"{' / '.join(f'{x:.2f}' for x in load_after)}."
    )
    print(record("regulator change capture overhead (bench/regulator_capture.py)", lines, notes))


if __name__ == "__main__":
    main()
