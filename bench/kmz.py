#!/usr/bin/env python
"""KMZ plan generation time: the largest national feeder and a synthetic 5,000-span feeder.

    .venv/bin/python bench/kmz.py [--db portal_bench] [--runs 10] [--spans 5000]

Needs the national set (bench/seed_national.py). The national feeders have at most 960 spans,
so a feeder of --spans spans is grown with the demo generator and loaded with COPY inside a
transaction that is rolled back: the database is left as it was. Each case times
`maps.kmz.build_kmz` (the SQL, the KML text and the zip, nothing written to disk) against its
baseline, the same SQL run directly. Target: ≤ 1 s for 5,000 spans. Figures are prepended to
bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--runs", type=int, default=10, help="timed runs of each case")
    parser.add_argument("--spans", type=int, default=5000, help="spans of the synthetic feeder")
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.db import connection, transaction
    from results import record

    from core.months import today
    from maps import kmz
    from network.models import Feeder, Pole
    from network.services import bulk
    from network.services.seed import TABLES
    from network.services.synthetic import FeederPlan, NetworkGenerator
    from vnr.models import VnrCode

    def timed(fn) -> float:
        started = time.perf_counter()
        fn()
        return time.perf_counter() - started

    def raw_sql(feeder: Feeder) -> None:
        with connection.cursor() as cur:
            for sql in (
                kmz.FEEDER_SQL,
                kmz.SPANS_SQL,
                kmz.POLES_SQL,
                kmz.EQUIPMENT_SQL,
                kmz.TRANSFORMERS_SQL,
            ):
                cur.execute(sql, {"feeder": feeder.pk})
                cur.fetchall()

    def measure(name: str, feeder: Feeder) -> list[str]:
        data = kmz.build_kmz(feeder)  # warm-up (icons, plans, caches)
        raw_sql(feeder)
        builds = [timed(lambda: kmz.build_kmz(feeder)) for _ in range(args.runs)]
        raws = [timed(lambda: raw_sql(feeder)) for _ in range(args.runs)]
        doc = zipfile.ZipFile(io.BytesIO(data)).getinfo("doc.kml").file_size
        p50, worst, raw50 = statistics.median(builds), max(builds), statistics.median(raws)
        spans = feeder.spans.count()
        return [
            f"- {name} size: {spans} spans",
            f"- {name} build_kmz p50: {p50 * 1000:.0f} ms",
            f"- {name} build_kmz max: {worst * 1000:.0f} ms",
            f"- {name} raw SQL p50: {raw50 * 1000:.1f} ms (build/raw ratio {p50 / raw50:.1f})",
            f"- {name} KMZ file: {len(data) / 1024:.0f} KiB (doc.kml {doc / 1024:.0f} KiB)",
        ]

    with connection.cursor() as cur:
        cur.execute(
            "SELECT feeder_id FROM network_span GROUP BY feeder_id ORDER BY count(*) DESC, "
            "feeder_id LIMIT 1"
        )
        largest = Feeder.objects.select_related("substation").get(pk=cur.fetchone()[0])
    lines = measure(f"largest national feeder ({largest.code})", largest)

    class Rollback(Exception):
        pass

    try:
        with transaction.atomic():
            ids = {name: bulk.next_id(table) for name, (table, _) in TABLES.items()}
            generator = NetworkGenerator(
                seed=5000,
                as_of=today(),
                vnr_ids=dict(VnrCode.objects.values_list("code", "pk")),
            )
            for name, key in (
                ("feeder", "feeder"), ("poles", "pole"), ("spans", "span"),
                ("equipment", "equipment"), ("transformers", "transformer"),
            ):  # fmt: skip
                setattr(generator.ids, key, ids[name])
            substation = largest.substation
            rows = generator.feeder(
                FeederPlan(
                    code="BENCH-KMZ",
                    name=f"Bench KMZ {args.spans} vanos",
                    substation_id=substation.pk,
                    substation_lonlat=(substation.location.x, substation.location.y),
                    comuna_id=substation.comuna_id,
                    voltage_kv=float(largest.nominal_voltage_kv),
                    poles=args.spans,
                    heading=1.0,
                    distributor_id=largest.distributor_id,
                )
            )
            # Parents first; settings, customers and demands are not part of the plan.
            for name in ("feeder", "poles", "spans", "equipment", "transformers"):
                table, columns = TABLES[name]
                data = [rows.feeder] if name == "feeder" else getattr(rows, name)
                bulk.copy_rows(table, columns, data)
            synthetic = Feeder.objects.get(pk=ids["feeder"])
            assert Pole.objects.filter(feeder=synthetic).count() == args.spans
            lines += measure(f"synthetic {args.spans}-span feeder", synthetic)
            raise Rollback
    except Rollback:
        pass

    block = record(
        "KMZ plan generation (bench/kmz.py)",
        lines,
        notes=(
            f"Database `{args.db}`; {args.runs} runs after one warm-up; build_kmz = its SQL, "
            "the KML text and the zip in memory (write_kmz adds one file write). The synthetic "
            "feeder is grown by the demo generator and loaded in a transaction rolled back "
            "afterwards. Raw SQL = the same five queries build_kmz runs, fetched, nothing else. "
            "Target: ≤ 1 s for 5,000 spans."
        ),
    )
    print(block)


if __name__ == "__main__":
    main()
