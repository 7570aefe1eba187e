#!/usr/bin/env python
"""Server time of the public pages on the national data set, against the raw SQL they rest on.

    .venv/bin/python bench/public_pages.py [--db portal_bench] [--samples 60]

Needs the national set (bench/seed_national.py). Each page is requested in-process through
Django's test client (the full request/response cycle, access log included, no network) for a
deterministic sample of assets; the baseline is the page's main SQL run directly in the same
run. Figures are prepended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import percentile  # noqa: E402 (bench/ is on the path from here)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--samples", type=int, default=60, help="requests per page kind")
    parser.add_argument("--pdf-samples", type=int, default=10, help="feeder PDFs to render")
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from results import record

    from accounts.models import User
    from network.models import Customer, Feeder, Substation, Transformer

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    user, _ = User.objects.get_or_create(username="bench", defaults={"profile": "public"})
    client = Client()
    client.force_login(user)

    def sample_ids(model, n: int) -> list[int]:
        high = model.objects.order_by("-pk").values_list("pk", flat=True).first()
        ids = set()
        while len(ids) < n:
            ids.add(rng.randint(1, high))
        return sorted(ids)

    substations = list(
        Substation.objects.filter(pk__in=sample_ids(Substation, args.samples)).select_related(
            "comuna__region"
        )
    )
    feeders = list(
        Feeder.objects.filter(pk__in=sample_ids(Feeder, args.samples)).select_related(
            "substation__comuna__region"
        )
    )
    transformers = list(
        Transformer.objects.filter(pk__in=sample_ids(Transformer, args.samples)).select_related(
            "pole"
        )
    )
    customers = list(
        Customer.objects.filter(pk__in=sample_ids(Customer, args.samples)).values_list(
            "number", flat=True
        )
    )

    def timed_get(url: str, params: dict | None = None) -> float:
        started = time.perf_counter()
        response = client.get(url, params or {})
        elapsed = time.perf_counter() - started
        if response.status_code not in (200, 302):
            raise SystemExit(f"{url} {params}: HTTP {response.status_code}")
        return elapsed

    def timed_sql(sql: str, params: list) -> float:
        with connection.cursor() as cur:
            started = time.perf_counter()
            cur.execute(sql, params)
            cur.fetchall()
            return time.perf_counter() - started

    search = reverse("network:search")
    cases: dict[str, tuple[list[float], list[float]]] = {}

    def run(name: str, requests, baselines) -> None:
        # One warm-up of each, then the measured runs.
        requests[0]()
        cases[name] = ([r() for r in requests], [b() for b in baselines])

    options = reverse("network:options", args=["comuna"])
    run(
        "cascade list comunas of a región",
        [lambda s=s: timed_get(options, {"parent": s.comuna.region.code}) for s in substations],
        [lambda s=s: timed_sql(
            "SELECT c.code, c.name FROM geo_comuna c JOIN geo_region r ON r.id = c.region_id "
            "WHERE r.code = %s ORDER BY c.code", [s.comuna.region.code]) for s in substations],
    )  # fmt: skip
    options = reverse("network:options", args=["alimentador"])
    run(
        "cascade list feeders of a substation",
        [lambda s=s: timed_get(options, {"parent": s.pk}) for s in substations],
        [lambda s=s: timed_sql(
            "SELECT id, code, name FROM network_feeder WHERE substation_id = %s ORDER BY name",
            [s.pk]) for s in substations],
    )  # fmt: skip
    options = reverse("network:options", args=["transformador"])
    run(
        "cascade list transformers of a feeder",
        [lambda f=f: timed_get(options, {"parent": f.pk}) for f in feeders],
        [lambda f=f: timed_sql(
            "SELECT id, code, name FROM network_transformer WHERE feeder_id = %s ORDER BY code",
            [f.pk]) for f in feeders],
    )  # fmt: skip
    run(
        "grid substations of a comuna",
        [lambda s=s: timed_get(search, {"region": s.comuna.region.code,
                                        "comuna": s.comuna.code}) for s in substations],
        [lambda s=s: timed_sql(
            "SELECT * FROM network_substation WHERE comuna_id = %s ORDER BY code LIMIT 20",
            [s.comuna_id]) for s in substations],
    )  # fmt: skip
    run(
        "grid feeders of a substation (with transformers)",
        [lambda f=f: timed_get(search, {
            "region": f.substation.comuna.region.code, "comuna": f.substation.comuna.code,
            "subestacion": f.substation_id}) for f in feeders],
        [lambda f=f: timed_sql(
            "SELECT t.id, t.code, t.feeder_id FROM network_transformer t JOIN network_feeder f "
            "ON f.id = t.feeder_id WHERE f.substation_id = %s ORDER BY t.code",
            [f.substation_id]) for f in feeders],
    )  # fmt: skip
    run(
        "grid transformers of a feeder",
        [lambda f=f: timed_get(search, {
            "region": f.substation.comuna.region.code, "comuna": f.substation.comuna.code,
            "subestacion": f.substation_id, "alimentador": f.pk}) for f in feeders],
        [lambda f=f: timed_sql(
            "SELECT id, code, name, as_of FROM network_transformer WHERE feeder_id = %s "
            "ORDER BY code LIMIT 20", [f.pk]) for f in feeders],
    )  # fmt: skip
    run(
        "detail substation",
        [lambda s=s: timed_get(reverse("network:substation", args=[s.pk])) for s in substations],
        [lambda s=s: timed_sql(
            "SELECT t.id, t.code, t.name FROM network_transformer t JOIN network_feeder f "
            "ON f.id = t.feeder_id WHERE f.substation_id = %s ORDER BY t.code", [s.pk])
         for s in substations],
    )  # fmt: skip
    run(
        "detail feeder",
        [lambda f=f: timed_get(reverse("network:feeder", args=[f.pk])) for f in feeders],
        [lambda f=f: timed_sql(
            "SELECT ST_AsGeoJSON(geom) FROM network_span WHERE feeder_id = %s", [f.pk])
         for f in feeders],
    )  # fmt: skip
    run(
        "detail transformer",
        [lambda t=t: timed_get(reverse("network:transformer", args=[t.pk])) for t in transformers],
        [lambda t=t: timed_sql(
            "WITH t AS (SELECT location FROM network_transformer WHERE id = %s) "
            "SELECT s.id FROM network_span s, t WHERE s.geom && ST_Expand(t.location, 0.005) "
            "AND ST_DWithin(s.geom::geography, t.location::geography, 400)", [t.pk])
         for t in transformers],
    )  # fmt: skip
    ts = reverse("network:transformer_search")
    run(
        "simple search by customer number",
        [lambda n=n: timed_get(ts, {"cliente": n}) for n in customers],
        [lambda n=n: timed_sql(
            "SELECT t.* FROM network_transformer t JOIN network_customer c "
            "ON c.transformer_id = t.id WHERE c.number = %s", [n]) for n in customers],
    )  # fmt: skip
    run(
        "simple search by pole plate",
        [lambda t=t: timed_get(ts, {"placa_poste": t.pole.plate}) for t in transformers],
        [lambda t=t: timed_sql(
            "SELECT t.* FROM network_transformer t JOIN network_pole p ON p.id = t.pole_id "
            "WHERE p.plate = %s", [t.pole.plate]) for t in transformers],
    )  # fmt: skip

    pdf_feeders = feeders[: args.pdf_samples]
    pdf_times = [
        timed_get(reverse("network:feeder", args=[f.pk]), {"formato": "pdf"}) for f in pdf_feeders
    ]

    lines = []
    for name, (page, raw) in cases.items():
        p50, p95 = percentile(page, 0.5) * 1000, percentile(page, 0.95) * 1000
        raw50 = statistics.median(raw) * 1000
        lines.append(f"- {name} p50: {p50:.1f} ms")
        lines.append(f"- {name} p95: {p95:.1f} ms")
        lines.append(f"- {name} raw SQL p50: {raw50:.2f} ms (page/raw ratio {p50 / raw50:.1f})")
    lines.append(f"- feeder detail PDF render p50: {statistics.median(pdf_times):.2f} s")
    lines.append(f"- feeder detail PDF render max: {max(pdf_times):.2f} s")
    block = record(
        "public pages at national scale (bench/public_pages.py)",
        lines,
        notes=(
            f"{args.samples} assets per page kind (random, seed 7), database `{args.db}`; "
            "server time through Django's test client, access log writes included. Targets: "
            "look-ups and grids p95 ≤ 50 ms, detail pages p95 ≤ 150 ms, feeder PDF ≤ 1.5 s."
        ),
    )
    print(block)


if __name__ == "__main__":
    main()
