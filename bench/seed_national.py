#!/usr/bin/env python
"""Seed the national-scale network into its own database and record counts, time and size.

    ./dev bench                 # or: .venv/bin/python bench/seed_national.py [--db portal_bench]

Loads the real comunas and regiones from ../shared/data/boundaries (import_boundaries), then
`seed_demo --scale national`, and prepends the figures to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

TABLES = [
    ("substations", "network_substation"),
    ("feeders", "network_feeder"),
    ("poles", "network_pole"),
    ("spans", "network_span"),
    ("equipment", "network_equipment"),
    ("equipment monthly settings", "network_equipmentsetting"),
    ("transformers", "network_transformer"),
    ("customers", "network_customer"),
    ("monthly demands", "demand_monthlydemand"),
    ("comunas", "geo_comuna"),
]


def ensure_database(name: str) -> None:
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = dict(
        host=db["HOST"], port=db["PORT"] or 5433, user=db["USER"], password=db["PASSWORD"]
    )
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database to (re)load")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the synthetic network")
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    ensure_database(args.db)

    from django.conf import settings
    from django.core.management import call_command
    from django.core.management.base import CommandError
    from django.db import connection
    from results import record

    call_command("migrate", verbosity=0)
    boundaries = Path(settings.SHARED_DATA_DIR) / "boundaries"
    started = time.monotonic()
    try:
        call_command(
            "import_boundaries",
            regiones=boundaries / "fcortes_regiones.geojson",
            comunas=boundaries / "fcortes_comunas.geojson",
            cut_table=boundaries,
        )
    except CommandError as exc:  # features it could not take are reported, the rest loads
        print(f"import_boundaries: {exc}", file=sys.stderr)
    boundaries_s = time.monotonic() - started

    started = time.monotonic()
    call_command("seed_demo", scale="national", seed=args.seed)
    seed_s = time.monotonic() - started

    lines = []
    with connection.cursor() as cur:
        for label, table in TABLES:
            cur.execute(f"SELECT count(*) FROM {table}")
            lines.append(f"- national {label}: {cur.fetchone()[0]:,}")
        cur.execute("SELECT pg_database_size(current_database())")
        size = cur.fetchone()[0]
        cur.execute("SELECT split_part(version(), ',', 1), postgis_lib_version()")
        pg, postgis = cur.fetchone()
    lines += [
        f"- import_boundaries (real comunas and regiones): {boundaries_s:.1f} s",
        f"- national seed load time (seed_demo --scale national, COPY): {seed_s / 60:.1f} min",
        f"- national database size: {size / 1024**3:.2f} GiB",
    ]
    block = record(
        "national seed (bench/seed_national.py)",
        lines,
        notes=f"{pg}, PostGIS {postgis}; database `{args.db}`, seed {args.seed}.",
    )
    print(block)


if __name__ == "__main__":
    main()
