#!/usr/bin/env python
"""Vector tiles at national scale: the endpoint against the raw ST_AsMVT SQL of the same tile.

    .venv/bin/python bench/tiles.py [--db portal_bench] [--samples 40] [--concurrency 8]
        [--tipg /path/to/tipg-venv/bin/python] [--print-only]

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
   (warm: a cache hit), and cold and warm once more through the WSGI entry point gunicorn calls
   (portal.wsgi.application: the tile fast path, maps/tiles/wsgi.py, in front of Django's
   handler; no test client), timed to the response's close: the fast path stores the tiles it
   rendered in batches when the server closes a response (maps.tiles.cache.flush), so about
   one cold request in FLUSH_TILES carries a batch; before its warm request the waiting tiles
   are stored (untimed). Each tile counts with the median of its runs (the machine is shared).
2. Throughput: the portal served by gunicorn (3 sync workers, the machine has 2 cores) on a free
   loopback port, hit by `--concurrency` client threads: once with the tile cache emptied (cold:
   every tile rendered once) and once more over the same tiles (warm: cache hits, but for the
   few tiles a worker still had waiting to be stored). Bounded:
   one request per tile per pass, a 60 s time-out per request.

3. Fixed cost per tile: two tiles with nothing in them (z14 and z12 over the Pacific: every layer
   of the zoom is queried and none has a row there), `--fixed-runs` times each, interleaved: the
   raw SQL prepared, the endpoint's own statement alone (cache.fetch with the login, cache row
   deleted first: the SQL part), the endpoint cold and warm through the test client, cold
   through Django's own WSGI handler (without the fast path), and cold and warm through
   portal.wsgi.application as gunicorn calls it (no test client). The fixed cost is the
   endpoint cold minus the raw SQL prepared (medians), through the test client and through
   portal.wsgi.application.
4. tipg side by side (optional: `--tipg` or TIPG_PYTHON, the python of a virtualenv holding tipg
   and uvicorn; skipped with a note without one): tipg (developmentseed's FastAPI + asyncpg tile
   server) started on the same database, serving the same tables, against our single-layer
   endpoints (`spans` at z14, `feeders` at z12, at the same tiles as part 1) served by
   gunicorn: both over HTTP with the same client (one request at a time, a new connection per
   request, as gunicorn's sync workers close it), ours cold (cache row deleted first) and warm;
   then both under `--concurrency` client threads. tipg has no tile cache: it renders each time.

Figures are prepended to bench/RESULTS.md (not with `--print-only`). Targets (issue 18): fixed
cost at most 0.5 ms per tile; endpoint cold at most 1.3x the prepared raw SQL at z14 and z12;
z10 at most 300 ms.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
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
# Over the Pacific off Alaska: every layer of the zoom is queried, none has a row there.
EMPTY = ((14, 0, 0), (12, 0, 0))
# tipg's collections for our single-layer tiles: (our layer, zoom, tipg table, its geometry).
SIDE_BY_SIDE = (
    ("spans", 14, "public.network_span", "geom"),
    ("feeders", 12, "public.network_feeder", "outline"),
)


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
    parser.add_argument(
        "--fixed-runs", type=int, default=200, help="runs per empty tile for the fixed cost"
    )
    parser.add_argument(
        "--tipg",
        default=os.environ.get("TIPG_PYTHON", ""),
        help="python of a virtualenv with tipg and uvicorn (default: $TIPG_PYTHON); "
        "without it the tipg part is skipped",
    )
    parser.add_argument(
        "--print-only", action="store_true", help="print the figures, do not write RESULTS.md"
    )
    args = parser.parse_args()

    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django
    import psycopg

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, RequestFactory
    from results import record

    from accounts.models import User
    from accounts.sessions import SessionLogin, SessionStore
    from maps.tiles import cache, services
    from network.models import Substation

    # Also sets the process up as the servers' processes are (core/runtime.py: settle).
    from portal.wsgi import application, django_application

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

    def forget(z: int, x: int, y: int, layer: str = "red") -> None:
        with connection.cursor() as cur:
            cur.execute(
                "DELETE FROM geo_tilecache WHERE layer = %s AND z = %s AND x = %s AND y = %s",
                [layer, z, x, y],
            )

    def timed_get(z: int, x: int, y: int) -> float:
        started = time.perf_counter()
        response = client.get(f"/tiles/red/{z}/{x}/{y}.mvt")
        elapsed = time.perf_counter() - started
        if response.status_code not in (200, 204):
            raise SystemExit(f"tile {z}/{x}/{y}: HTTP {response.status_code}")
        return elapsed

    login = SessionStore(client.cookies[settings.SESSION_COOKIE_NAME].value)
    login.load()
    login = SessionLogin(login.session_key, login.raw_data, user.pk, login[HASH_SESSION_KEY])
    cookie = f"{settings.SESSION_COOKIE_NAME}={login.session_key}"

    def wsgi_get(z: int, x: int, y: int, app=application) -> float:
        """The request as gunicorn hands it over: portal.wsgi.application (the tile fast path
        in front of Django's handler), or `app`; no test client."""
        environ = RequestFactory().get(f"/tiles/red/{z}/{x}/{y}.mvt", HTTP_COOKIE=cookie).environ
        environ["wsgi.input"] = io.BytesIO(b"")
        started = time.perf_counter()
        statuses = []
        response = app(environ, lambda status, headers: statuses.append(status))
        b"".join(response)
        response.close()
        elapsed = time.perf_counter() - started
        if statuses[0][:3] not in ("200", "204"):
            raise SystemExit(f"tile {z}/{x}/{y}: HTTP {statuses[0]} (WSGI)")
        return elapsed

    lines: list[str] = []
    timed_get(*(ZOOMS[-1], *tiles[ZOOMS[-1]][0]))  # one warm-up of the request cycle
    wsgi_get(*(ZOOMS[-1], *tiles[ZOOMS[-1]][0]))
    for z in ZOOMS:
        raw, parallel, prepared, cold, warm, sizes = [], [], [], [], [], []
        wsgi_cold, wsgi_warm = [], []
        for x, y in tiles[z]:
            size = timed_sql(z, x, y)[1]  # the data in shared buffers for both sides
            sizes.append(size)
            runs: dict[str, list[float]] = {
                "raw": [], "parallel": [], "prepared": [], "cold": [], "warm": [],
                "wsgi_cold": [], "wsgi_warm": [],
            }  # fmt: skip
            for _ in range(args.repeat):
                runs["raw"].append(timed_sql(z, x, y)[0])
                runs["parallel"].append(timed_sql(z, x, y, "parallel")[0])
                runs["prepared"].append(timed_sql(z, x, y, "prepared")[0])
                forget(z, x, y)
                runs["cold"].append(timed_get(z, x, y))
                runs["warm"].append(timed_get(z, x, y))
                forget(z, x, y)
                runs["wsgi_cold"].append(wsgi_get(z, x, y))
                cache.flush(force=True)  # stored, as the server stores it after some answers
                runs["wsgi_warm"].append(wsgi_get(z, x, y))
            raw.append(statistics.median(runs["raw"]))
            parallel.append(statistics.median(runs["parallel"]))
            prepared.append(statistics.median(runs["prepared"]))
            cold.append(statistics.median(runs["cold"]))
            warm.append(statistics.median(runs["warm"]))
            wsgi_cold.append(statistics.median(runs["wsgi_cold"]))
            wsgi_warm.append(statistics.median(runs["wsgi_warm"]))
        raw50, prepared50, cold50, warm50, wsgi_cold50, wsgi_warm50 = (
            statistics.median(v) * 1000 for v in (raw, prepared, cold, warm, wsgi_cold, wsgi_warm)
        )
        overhead = [(c - r) * 1000 for c, r in zip(cold, raw, strict=True)]
        over_prepared = [(c - r) * 1000 for c, r in zip(cold, prepared, strict=True)]
        wsgi_over_prepared = [(c - r) * 1000 for c, r in zip(wsgi_cold, prepared, strict=True)]
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
            f"- z{z} through portal.wsgi.application (as gunicorn calls it; tile fast path): "
            f"cold p50 {wsgi_cold50:.2f} ms, p95 {percentile(wsgi_cold, 0.95) * 1000:.2f} ms "
            f"(cold/raw prepared p50 ratio {wsgi_cold50 / prepared50:.2f}; per tile minus raw "
            f"prepared p50 {statistics.median(wsgi_over_prepared):.2f} ms); warm p50 "
            f"{wsgi_warm50:.2f} ms (test client, same tiles: cold/raw prepared ratio "
            f"{cold50 / prepared50:.2f})",
            f"- z{z} endpoint cold minus raw, per tile, p50: {statistics.median(overhead):.1f} ms"
            f" (minus raw prepared: {statistics.median(over_prepared):.2f} ms)"
            + (
                f"; cold/raw ratio p50 over the {len(heavy)} tiles whose SQL takes >= 10 ms: "
                f"{statistics.median(heavy):.2f}"
                if heavy
                else ""
            ),
        ]

    for z, x, y in EMPTY:
        sql, params = services.tile_sql("red", z, x, y)
        runs = {
            "raw": [], "statement": [], "cold": [], "warm": [], "django": [], "wsgi": [],
            "wsgi_warm": [],
        }  # fmt: skip
        for _ in range(args.fixed_runs):
            started = time.perf_counter()
            prepared_cursor.execute(sql, params, prepare=True)
            if prepared_cursor.fetchone()[0]:
                raise SystemExit(f"tile {z}/{x}/{y} is not empty")
            runs["raw"].append(time.perf_counter() - started)
            forget(z, x, y)
            started = time.perf_counter()
            cache.fetch("red", z, x, y, login=login)
            runs["statement"].append(time.perf_counter() - started)
            forget(z, x, y)
            runs["cold"].append(timed_get(z, x, y))
            runs["warm"].append(timed_get(z, x, y))
            forget(z, x, y)
            runs["django"].append(wsgi_get(z, x, y, django_application))
            forget(z, x, y)
            runs["wsgi"].append(wsgi_get(z, x, y))
            cache.flush(force=True)
            runs["wsgi_warm"].append(wsgi_get(z, x, y))
        raw50, statement50, cold50, warm50, django50, wsgi50, wsgi_warm50 = (
            statistics.median(runs[k]) * 1000
            for k in ("raw", "statement", "cold", "warm", "django", "wsgi", "wsgi_warm")
        )
        lines += [
            f"- fixed cost per tile, z{z} empty tile ({args.fixed_runs} runs): "
            f"{cold50 - raw50:.2f} ms (endpoint cold p50 {cold50:.2f} ms minus raw SQL prepared "
            f"p50 {raw50:.2f} ms; of which the endpoint's statement over the raw SQL "
            f"{statement50 - raw50:.2f} ms, Python (test client, middleware, view) "
            f"{cold50 - statement50:.2f} ms; warm p50 {warm50:.2f} ms; through Django's WSGI "
            f"handler, without the test client or the fast path: cold p50 {django50:.2f} ms, "
            f"fixed cost {django50 - raw50:.2f} ms)",
            f"- fixed cost per tile, z{z} empty tile, through portal.wsgi.application (as "
            f"gunicorn calls it; tile fast path): {wsgi50 - raw50:.2f} ms (cold p50 "
            f"{wsgi50:.2f} ms minus raw SQL prepared p50 {raw50:.2f} ms; of which Python "
            f"{wsgi50 - statement50:.2f} ms; warm p50 {wsgi_warm50:.2f} ms)",
        ]

    if not args.no_server:
        lines += throughput(args, tiles, user, SessionStore, cache, services, forget,
                            (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY))  # fmt: skip

    if args.print_only:
        print("\n".join(lines))
        return
    block = record(
        "vector tiles at national scale (bench/tiles.py)",
        lines,
        notes=(
            f"Composite tiles `/tiles/red/z/x/y.mvt` at the substations of a random sample of "
            f"{args.samples} (seed 7), database `{args.db}`. Latency in-process through Django's "
            "test client; the raw SQL is services.tile_sql run on the same connection in the "
            "same run, after one untimed run of it; per tile the median of "
            f"{args.repeat} runs of each. Targets (issue 18): fixed cost at most 0.5 ms per "
            "tile; endpoint cold at most 1.3x the prepared raw SQL at z14 and z12; z10 at most "
            "300 ms. The endpoint runs its statement prepared (planned "
            "once per connection and zoom); the plain raw SQL is planned on every run, the "
            "prepared one is not: the two ratios bracket the endpoint's own overhead."
        ),
    )
    print(block)


def http_get(port: int, path: str, headers: dict) -> tuple[float, int, int]:
    """(seconds, status, body bytes) of one GET on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    body = response.read()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, response.status, len(body)


def run_pass(port: int, paths: list[str], headers: dict, threads: int):
    """Every path once, by `threads` client threads: (seconds, latencies, failures)."""
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
            elapsed, status, _size = http_get(port, path, headers)
            with lock:
                latencies.append(elapsed)
                if status not in (200, 204):
                    failures[0] += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return time.perf_counter() - started, latencies, failures[0]


def rate(label: str, args, result) -> str:
    seconds, latencies, failures = result
    return (
        f"- throughput {label}: {len(latencies) / seconds:.0f} tiles/s "
        f"({len(latencies)} tiles, {args.concurrency} client threads, "
        f"{args.workers} workers; p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"p95 {percentile(latencies, 0.95) * 1000:.1f} ms; {failures} failed)"
    )


def start_server(command: list[str], port: int, env: dict, cwd: Path) -> subprocess.Popen:
    server = subprocess.Popen(command, cwd=cwd, env=env)
    try:
        wait_for_port(port, server)
    except SystemExit:
        server.terminate()
        raise
    return server


def stop_server(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def tipg_python(args) -> str | None:
    """The python given for tipg if it imports tipg and uvicorn, else None (with a note)."""
    if not args.tipg:
        print("tipg: skipped (no --tipg or TIPG_PYTHON: the python of a venv with tipg)")
        return None
    check = subprocess.run(
        [args.tipg, "-c", "import tipg, uvicorn; print(tipg.__version__)"],
        capture_output=True,
        text=True,
    )
    if check.returncode != 0:
        print(f"tipg: skipped ({args.tipg} cannot import tipg and uvicorn)")
        return None
    args.tipg_version = check.stdout.strip()
    return args.tipg


def throughput(args, tiles, user, SessionStore, cache, services, forget, keys) -> list[str]:
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
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = start_server(
        [str(gunicorn), "portal.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--log-level", "warning"],
        port, env, ROOT,
    )  # fmt: skip
    tipg = None
    try:
        headers = {"Cookie": f"sessionid={session.session_key}"}
        # Warm the workers' connections and imports on a tile outside the measured set.
        for _ in range(args.workers * 2):
            http_get(port, "/tiles/red/3/2/4.mvt", headers)
        cache.clear()
        lines = [
            rate("cold (cache emptied first: every tile rendered and stored), gunicorn", args,
                 run_pass(port, paths, headers, args.concurrency)),
            rate("warm (same tiles again: cache hits), gunicorn", args,
                 run_pass(port, paths, headers, args.concurrency)),
        ]  # fmt: skip

        python = tipg_python(args)
        if python is None:
            return lines
        tipg_port = free_port()
        tables = sorted({table for _layer, _z, table, _geom in SIDE_BY_SIDE})
        tipg_env = {
            "PATH": os.environ.get("PATH", ""),
            "DATABASE_URL": f"postgresql://{os.environ.get('DB_USER', 'portal')}:"
            f"{os.environ.get('DB_PASSWORD', 'portal')}@{os.environ.get('DB_HOST', '127.0.0.1')}:"
            f"{os.environ.get('DB_PORT', '5433')}/{args.db}",
            "TIPG_DB_SCHEMAS": '["public"]',
            "TIPG_DB_TABLES": json.dumps(tables),
            # No extents at start-up: a scan of 2 M rows per table, unused by the tiles.
            "TIPG_DB_SPATIAL_EXTENT": "false",
            "TIPG_DB_DATETIME_EXTENT": "false",
        }
        tipg = start_server(
            [python, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1",
             "--port", str(tipg_port), "--workers", str(args.workers), "--log-level", "warning"],
            tipg_port, tipg_env, Path("/tmp"),
        )  # fmt: skip

        def tipg_path(table: str, geom: str, z: int, x: int, y: int) -> str:
            return f"/collections/{table}/tiles/WebMercatorQuad/{z}/{x}/{y}?geom-column={geom}"

        for _ in range(args.workers * 2):
            for _layer, z, table, geom in SIDE_BY_SIDE:
                http_get(tipg_port, tipg_path(table, geom, z, *tiles[z][0]), {})
        for layer, z, table, geom in SIDE_BY_SIDE:
            ours_cold, ours_warm, theirs, sizes, their_sizes = [], [], [], [], []
            for x, y in tiles[z]:
                runs = {"cold": [], "warm": [], "tipg": []}
                for _ in range(args.repeat):
                    forget(z, x, y, layer)
                    path = f"/tiles/{layer}/{z}/{x}/{y}.mvt"
                    elapsed, status, size = http_get(port, path, headers)
                    runs["cold"].append(elapsed)
                    elapsed, _status, _size = http_get(port, path, headers)
                    runs["warm"].append(elapsed)
                    elapsed, their_status, their_size = http_get(
                        tipg_port, tipg_path(table, geom, z, x, y), {}
                    )
                    runs["tipg"].append(elapsed)
                    if status not in (200, 204) or their_status not in (200, 204):
                        raise SystemExit(f"{layer} {z}/{x}/{y}: {status}, tipg {their_status}")
                sizes.append(size)
                their_sizes.append(their_size)
                ours_cold.append(statistics.median(runs["cold"]))
                ours_warm.append(statistics.median(runs["warm"]))
                theirs.append(statistics.median(runs["tipg"]))
            cold50, warm50, tipg50 = (
                statistics.median(v) * 1000 for v in (ours_cold, ours_warm, theirs)
            )
            lines.append(
                f"- tipg {args.tipg_version} side by side, `{layer}` z{z} ({len(theirs)} tiles, "
                f"ours {statistics.median(sizes) / 1024:.1f} kB median, tipg "
                f"{statistics.median(their_sizes) / 1024:.1f} kB) over HTTP, one at a time: "
                f"ours cold p50 {cold50:.1f} ms, p95 {percentile(ours_cold, 0.95) * 1000:.1f} ms; "
                f"ours warm p50 {warm50:.1f} ms; tipg p50 {tipg50:.1f} ms, "
                f"p95 {percentile(theirs, 0.95) * 1000:.1f} ms (tipg/ours cold p50 ratio "
                f"{tipg50 / cold50:.2f})"
            )
            # Concurrency over the 3x3 block of tiles around each: ours cold, then tipg.
            around = [
                (x + dx, y + dy) for x, y in tiles[z] for dx in (-1, 0, 1) for dy in (-1, 0, 1)
            ]
            around = list(dict.fromkeys(around))
            ours = [f"/tiles/{layer}/{z}/{x}/{y}.mvt" for x, y in around]
            cache.clear()
            lines.append(rate(f"`{layer}` z{z} ours cold, gunicorn", args,
                              run_pass(port, ours, headers, args.concurrency)))  # fmt: skip
            theirs_paths = [tipg_path(table, geom, z, x, y) for x, y in around]
            lines.append(rate(f"`{layer}` z{z} tipg, uvicorn", args,
                              run_pass(tipg_port, theirs_paths, {}, args.concurrency)))  # fmt: skip
        return lines
    finally:
        if tipg is not None:
            stop_server(tipg)
        stop_server(server)
        session.delete()


if __name__ == "__main__":
    main()
