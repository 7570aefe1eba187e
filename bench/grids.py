#!/usr/bin/env python
"""The location grids (BUSCAR UBICACIÓN) on the national set: server time against the SQL they
send, queries per page, and what the access log's row costs with and without its wait for the
WAL flush.

    .venv/bin/python bench/grids.py [--db portal_bench] [--samples 60] [--runs 3] [--no-record]

Needs the national set (bench/seed_national.py). Each grid (the substations of a comuna, the
feeders of a substation with their transformers, the transformers of a feeder) is requested
in-process through Django's test client as a public user (the full request/response cycle:
session, login, the page, its access log row; no network) for a deterministic sample of assets
(seed 7). The baseline is the page's own statements, captured from one request of each sample
and replayed on a plain cursor in the same run (the access log INSERT included, as the page
sends it). Runs alternate page and replay; each figure is min / median / max over the runs of
that run's p50 or p95. Under load: the same grids, mixed, from --concurrency client threads
against the portal under gunicorn on a loopback port (as bench/load.py serves it), --runs runs
of --seconds after a warm-up. Figures are prepended to bench/RESULTS.md unless --no-record.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import free_port, percentile, wait_for_port  # noqa: E402 (bench/ is on the path)


def spread(values: list[float], scale: float = 1000.0, digits: int = 2) -> str:
    ordered = sorted(v * scale for v in values)
    return " / ".join(
        f"{v:.{digits}f}" for v in (ordered[0], statistics.median(ordered), ordered[-1])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--samples", type=int, default=60, help="assets per grid kind")
    parser.add_argument("--runs", type=int, default=3, help="runs of each grid and its replay")
    parser.add_argument("--no-record", action="store_true", help="print, do not record")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads under load")
    parser.add_argument("--seconds", type=float, default=20, help="length of each load run")
    parser.add_argument("--no-server", action="store_true", help="skip the load part")
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
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from results import record

    from accounts.models import User
    from network.models import Feeder

    call_command("migrate", verbosity=0)
    load_before = Path("/proc/loadavg").read_text().split()[:3]
    rng = random.Random(7)
    user, _ = User.objects.get_or_create(username="bench", defaults={"profile": "public"})
    client = Client()
    client.force_login(user)
    high = Feeder.objects.order_by("-pk").values_list("pk", flat=True).first()
    ids: set[int] = set()
    while len(ids) < args.samples:
        ids.add(rng.randint(1, high))
    feeders = list(
        Feeder.objects.filter(pk__in=ids, substation__isnull=False).select_related(
            "substation__comuna__region"
        )
    )
    search = reverse("network:search")

    def where(f) -> dict:
        return {"region": f.substation.comuna.region.code, "comuna": f.substation.comuna.code}

    grids = {
        "substations of a comuna": [where(f) for f in feeders],
        "feeders of a substation (with transformers)": [
            {**where(f), "subestacion": f.substation_id} for f in feeders
        ],
        "transformers of a feeder": [
            {**where(f), "subestacion": f.substation_id, "alimentador": f.pk} for f in feeders
        ],
    }

    def get(params: dict) -> float:
        started = time.perf_counter()
        response = client.get(search, params)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{params}: HTTP {response.status_code}")
        return elapsed

    def replay(statements: list[str]) -> float:
        started = time.perf_counter()
        with connection.cursor() as cur:
            for sql in statements:
                cur.execute(sql)
                while True:
                    if cur.description is not None:
                        cur.fetchall()
                    if not cur.nextset():
                        break
        return time.perf_counter() - started

    lines: list[str] = []
    for name, samples in grids.items():
        captured, queries = [], []
        for params in samples:
            get(params)  # warm: the session and the alarms' memo, as a visitor's second page
            with CaptureQueriesContext(connection) as ctx:
                get(params)
            captured.append([q["sql"] for q in ctx.captured_queries])
            queries.append(len(ctx.captured_queries))
        p50s, p95s, raw50s, raw95s = [], [], [], []
        for _ in range(args.runs):
            page = [get(p) for p in samples]
            raw = [replay(s) for s in captured]
            p50s.append(percentile(page, 0.5))
            p95s.append(percentile(page, 0.95))
            raw50s.append(percentile(raw, 0.5))
            raw95s.append(percentile(raw, 0.95))
        ratios = [p / r for p, r in zip(p50s, raw50s, strict=True)]
        lines += [
            f"- grid {name}, queries per page: {max(queries)} (min {min(queries)})",
            f"- grid {name} p50, min / median / max of {args.runs} runs: {spread(p50s)} ms",
            f"- grid {name} p95, min / median / max: {spread(p95s)} ms",
            f"- grid {name}, its statements replayed, p50: {spread(raw50s)} ms; "
            f"p95: {spread(raw95s)} ms",
            f"- grid {name}, page / replay at p50, min / median / max: {spread(ratios, 1, 1)}",
        ]

    # The access log row alone: as the page writes it now, and with its commit waiting for disk.
    def insert(sync: str) -> float:
        started = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                f"SET LOCAL synchronous_commit = {sync}; INSERT INTO accounts_accesslog "
                "(user_id, at, kind, reference, path, ip) "
                "VALUES (%s, now(), 'busqueda', 'bench', '/bench/', '127.0.0.1')",
                [user.pk],
            )
        return time.perf_counter() - started

    for label, sync in (("as written (synchronous_commit off)", "off"), ("synchronous", "on")):
        runs = [statistics.median([insert(sync) for _ in range(200)]) for _ in range(args.runs)]
        lines.append(f"- access log row {label}, p50 of 200, min / median / max: {spread(runs)} ms")
    if not args.no_server:
        lines += under_load(args, client, grids, search)
    load_after = Path("/proc/loadavg").read_text().split()[:3]
    lines.append(f"- load average (1 / 5 / 15 min) before: {' / '.join(load_before)}; "
                 f"after: {' / '.join(load_after)}")  # fmt: skip
    notes = (
        f"{len(feeders)} feeders (random, seed 7) and their substations and comunas, database "
        f"`{args.db}`, a public user; server time through Django's test client after one warm "
        "request of each (the session read, the alarms remembered as on a visitor's second "
        "page). The replay is the page's own statements, captured from that request, on a plain "
        "cursor: session, user, the cascade's one statement, the access log INSERT. Target: "
        "p95 at most 20 ms quiet, at most 5 queries. The machine's 2 cores are shared; the load "
        "average says how busy they were."
    )
    if args.no_record:
        print("\n".join(lines))
        print(notes)
    else:
        print(record("location grids (bench/grids.py)", lines, notes=notes))


def under_load(args, client, grids: dict, search: str) -> list[str]:
    """The three grids, mixed, from --concurrency client threads against gunicorn (2 gthread
    workers of 8 threads, as bench/load.py serves the portal) for --seconds, --runs times."""
    from urllib.parse import urlencode

    from django.conf import settings

    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    paths = [f"{search}?{urlencode(p)}" for samples in grids.values() for p in samples]
    random.Random(7).shuffle(paths)
    port = free_port()
    env = {**os.environ, "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1"}
    server = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "portal.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--threads", "8", "--worker-class", "gthread",
         "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    p50s, p95s, rates, failed = [], [], [], 0
    try:
        wait_for_port(port, server)
        for run in range(args.runs + 1):  # the first warms the workers' connections
            times: list[float] = []
            errors: list[int] = []
            stop = time.monotonic() + (3 if run == 0 else args.seconds)
            order = itertools.cycle(paths)
            lock = threading.Lock()

            def worker(order=order, stop=stop, times=times, errors=errors, lock=lock) -> None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                while time.monotonic() < stop:
                    with lock:
                        path = next(order)
                    started = time.perf_counter()
                    conn.request("GET", path, headers={"Cookie": cookie})
                    response = conn.getresponse()
                    response.read()
                    elapsed = time.perf_counter() - started
                    with lock:
                        (times if response.status == 200 else errors).append(elapsed)
                conn.close()

            threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
            started = time.monotonic()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            if run == 0:
                continue
            failed += len(errors)
            p50s.append(percentile(times, 0.5))
            p95s.append(percentile(times, 0.95))
            rates.append(len(times) / (time.monotonic() - started))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return [
        f"- grids under load ({args.concurrency} client threads, gunicorn 2 gthread workers x 8 "
        f"threads, {args.seconds:.0f} s a run) p50, min / median / max: {spread(p50s)} ms",
        f"- grids under load p95, min / median / max: {spread(p95s)} ms",
        f"- grids under load throughput, min / median / max: {spread(rates, 1, 0)} pages/s "
        f"({failed} failed)",
    ]


if __name__ == "__main__":
    main()
