#!/usr/bin/env python
"""GUARDAR at national scale: the feeder, transformer and substation PDFs, against WeasyPrint
laying out the same page without its map.

    .venv/bin/python bench/pdfs.py [--db portal_bench] [--samples 10] [--runs 3] [--no-record]

Needs the national set (bench/seed_national.py). Each PDF is requested in-process through
Django's test client as a public user (the full request: view, SQL, map, WeasyPrint, access
log), in a process set up as portal.wsgi sets up the servers' (core/runtime.py), for the
largest national feeder (most poles, then spans, then features drawn: its transformers,
equipment and the other feeders crossing its extent) and a random sample (seed 7) of feeders,
transformers and substations. The raw baseline, measured in the same run
on the same pages, is WeasyPrint's `write_pdf` on the HTML the request rendered with the map
taken out (called as render_pdf calls it, with the same cached stylesheets): what a PDF of
that page costs at the least, with no map and no queries. Three runs;
each figure is min / median / max over the runs of that run's p50 or maximum.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import percentile  # noqa: E402 (bench/ is on the path from here)

MAP = re.compile(r'<div class="map-static"><figure class="static-map">.*?</figure></div>', re.S)

LARGEST_FEEDER = """
    SELECT f.id, f.code,
           (SELECT count(*) FROM network_pole p WHERE p.feeder_id = f.id) AS poles,
           (SELECT count(*) FROM network_span s WHERE s.feeder_id = f.id) AS spans,
           (SELECT count(*) FROM network_transformer t WHERE t.feeder_id = f.id)
           + (SELECT count(*) FROM network_equipment e WHERE e.feeder_id = f.id)
           + (SELECT count(*) FROM network_feeder o
               WHERE o.id <> f.id AND o.outline && f.outline) AS drawn
      FROM network_feeder f
     ORDER BY poles DESC, spans DESC, drawn DESC, f.id
     LIMIT 1
"""


def spread(values: list[float]) -> str:
    return " / ".join(f"{v:.3f}" for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--samples", type=int, default=10, help="random assets of each kind")
    parser.add_argument("--largest", type=int, default=5, help="renders of the largest feeder")
    parser.add_argument("--runs", type=int, default=3, help="runs (each figure: min/median/max)")
    parser.add_argument("--no-record", action="store_true", help="print, do not touch RESULTS.md")
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import logging

    import django

    django.setup()
    # The process set up as the servers' entry point sets it up (core/runtime.py: settle).
    import portal.wsgi  # noqa: F401

    # WeasyPrint warns about every screen-only rule of portal.css it skips, on every render.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    from django.db import connection
    from django.test import Client
    from django.urls import reverse
    from results import record
    from weasyprint import HTML

    from accounts.models import User
    from core import pdf
    from network.models import Feeder, Substation, Transformer

    rng = random.Random(7)
    user, _ = User.objects.get_or_create(username="bench", defaults={"profile": "public"})
    client = Client()
    client.force_login(user)

    with connection.cursor() as cur:
        cur.execute(LARGEST_FEEDER)
        largest_pk, largest_code, poles, spans, drawn = cur.fetchone()

    def sample(model) -> list[int]:
        pks = list(model.objects.order_by("pk").values_list("pk", flat=True))
        return sorted(rng.sample(pks, min(args.samples, len(pks))))

    kinds = {
        "feeder": sample(Feeder),
        "transformer": sample(Transformer),
        "substation": sample(Substation),
    }

    # The HTML each request hands to WeasyPrint, for the baseline.
    rendered: list[str] = []
    real_render = pdf.render_to_string

    def keep(*a, **kw):
        html = real_render(*a, **kw)
        rendered.append(html)
        return html

    pdf.render_to_string = keep

    def timed_pdf(kind: str, pk: int) -> tuple[float, float, float]:
        """(request s, WeasyPrint on its HTML s, WeasyPrint on its HTML without the map s)."""
        rendered.clear()
        start = time.perf_counter()
        response = client.get(reverse(f"network:{kind}", args=[pk]), {"formato": "pdf"})
        request_s = time.perf_counter() - start
        assert response.status_code == 200, (kind, pk, response.status_code)
        assert response.content.startswith(b"%PDF")
        (html,) = rendered
        without_map, found = MAP.subn('<div class="map-static"></div>', html)
        assert found == 1, (kind, pk, "no static map in the PDF's HTML")

        def weasy(text: str) -> float:
            """WeasyPrint as render_pdf calls it (the same cached stylesheets)."""
            start = time.perf_counter()
            text, sheets = pdf._cached_stylesheets(text)
            HTML(
                string=text, base_url="http://testserver/", url_fetcher=pdf._static_fetcher
            ).write_pdf(stylesheets=sheets)
            return time.perf_counter() - start

        return request_s, weasy(html), weasy(without_map)

    def load() -> str:
        return Path("/proc/loadavg").read_text().split(" ", 3)[:3]

    before = load()
    timed_pdf("feeder", largest_pk)  # warm-up: templates, fonts, the prepared statements
    cases = {"largest feeder": [("feeder", largest_pk)] * args.largest} | {
        f"{kind} sample": [(kind, pk) for pk in pks] for kind, pks in kinds.items()
    }
    # Per case: per run, (p50, max) of the requests and p50 of both WeasyPrint timings.
    figures: dict[str, dict[str, list[float]]] = {
        name: {"p50": [], "max": [], "weasy": [], "raw": []} for name in cases
    }
    for run in range(args.runs):
        for name, assets in cases.items():
            timings = [timed_pdf(kind, pk) for kind, pk in assets]
            requests = [t[0] for t in timings]
            figures[name]["p50"].append(percentile(requests, 0.5))
            figures[name]["max"].append(max(requests))
            figures[name]["weasy"].append(percentile([t[1] for t in timings], 0.5))
            figures[name]["raw"].append(percentile([t[2] for t in timings], 0.5))
            print(f"run {run + 1} {name}: p50 {figures[name]['p50'][-1]:.3f} s", flush=True)
    after = load()

    lines = [
        f"- largest national feeder: {largest_code} ({poles} poles, {spans} spans, {drawn}"
        " transformers, equipment and crossing feeders drawn)",
    ]
    for name, f in figures.items():
        lines += [
            f"- {name} PDF p50, min / median / max: {spread(f['p50'])} s",
            f"- {name} PDF max, min / median / max: {spread(f['max'])} s",
            f"- {name}: WeasyPrint on its HTML p50: {spread(f['weasy'])} s",
            f"- {name}: raw baseline (WeasyPrint on its HTML without the map) p50:"
            f" {spread(f['raw'])} s",
            f"- {name}: ratio PDF / raw baseline (medians of p50):"
            f" {statistics.median(f['p50']) / statistics.median(f['raw']):.2f}",
        ]
    lines.append(f"- load average (1 / 5 / 15 min) before: {' / '.join(before)}; after:"
                 f" {' / '.join(after)}")  # fmt: skip
    notes = (
        f"Database `{args.db}`; {args.runs} runs; the largest feeder {args.largest} times a run,"
        f" {args.samples} random assets of each kind (seed 7). Request: Django's test client as"
        " a public user, the whole GUARDAR request. Raw baseline: WeasyPrint `write_pdf` on the"
        " HTML that request rendered, with the map's SVG taken out, timed in the same run."
        " Targets: largest feeder p50 ≤ 0.5 s and max ≤ 1 s, transformer and substation ≤ 0.4 s."
    )
    if args.no_record:
        print("\n".join(lines) + "\n\n" + notes)
    else:
        print(record("PDFs at national scale (bench/pdfs.py)", lines, notes=notes))


if __name__ == "__main__":
    main()
