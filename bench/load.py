#!/usr/bin/env python
"""Load test: 100 concurrent users on the public and SEC flows, logins included (locust).

    .venv/bin/python bench/load.py [--db portal_bench] [--users 100] [--sec-users 30]
        [--spawn-rate 2] [--duration 75] [--runs 3] [--workers 2] [--threads 8]

Needs the national set (bench/seed_national.py) and locust (`pip install -e ".[bench]"`;
`./dev bench` installs it). The portal runs under gunicorn in production mode (DEBUG=false, a
random SECRET_KEY, ALLOWED_HOSTS=127.0.0.1) on a free loopback port, by default 2 gthread
workers of 8 threads (2 cores; a login's PBKDF2 hash releases the GIL, so the other threads
keep serving pages while it runs, where a sync worker is held for the whole login); locust
runs in this process (locust.env.Environment, FastHttpUser), headless, against it. Nothing
leaves the machine. Static files are not requested (DEBUG=false does not serve them; in
production the proxy does, and browsers cache them).

Users, each a real account created here (bench_public_N, profile public; bench_sec_N, profile
SEC; password PASSWORD below, one PBKDF2 hash computed once and given to all):

- public (users - sec-users of them): the home page anonymously, then the real login form
  (GET for the CSRF token, POST), then, with a think time of --think-min..--think-max seconds
  between actions: the home page, the location search (/red/buscar/) at comuna and at
  substation level, substation, feeder and transformer detail pages, a map view (6 vector
  tiles of a 3x2 block around an asset at z10, z12 or z14, fetched 3 at a time as a browser
  does) and the VNR page. Assets are real ids drawn from the database (seeded).
- SEC (--sec-users): log in through the same form, then the customer search /clientes/ by
  number, RUT and address (values drawn from real customers; addresses as an auditor types
  them, bench/sec_search.py's mix), the customer's page (/clientes/<pk>/, the customer last
  found), the access log page (/registro-de-accesos/), and rarely (weight 1 of 121) a logout
  and a new login.

Every user logs in once when it starts: logins arrive at --spawn-rate a second during the ramp
(users / spawn rate seconds), then only the SEC re-logins. Each run lasts the ramp plus
--duration seconds; every run starts a fresh set of users (new sessions) on the same server.
The login form has no captcha (only registration has one), so CAPTCHA_TEST_MODE is not needed
and not set. The login throttle (AXES_FAILURE_LIMIT per username and address,
LOGIN_FAILURES_PER_ADDRESS per address, all users come from 127.0.0.1) stays on: successful
logins do not count; a failed one is an error of this bench, and the run stops before a
failure could lock the address.

Every request must answer what a browser would see (200; tiles 200 or 204; the login POST a
302 away from the login page); anything else (a redirect to the login page, 4xx, 5xx, a
time-out, a connection error) is an error. Figures per run: requests, rps, p50/p95/max over
all requests (also over the steady phase after the ramp), p95 per flow, errors by kind, the
server's own time per flow (gunicorn's access log, %(D)s: from the request read to the
response written, without the wait for a free worker), CPU seconds used by gunicorn, by
PostgreSQL's backends of this database, by the load generator and by everything else on the
machine, and the load average before and after. Summary: min / median / max of the runs,
prepended to bench/RESULTS.md. Exit status 1 when any request errored. Target: p95 at most
300 ms and no errors.
"""

from __future__ import annotations

import argparse
import collections
import gc
import itertools
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

import gevent
import gevent.pool

# locust patches the standard library for gevent when imported (before any socket is opened or
# thread started: the modules above only define things).
import locust
import psutil
from locust import FastHttpUser, between, task
from locust.env import Environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import free_port, percentile, wait_for_port  # noqa: E402 (bench/ is on the path from here)

PASSWORD = "bench-load-clave-2026"  # the bench accounts' password (portal_bench only)
LOGIN_URL = "/cuentas/ingresar/"
LOGOUT_URL = "/cuentas/salir/"
ZOOMS = (10, 12, 14)
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
TARGET_P95_MS = 300

# Flows of the report: the part of each request name before the slash.
FLOWS = {
    "public": "public pages",
    "tiles": "tiles",
    "sec-search": "SEC search",
    "customer": "customer page",
    "access-log": "access log",
    "login": "login POST (one password hash)",
    "login-form": "login form GET",
    "logout": "logout",
}


def flow_of_path(method: str, path: str) -> str:
    """The report's flow of a request as gunicorn logged it (the same names as the client's)."""
    path, _, query = path.partition("?")
    if path.startswith("/tiles/"):
        return "tiles"
    if path == LOGIN_URL:
        return "login" if method == "POST" else "login-form"
    if path == LOGOUT_URL:
        return "logout"
    if path == "/clientes/":
        return "sec-search"
    if path.startswith("/clientes/"):
        return "customer"
    if path.startswith("/registro-de-accesos/"):
        return "access-log"
    return "public"


# ---------------------------------------------------------------------------------------------
# Preparation (Django ORM, in this process, before any load)


def prepare(args) -> dict:
    """Bench accounts and the real ids and values the users draw from."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from sec_search import queries

    from accounts.models import User
    from network.models import Customer, Feeder, Substation, Transformer
    from vnr.models import VnrCode

    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    hashed = make_password(PASSWORD)  # once: the same hash for every bench account
    names = {
        "public": [f"bench_public_{n}" for n in range(args.users - args.sec_users)],
        "sec": [f"bench_sec_{n}" for n in range(args.sec_users)],
    }
    for profile, usernames in names.items():
        have = set(User.objects.filter(username__in=usernames).values_list("username", flat=True))
        User.objects.bulk_create(
            User(username=u, profile=profile, password=hashed, is_active=True)
            for u in usernames
            if u not in have
        )
        # A new hash each preparation: sessions of earlier runs end (the session hash changes).
        User.objects.filter(username__in=usernames).update(
            password=hashed, profile=profile, is_active=True
        )

    def sample_ids(model, n: int) -> list[int]:
        high = model.objects.order_by("-pk").values_list("pk", flat=True).first()
        ids: set[int] = set()
        while len(ids) < n:
            ids.add(rng.randint(1, high))
        return sorted(ids)

    substations = list(
        Substation.objects.filter(pk__in=sample_ids(Substation, 120))
        .select_related("comuna__region")
        .only("pk", "location", "comuna__code", "comuna__region__code")
    )
    feeders = list(
        Feeder.objects.filter(pk__in=sample_ids(Feeder, 300)).values_list("pk", flat=True)
    )
    transformers = list(
        Transformer.objects.filter(pk__in=sample_ids(Transformer, 300)).only("pk", "location")
    )
    customers = list(
        Customer.objects.filter(pk__in=sample_ids(Customer, 400), rut__isnull=False).values(
            "pk", "number", "rut", "address"
        )
    )
    typed = queries([c["address"] for c in customers], random.Random(7))
    for c, text in zip(customers, typed, strict=True):
        c["typed"] = text
    from maps.tiles import services

    views = []
    for point in [s.location for s in substations] + [t.location for t in transformers]:
        z = ZOOMS[len(views) % len(ZOOMS)]
        tx, ty = (int(v) for v in services.lonlat_to_tile(point.x, point.y, z))
        views.append([(z, x, y) for y in (ty, ty + 1) for x in (tx - 1, tx, tx + 1)])
    return {
        "users": names,
        "grids": [
            {"region": s.comuna.region.code, "comuna": s.comuna.code, "subestacion": s.pk}
            for s in substations
        ],
        "substations": [s.pk for s in substations],
        "feeders": feeders,
        "transformers": [t.pk for t in transformers],
        "vnr": list(VnrCode.objects.values_list("code", flat=True)),
        "customers": customers,
        "tile_views": views,
        "throttle": (settings.AXES_FAILURE_LIMIT, settings.LOGIN_FAILURES_PER_ADDRESS),
        "cooloff": settings.AXES_COOLOFF_TIME,
    }


def reset_before_run(data: dict) -> int:
    """The sample's tiles out of the cache (every run renders them once, then hits); the bench
    accounts' failed-login rows (ours) cleared; return the failures from 127.0.0.1 still
    counting against the address limit."""
    from axes.models import AccessAttempt
    from django.db import connection
    from django.utils import timezone

    tiles = sorted({t for view in data["tile_views"] for t in view})
    with connection.cursor() as cur:
        values = ", ".join(["(%s, %s, %s)"] * len(tiles))
        cur.execute(
            f"DELETE FROM geo_tilecache WHERE layer = 'red' AND (z, x, y) IN (VALUES {values})",
            [v for t in tiles for v in t],
        )
    mine = data["users"]["public"] + data["users"]["sec"]
    AccessAttempt.objects.filter(username__in=mine).delete()
    since = timezone.now() - data["cooloff"]
    attempts = AccessAttempt.objects.filter(ip_address="127.0.0.1", attempt_time__gte=since)
    return sum(a.failures_since_start for a in attempts)


# ---------------------------------------------------------------------------------------------
# The users (locust)

DATA: dict = {}
ACCOUNTS: dict[str, itertools.count] = {}


class PortalUser(FastHttpUser):
    abstract = True
    profile = ""
    network_timeout = 60.0
    connection_timeout = 60.0

    def on_start(self) -> None:
        n = next(ACCOUNTS[self.profile])
        self.username = DATA["users"][self.profile][n % len(DATA["users"][self.profile])]
        self.rng = random.Random(f"{self.username}-{DATA['run']}")
        self.login()

    def page(self, url: str, name: str, params: dict | None = None, ok=(200,)) -> str:
        """GET url; anything but `ok` (a redirect to the login page included) is an error."""
        if params:
            url = f"{url}?{urlencode(params)}"
        with self.client.get(url, name=name, allow_redirects=False, catch_response=True) as r:
            if r.status_code not in ok:
                where = r.headers.get("Location", "") if r.headers else ""
                r.failure(f"HTTP {r.status_code}" + (f" -> {where.split('?')[0]}" if where else ""))
                return ""
            r.success()
            return r.text or ""

    def login(self) -> None:
        form = self.page(LOGIN_URL, "login-form/GET")
        token = CSRF_INPUT.search(form)
        if token is None:
            return
        body = urlencode(
            {"username": self.username, "password": PASSWORD, "csrfmiddlewaretoken": token[1]}
        )
        with self.client.post(
            LOGIN_URL,
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            name="login/POST",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            where = r.headers.get("Location", "") if r.headers else ""
            if r.status_code != 302 or where.startswith(LOGIN_URL):
                r.failure(f"login refused: HTTP {r.status_code} {where}")
                DATA["login_failures"] += 1
                if DATA["login_failures"] >= 3:
                    # Stop well before LOGIN_FAILURES_PER_ADDRESS could lock 127.0.0.1.
                    self.environment.runner.quit()
            else:
                r.success()

    def logout(self) -> None:
        token = next((c.value for c in self.client.cookiejar if c.name == "csrftoken"), "")
        with self.client.post(
            LOGOUT_URL,
            data=urlencode({"csrfmiddlewaretoken": token}),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            name="logout/POST",
            allow_redirects=False,
            catch_response=True,
        ) as r:
            if r.status_code != 302:
                r.failure(f"logout: HTTP {r.status_code}")
            else:
                r.success()


class PublicUser(PortalUser):
    profile = "public"

    def on_start(self) -> None:
        self.page("/", "public/home anonymous")
        super().on_start()

    @task(1)
    def home(self) -> None:
        self.page("/", "public/home")

    @task(3)
    def search_comuna(self) -> None:
        grid = self.rng.choice(DATA["grids"])
        params = {"region": grid["region"], "comuna": grid["comuna"]}
        self.page("/red/buscar/", "public/search comuna", params)

    @task(2)
    def search_substation(self) -> None:
        self.page("/red/buscar/", "public/search substation", self.rng.choice(DATA["grids"]))

    @task(2)
    def substation(self) -> None:
        pk = self.rng.choice(DATA["substations"])
        self.page(f"/red/subestaciones/{pk}/", "public/substation detail")

    @task(2)
    def feeder(self) -> None:
        self.page(f"/red/alimentadores/{self.rng.choice(DATA['feeders'])}/", "public/feeder detail")

    @task(2)
    def transformer(self) -> None:
        pk = self.rng.choice(DATA["transformers"])
        self.page(f"/red/transformadores/{pk}/", "public/transformer detail")

    @task(3)
    def map_view(self) -> None:
        view = self.rng.choice(DATA["tile_views"])
        pool = gevent.pool.Pool(3)  # a browser's parallel fetches (HTTP/1.1)
        for z, x, y in view:
            pool.spawn(self.page, f"/tiles/red/{z}/{x}/{y}.mvt", f"tiles/z{z}", None, (200, 204))
        pool.join()

    @task(1)
    def vnr(self) -> None:
        self.page("/red/vnr/", "public/vnr", {"codigo": self.rng.choice(DATA["vnr"])})


class SecUser(PortalUser):
    profile = "sec"

    def on_start(self) -> None:
        super().on_start()
        self.customer = self.rng.choice(DATA["customers"])

    @task(20)
    def by_number(self) -> None:
        c = self.rng.choice(DATA["customers"])
        self.page("/clientes/", "sec-search/numero", {"por": "numero", "q": c["number"]})
        self.customer = c

    @task(20)
    def by_rut(self) -> None:
        c = self.rng.choice(DATA["customers"])
        self.page("/clientes/", "sec-search/rut", {"por": "rut", "q": c["rut"]})
        self.customer = c

    @task(30)
    def by_address(self) -> None:
        c = self.rng.choice(DATA["customers"])
        self.page("/clientes/", "sec-search/direccion", {"por": "direccion", "q": c["typed"]})
        self.customer = c

    @task(40)
    def customer_page(self) -> None:
        self.page(f"/clientes/{self.customer['pk']}/", "customer/home")

    @task(10)
    def access_log(self) -> None:
        self.page("/registro-de-accesos/", "access-log/page")

    @task(1)
    def relogin(self) -> None:
        self.logout()
        self.login()


# ---------------------------------------------------------------------------------------------
# Measurements around a run


def cpu_busy() -> float:
    """Busy CPU seconds of the whole machine so far (/proc/stat, all cores)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class CpuSampler:
    """CPU seconds of gunicorn (master and workers) and of PostgreSQL's backends connected to
    the bench database, sampled every second (a backend that ends between two samples loses at
    most a second)."""

    def __init__(self, gunicorn_pid: int, db: str) -> None:
        self.master = psutil.Process(gunicorn_pid)
        self.db = db
        self.first: dict[tuple[str, int], float] = {}
        self.last: dict[tuple[str, int], float] = {}
        self.running = True
        self.sample(initial=True)
        self.greenlet = gevent.spawn(self.loop)

    def processes(self):
        for p in [self.master, *self.master.children(recursive=True)]:
            yield "gunicorn", p
        for p in psutil.process_iter(["name", "cmdline"]):
            cmd = " ".join(p.info["cmdline"] or [])
            if p.info["name"] == "postgres" and f" {self.db} " in f"{cmd} ":
                yield "postgres", p

    def sample(self, initial: bool = False) -> None:
        for kind, p in self.processes():
            try:
                t = p.cpu_times()
            except psutil.Error:
                continue
            key = (kind, p.pid)
            self.first.setdefault(key, t.user + t.system if initial else 0.0)
            self.last[key] = t.user + t.system

    def loop(self) -> None:
        while self.running:
            gevent.sleep(1.0)
            self.sample()

    def stop(self) -> dict[str, float]:
        self.running = False
        self.greenlet.kill()
        self.sample()
        used: dict[str, float] = collections.defaultdict(float)
        for key, value in self.last.items():
            used[key[0]] += value - self.first.get(key, 0.0)
        return dict(used)


def server_times(log: Path, start: int) -> tuple[dict[str, list[float]], int]:
    """Per flow, the server's time (ms) of each request in gunicorn's access log after byte
    `start`; and the log's length."""
    text = log.read_bytes()
    out: dict[str, list[float]] = collections.defaultdict(list)
    for line in text[start:].decode(errors="replace").splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4:
            continue
        status, micros, method, path = parts
        out[flow_of_path(method, path.split(" ")[0])].append(int(micros) / 1000)
    return out, len(text)


def one_run(args, data: dict, host: str, server: subprocess.Popen, log: Path, n: int) -> dict:
    from django.db import connection

    failures_from_address = reset_before_run(data)
    limit = data["throttle"][1]
    if failures_from_address >= limit - 5:
        raise SystemExit(
            f"{failures_from_address} failed logins from 127.0.0.1 in the cool-off window, near "
            f"LOGIN_FAILURES_PER_ADDRESS={limit}: wait for the cool-off, then run again."
        )
    connection.close()  # no idle connection of ours during the run
    DATA.clear()
    DATA.update(data, run=n, login_failures=0)
    ACCOUNTS.clear()
    ACCOUNTS.update(public=itertools.count(), sec=itertools.count())
    PublicUser.weight = args.users - args.sec_users
    SecUser.weight = args.sec_users
    PortalUser.wait_time = between(args.think_min, args.think_max)

    samples: list[tuple[float, str, float, str | None]] = []

    def on_request(name, response_time, exception, start_time, **_):
        samples.append(
            (start_time, name, response_time, None if exception is None else str(exception))
        )

    env = Environment(user_classes=[PublicUser, SecUser], host=host)
    env.events.request.add_listener(on_request)
    runner = env.create_local_runner()
    ramp = args.users / args.spawn_rate
    total = ramp + args.duration
    load_before = os.getloadavg()
    log_start = log.stat().st_size
    sampler = CpuSampler(server.pid, args.db)
    me = psutil.Process()
    me_before = sum(me.cpu_times()[:2])
    busy_before = cpu_busy()
    started = time.time()
    runner.start(args.users, spawn_rate=args.spawn_rate)
    gevent.spawn_later(total, runner.quit)
    runner.greenlet.join()
    elapsed = time.time() - started
    busy = cpu_busy() - busy_before
    mine = sum(me.cpu_times()[:2]) - me_before
    used = sampler.stop()
    load_after = os.getloadavg()
    env.events.request.remove_listener(on_request)
    gevent.sleep(0.5)  # gunicorn writes its access log after the response
    on_server, _ = server_times(log, log_start)

    times = [s[2] for s in samples]
    steady = [s[2] for s in samples if s[0] >= started + ramp]
    errors = collections.Counter(f"{s[1]}: {s[3]}" for s in samples if s[3] is not None)
    by_flow: dict[str, list[float]] = collections.defaultdict(list)
    by_name: dict[str, list[float]] = collections.defaultdict(list)
    for s in samples:
        by_flow[s[1].split("/")[0]].append(s[2])
        by_name[s[1]].append(s[2])
    result = {
        "requests": len(samples),
        "rps": len(samples) / elapsed,
        "p50": percentile(times, 0.5),
        "p95": percentile(times, 0.95),
        "p99": percentile(times, 0.99),
        "max": max(times),
        "steady p95": percentile(steady, 0.95) if steady else float("nan"),
        "errors": sum(errors.values()),
        "error kinds": errors,
        "seconds": elapsed,
        "ramp": ramp,
        "load before": load_before,
        "load after": load_after,
        "cpu machine": busy,
        "cpu gunicorn": used.get("gunicorn", 0.0),
        "cpu postgres": used.get("postgres", 0.0),
        "cpu locust": mine,
        "logins": len(by_name.get("login/POST", [])),
    }
    result["cpu others"] = busy - result["cpu gunicorn"] - result["cpu postgres"] - mine
    for flow in FLOWS:
        if by_flow.get(flow):
            result[f"{flow} p95"] = percentile(by_flow[flow], 0.95)
            result[f"{flow} n"] = len(by_flow[flow])
        if on_server.get(flow):
            result[f"{flow} server p95"] = percentile(on_server[flow], 0.95)
    result["by name"] = {
        k: (len(v), percentile(v, 0.5), percentile(v, 0.95)) for k, v in by_name.items()
    }
    return result


def start_server(args, log: Path, err: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DB_NAME": args.db,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("CAPTCHA_TEST_MODE", None)  # the login form has no captcha
    command = [
        str(ROOT / ".venv/bin/gunicorn"),
        "portal.wsgi:application",
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(args.workers),
        "--access-logfile", str(log),
        "--access-logformat", "%(s)s %(D)s %(m)s %(U)s",
        "--error-logfile", str(err),
        "--log-level", "warning",
        "--timeout", "60",
    ]  # fmt: skip
    if args.threads > 1:
        command += ["--worker-class", "gthread", "--threads", str(args.threads)]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    wait_for_port(port, server)
    # Warm every worker (imports, the first connection) outside the measured runs.
    import http.client

    for _ in range(args.workers * 3):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", LOGIN_URL)
        conn.getresponse().read()
        conn.close()
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--users", type=int, default=100, help="concurrent users in all")
    parser.add_argument("--sec-users", type=int, default=30, help="of them, SEC auditors")
    parser.add_argument("--spawn-rate", type=float, default=2.0, help="users started a second")
    parser.add_argument("--duration", type=float, default=75, help="seconds after the ramp")
    parser.add_argument("--runs", type=int, default=3, help="runs (fresh users each)")
    parser.add_argument("--think-min", type=float, default=2.0, help="think time, seconds")
    parser.add_argument("--think-max", type=float, default=6.0, help="think time, seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=8, help="threads a worker (gthread); 1: sync"
    )
    parser.add_argument("--no-record", action="store_true", help="print, leave RESULTS.md alone")
    parser.add_argument("--note", default="", help="a sentence added to RESULTS.md's notes")
    args = parser.parse_args()
    if not 0 <= args.sec_users <= args.users:
        parser.error("--sec-users must be between 0 and --users")

    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    import logging

    logging.getLogger("locust").setLevel(logging.WARNING)
    from results import record

    from network.models import Customer

    data = prepare(args)
    gc.collect()  # the sample's geometries freed now, not by a greenlet or at exit
    customers = Customer.objects.count()
    work = Path(tempfile.mkdtemp(prefix="portal-load-"))
    log, err = work / "access.log", work / "error.log"
    log.touch()
    server, host = start_server(args, log, err)
    runs = []
    try:
        for n in range(1, args.runs + 1):
            result = one_run(args, data, host, server, log, n)
            runs.append(result)
            print(
                f"run {n}: {result['requests']} requests, {result['rps']:.1f} rps, "
                f"p50 {result['p50']:.0f} ms, p95 {result['p95']:.0f} ms, max "
                f"{result['max']:.0f} ms, {result['errors']} errors; load "
                f"{result['load before'][0]:.2f} -> {result['load after'][0]:.2f}"
            )
            for name, (count, p50, p95) in sorted(result["by name"].items()):
                print(f"    {name:32} {count:6d}  p50 {p50:7.1f}  p95 {p95:7.1f} ms")
            for kind, count in result["error kinds"].most_common(10):
                print(f"    error x{count}: {kind}")
            if n < args.runs:
                time.sleep(5)
    finally:
        server.terminate()
        server.wait(timeout=30)
    errors_text = err.read_text()[-2000:] if err.exists() else ""

    def mmm(key: str, fmt: str = "{:.0f}", unit: str = " ms") -> str:
        values = sorted(r[key] for r in runs if key in r)
        if not values:
            return "n/a"
        return (
            " / ".join(fmt.format(v) for v in (values[0], statistics.median(values), values[-1]))
            + unit
        )

    error_kinds = collections.Counter()
    for r in runs:
        error_kinds.update(r["error kinds"])
    errors = sum(r["errors"] for r in runs)
    lines = [
        f"- users: {args.users} ({args.users - args.sec_users} public, {args.sec_users} SEC), "
        f"spawn rate {args.spawn_rate:g}/s (ramp {args.users / args.spawn_rate:.0f} s, one login "
        f"per user), then {args.duration:g} s; think time {args.think_min:g}–{args.think_max:g} s; "
        f"gunicorn {args.workers} {'sync' if args.threads == 1 else f'gthread x{args.threads}'} "
        f"workers; customers in the set: {customers:,}",
        f"- run length: {mmm('seconds', '{:.0f}', ' s')}",
        f"- requests per run: {mmm('requests', '{:.0f}', '')}; logins (POST) per run: "
        f"{mmm('logins', '{:.0f}', '')}",
        f"- throughput: {mmm('rps', '{:.1f}', ' rps')}",
        f"- all requests p50: {mmm('p50')}",
        f"- all requests p95: {mmm('p95')} (target ≤ {TARGET_P95_MS} ms)",
        f"- all requests p99: {mmm('p99')}",
        f"- all requests max: {mmm('max')}",
        f"- steady phase (after the ramp) p95: {mmm('steady p95')}",
    ]
    for flow, label in FLOWS.items():
        if any(f"{flow} p95" in r for r in runs):
            lines.append(
                f"- {label} p95: {mmm(f'{flow} p95')} (server's own time p95 "
                f"{mmm(f'{flow} server p95')}; {mmm(f'{flow} n', '{:.0f}', '')} requests)"
            )
    lines += [
        f"- errors: {errors} in all"
        + (
            " ("
            + "; ".join(f"{count} × {kind}" for kind, count in error_kinds.most_common(8))
            + ")"
            if errors
            else ""
        ),
        f"- CPU seconds per run: machine {mmm('cpu machine', '{:.0f}', '')}, gunicorn "
        f"{mmm('cpu gunicorn', '{:.0f}', '')}, PostgreSQL backends of `{args.db}` "
        f"{mmm('cpu postgres', '{:.0f}', '')}, load generator {mmm('cpu locust', '{:.0f}', '')}, "
        f"everything else {mmm('cpu others', '{:.0f}', '')} (of {os.cpu_count()} cores × the "
        "run length)",
        "- load average (1 / 5 / 15 min) before → after: "
        + "; ".join(
            f"run {n} "
            + " / ".join(f"{v:.2f}" for v in r["load before"])
            + " → "
            + " / ".join(f"{v:.2f}" for v in r["load after"])
            for n, r in enumerate(runs, 1)
        ),
    ]
    print("\n".join(lines))
    if errors_text.strip():
        print("gunicorn error log (tail):\n" + errors_text)
    if not args.no_record:
        record(
            "100 concurrent users, public and SEC flows with logins (bench/load.py)"
            if args.users == 100
            else f"{args.users} concurrent users, public and SEC flows (bench/load.py)",
            lines,
            f"{args.runs} runs; figures are min / median / max of the runs. locust "
            f"{locust.__version__} (FastHttpUser, headless, in-process) against gunicorn on "
            "loopback, production settings (DEBUG=false), database "
            f"`{args.db}`; every user logs in through the real form (no captcha on it; the "
            "login throttle on), SEC users log out and in again at 1 action in 121. Latencies "
            "are the client's (locust's); the server's own time is gunicorn's %(D)s, without "
            "the wait for a free worker. Static files not requested."
            + (f" {args.note}" if args.note else ""),
        )
    # os._exit: at interpreter exit, GEOS pointers that Django still holds are freed through a
    # gevent-patched threading.local that is already gone (a harmless but noisy traceback).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if errors else 0)


if __name__ == "__main__":
    main()
