#!/usr/bin/env python
"""The SEC auditor's address search (§3) over the national customers, against its raw SQL.

    .venv/bin/python bench/sec_search.py [--db portal_bench] [--samples 60] [--runs 3]

Needs the national set (bench/seed_national.py) migrated (the trigram index of customers
0002). Each sample is a search as an auditor types it, drawn from real addresses of the set:
a whole address ("Lautaro 855"), a street ("lautaro"), a partial word ("alerc") and a street
written without its accents and in capitals. The page is requested in-process through Django's
test client as an SEC user (access log included); the baseline is the same search's two SQL
statements (the page of rows and the capped count) run directly in the same run.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import unicodedata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import percentile  # noqa: E402 (bench/ is on the path from here)


def plain(text: str) -> str:
    return "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    ).upper()


def queries(addresses: list[str], rng: random.Random) -> list[str]:
    out = []
    for address in addresses:
        words = address.split()
        street = " ".join(w for w in words if not w.isdigit()) or address
        longest = max(words, key=len)
        kind = len(out) % 4
        if kind == 0:
            out.append(address)
        elif kind == 1:
            out.append(street.lower())
        elif kind == 2:
            out.append(longest[: max(3, len(longest) - 2)].lower())
        else:
            out.append(plain(street))
    rng.shuffle(out)
    return out


def one_run(samples: int, seed: int) -> dict[str, float]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from accounts.models import User
    from customers.services import search
    from network.models import Customer

    rng = random.Random(seed)
    ids = list(Customer.objects.order_by("?").values_list("address", flat=True)[: samples * 3])
    texts = queries(rng.sample(ids, samples), rng)
    user, _ = User.objects.get_or_create(username="bench-sec", defaults={"profile": "sec"})
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    url = reverse("customers:search")
    client.get(url, {"por": "direccion", "q": texts[0]})  # warm-up
    page_ms, raw_ms, found = [], [], []
    for text in texts:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response = client.get(url, {"por": "direccion", "q": text})
            page_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (text, response.status_code)
        statements = [q["sql"] for q in captured.captured_queries if "network_customer" in q["sql"]]
        query = search.parse("direccion", text)
        rows = search.search(query)
        page = search.page_of(rows, 1)
        ids = [c.pk for c in page.rows]
        sql = [
            rows.order_by()
            .values_list("pk", "number")[: search.COUNT_CAP + 1]
            .query.sql_with_params(),
            search.grid_rows().filter(pk__in=ids).query.sql_with_params(),
        ]
        assert len(statements) == 2, statements
        found.append(page.count)
        with connection.cursor() as cur:
            started = time.perf_counter()
            for text_sql, params in sql:
                cur.execute(text_sql, params)
                cur.fetchall()
            raw_ms.append((time.perf_counter() - started) * 1000)
    return {
        "page p50": statistics.median(page_ms),
        "page p95": percentile(page_ms, 0.95),
        "raw p50": statistics.median(raw_ms),
        "raw p95": percentile(raw_ms, 0.95),
        "ratio p95": percentile(page_ms, 0.95) / percentile(raw_ms, 0.95),
        "capped share": sum(1 for f in found if f >= 1000) / len(found),
        "median matches": statistics.median(found),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--samples", type=int, default=60, help="searches per run")
    parser.add_argument("--runs", type=int, default=3, help="runs (same process, new samples)")
    parser.add_argument("--no-record", action="store_true", help="print, leave RESULTS.md alone")
    args = parser.parse_args()
    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    from results import record

    from network.models import Customer

    runs = [one_run(args.samples, seed) for seed in range(1, args.runs + 1)]
    for n, run in enumerate(runs, 1):
        print(f"run {n}: " + ", ".join(f"{k} {v:.2f}" for k, v in run.items()))

    def mmm(key: str, unit: str) -> str:
        values = sorted(r[key] for r in runs)
        return f"{values[0]:.1f} / {statistics.median(values):.1f} / {values[-1]:.1f} {unit}"

    lines = [
        f"- customers searched: {Customer.objects.count():,}",
        f"- SEC address search page p50: {mmm('page p50', 'ms')}",
        f"- SEC address search page p95: {mmm('page p95', 'ms')} (target ≤ 100 ms)",
        f"- SEC address search raw SQL p50: {mmm('raw p50', 'ms')}",
        f"- SEC address search raw SQL p95: {mmm('raw p95', 'ms')}",
        f"- SEC address search page/raw ratio at p95: {mmm('ratio p95', '')}".strip(),
        "- SEC address searches over 1,000 matches (grid capped at 1,000): "
        + " / ".join(f"{100 * v:.0f}" for v in sorted(r["capped share"] for r in runs))
        + " %",
    ]
    print("\n".join(lines))
    if not args.no_record:
        record(
            "SEC address search on the national customers (bench/sec_search.py)",
            lines,
            f"{args.runs} runs of {args.samples} searches (whole address, street, partial word, "
            "street without accents in capitals; drawn from the set's addresses); figures are "
            "min / median / max of the runs. Page = Django test client as an SEC user, access "
            "log included; raw = the capped matches and the page's rows run on a plain cursor.",
        )


if __name__ == "__main__":
    main()
