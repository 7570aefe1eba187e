#!/usr/bin/env python
"""Vector tiles at national scale: the endpoint against the raw ST_AsMVT SQL of the same tile.

    .venv/bin/python bench/tiles.py [--db portal_bench] [--samples 40] [--concurrency 8]

Needs the national set (bench/seed_national.py). Tiles: the z14, z12 and z10 composite tile
(`/tiles/red/…`, what the map fetches) over a deterministic sample of substations, where the
network is densest.

1. Latency, in-process through Django's test client (full request cycle: session, login, cache
   look-up; no network). For each tile: one untimed run of its SQL (so neither side pays for a
   cold disk), then `--repeat` times: the raw SQL of services.tile_sql as a plain statement
   (serial, as the endpoint's statement runs; once more with the planner's default parallel
   plans, for reference; once more prepared, run with its generic plan as the endpoint's
   statement is: the endpoint plans a tile statement once per connection, not per tile), the
   endpoint with the tile's cache row deleted first (cold: render and store), the endpoint again
   (warm: a cache hit); each tile counts with the median of its runs (the machine is shared).
2. Throughput: the portal served by gunicorn (3 sync workers, the machine has 2 cores) on a free
   loopback port, hit by `--concurrency` client threads: once with the tile cache emptied (cold:
   every tile rendered once) and once more over the same tiles (warm: all cache hits). Bounded:
   one request per tile per pass, a 60 s time-out per request.

Figures are prepended to bench/RESULTS.md. Targets: endpoint within 1.5x the raw SQL at z14 and
z12 (cold, i.e. render + store, against render alone); z10 at most 300 ms.
"""

from __future__ import annotations

import argparse
import http.client
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

from results import free_port, percentile, wait_for_port  # noqa: E402 (bench/ is on the path from here)

ZOOMS = (14, 12, 10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--samples", type=int, default=40, help="substations to take tiles around")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per tile (median)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument(
        "--no-server", action="store_true", help="skip the throughput part (no gunicorn)"
    )
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django
    import psycopg

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from results import record

    from accounts.models import User
    from maps.models import TileCache
    from maps.tiles import cache, services
    from network.models import Substation

    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench", defaults={"profile": "public"})
    client = Client()
    client.force_login(user)

    rng = random.Random(7)
    ids = sorted(Substation.objects.values_list("pk", flat=True))
    chosen = Substation.objects.filter(pk__in=rng.sample(ids, min(args.samples, len(ids))))
    tiles: dict[int, list[tuple[int, int]]] = {z: [] for z in ZOOMS}
    for substation in chosen.order_by("pk"):
        for z in ZOOMS:
            tx, ty = services.lonlat_to_tile(substation.location.x, substation.location.y, z)
            if (int(tx), int(ty)) not in tiles[z]:
                tiles[z].append((int(tx), int(ty)))

    connection.ensure_connection()
    prepared_cursor = psycopg.Cursor(connection.connection)

    def timed_sql(z: int, x: int, y: int, mode: str = "serial") -> tuple[float, int]:
        """The tile's SQL alone: "serial" (planned per run, as a plain statement; parallel plans
        off, as the endpoint's statement runs), "parallel" (the planner's default) or
        "prepared" (a prepared statement, run with its generic plan, as the endpoint runs it)."""
        sql, params = services.tile_sql("red", z, x, y)
        with connection.cursor() as cur:
            cur.execute(f"SET max_parallel_workers_per_gather = {2 if mode == 'parallel' else 0}")
            started = time.perf_counter()
            if mode == "prepared":
                prepared_cursor.execute(sql, params, prepare=True)
                data = prepared_cursor.fetchone()[0]
            else:
                cur.execute(sql, params)
                data = cur.fetchone()[0]
            elapsed = time.perf_counter() - started
            cur.execute("RESET max_parallel_workers_per_gather")
            return elapsed, len(data)

    def timed_get(z: int, x: int, y: int) -> float:
        started = time.perf_counter()
        response = client.get(f"/tiles/red/{z}/{x}/{y}.mvt")
        elapsed = time.perf_counter() - started
        if response.status_code not in (200, 204):
            raise SystemExit(f"tile {z}/{x}/{y}: HTTP {response.status_code}")
        return elapsed

    lines: list[str] = []
    timed_get(*(ZOOMS[-1], *tiles[ZOOMS[-1]][0]))  # one warm-up of the request cycle
    for z in ZOOMS:
        raw, parallel, prepared, cold, warm, sizes = [], [], [], [], [], []
        for x, y in tiles[z]:
            size = timed_sql(z, x, y)[1]  # the data in shared buffers for both sides
            sizes.append(size)
            runs: dict[str, list[float]] = {
                "raw": [], "parallel": [], "prepared": [], "cold": [], "warm": []
            }  # fmt: skip
            for _ in range(args.repeat):
                runs["raw"].append(timed_sql(z, x, y)[0])
                runs["parallel"].append(timed_sql(z, x, y, "parallel")[0])
                runs["prepared"].append(timed_sql(z, x, y, "prepared")[0])
                TileCache.objects.filter(layer="red", z=z, x=x, y=y).delete()
                runs["cold"].append(timed_get(z, x, y))
                runs["warm"].append(timed_get(z, x, y))
            raw.append(statistics.median(runs["raw"]))
            parallel.append(statistics.median(runs["parallel"]))
            prepared.append(statistics.median(runs["prepared"]))
            cold.append(statistics.median(runs["cold"]))
            warm.append(statistics.median(runs["warm"]))
        raw50, prepared50, cold50, warm50 = (
            statistics.median(v) * 1000 for v in (raw, prepared, cold, warm)
        )
        overhead = [(c - r) * 1000 for c, r in zip(cold, raw, strict=True)]
        heavy = [(c / r) for c, r in zip(cold, raw, strict=True) if r >= 0.010]
        lines += [
            f"- z{z} ({len(raw)} tiles, {statistics.median(sizes) / 1024:.1f} kB median, "
            f"{max(sizes) / 1024:.1f} kB max) raw ST_AsMVT SQL p50: {raw50:.1f} ms, "
            f"p95: {percentile(raw, 0.95) * 1000:.1f} ms (serial, as the endpoint runs it; "
            f"with the planner's parallel plans p50 {statistics.median(parallel) * 1000:.1f} ms, "
            f"p95 {percentile(parallel, 0.95) * 1000:.1f} ms)",
            f"- z{z} raw ST_AsMVT SQL prepared (generic plan, no planning per run) p50: "
            f"{prepared50:.1f} ms, p95: {percentile(prepared, 0.95) * 1000:.1f} ms",
            f"- z{z} endpoint cold (render + store) p50: {cold50:.1f} ms, "
            f"p95: {percentile(cold, 0.95) * 1000:.1f} ms, max: {max(cold) * 1000:.1f} ms "
            f"(endpoint/raw p50 ratio {cold50 / raw50:.2f}; "
            f"endpoint/raw prepared p50 ratio {cold50 / prepared50:.2f})",
            f"- z{z} endpoint warm (cache hit) p50: {warm50:.1f} ms, "
            f"p95: {percentile(warm, 0.95) * 1000:.1f} ms",
            f"- z{z} endpoint cold minus raw, per tile, p50: {statistics.median(overhead):.1f} ms"
            + (
                f"; cold/raw ratio p50 over the {len(heavy)} tiles whose SQL takes >= 10 ms: "
                f"{statistics.median(heavy):.2f}"
                if heavy
                else ""
            ),
        ]

    if not args.no_server:
        lines += throughput(args, tiles, user, SessionStore, cache,
                            (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY))  # fmt: skip

    block = record(
        "vector tiles at national scale (bench/tiles.py)",
        lines,
        notes=(
            f"Composite tiles `/tiles/red/z/x/y.mvt` at the substations of a random sample of "
            f"{args.samples} (seed 7), database `{args.db}`. Latency in-process through Django's "
            "test client; the raw SQL is services.tile_sql run on the same connection in the "
            "same run, after one untimed run of it; per tile the median of "
            f"{args.repeat} runs of each. Targets: endpoint within 1.5x raw at z14 "
            "and z12; z10 at most 300 ms. The endpoint runs its statement prepared (planned "
            "once per connection and zoom); the plain raw SQL is planned on every run, the "
            "prepared one is not: the two ratios bracket the endpoint's own overhead."
        ),
    )
    print(block)


def throughput(args, tiles, user, SessionStore, cache, keys) -> list[str]:
    session = SessionStore()
    session[keys[0]] = str(user.pk)
    session[keys[1]] = "django.contrib.auth.backends.ModelBackend"
    session[keys[2]] = user.get_session_auth_hash()
    session.create()
    # A bigger set than the latency part: the 3x3 block of z14 tiles around each substation.
    paths = []
    for z, cells in tiles.items():
        for x, y in cells:
            around = [(x + dx, y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)] if z == 14 else []
            for cx, cy in [(x, y), *around]:
                path = f"/tiles/red/{z}/{cx}/{cy}.mvt"
                if path not in paths:
                    paths.append(path)

    port = free_port()
    env = {**os.environ, "DB_NAME": args.db, "DEBUG": "false", "ALLOWED_HOSTS": "127.0.0.1"}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(args.workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        wait_for_port(port, server)
        cookie = f"sessionid={session.session_key}"

        def run_pass() -> tuple[float, list[float], int]:
            queue = list(paths)
            lock = threading.Lock()
            latencies: list[float] = []
            failures = [0]

            def worker() -> None:
                while True:
                    with lock:
                        if not queue:
                            return
                        path = queue.pop()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                    started = time.perf_counter()
                    conn.request("GET", path, headers={"Cookie": cookie})
                    response = conn.getresponse()
                    response.read()
                    elapsed = time.perf_counter() - started
                    conn.close()
                    with lock:
                        latencies.append(elapsed)
                        if response.status not in (200, 204):
                            failures[0] += 1

            threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
            started = time.perf_counter()
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return time.perf_counter() - started, latencies, failures[0]

        # Warm the workers' connections and imports on a tile outside the measured set.
        warm_up = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        warm_up.request("GET", "/tiles/red/3/2/4.mvt", headers={"Cookie": cookie})
        warm_up.getresponse().read()
        cache.clear()
        lines = []
        for label in ("cold (cache emptied first: every tile rendered and stored)",
                      "warm (same tiles again: cache hits)"):  # fmt: skip
            seconds, latencies, failures = run_pass()
            lines.append(
                f"- throughput {label}: {len(latencies) / seconds:.0f} tiles/s "
                f"({len(latencies)} tiles, {args.concurrency} client threads, gunicorn "
                f"{args.workers} workers; p50 {statistics.median(latencies) * 1000:.1f} ms, "
                f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms; {failures} failed)"
            )
        return lines
    finally:
        server.terminate()
        server.wait(timeout=30)
        session.delete()


if __name__ == "__main__":
    main()
