#!/usr/bin/env python
"""Server time of the customer's home page (§4) and its PDF on the national bills table,
against the raw SQL of the same page.

    .venv/bin/python bench/customers.py [--db portal_bench] [--runs 3] [--samples 100]

Needs the national set (bench/seed_national.py) with its CIS history (bench/seed_bills.py).
Each run is a process of its own: one warm-up, then the home page of a deterministic sample of
customers with bills (random, seed 7; a tenth of them EG) requested in-process through Django's
test client as an SEC auditor (who sees every customer), access log included; the statements
each request sent are recorded as sent (sql and params, `connection.execute_wrapper`) and the
baseline replays them on a plain cursor in the same run, writes included. Then the PDF
(`?formato=pdf`) of the first customers of the sample, after one PDF that warms WeasyPrint.
The figures of the runs go to bench/RESULTS.md as min / median / max, in one entry.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from results import percentile  # noqa: E402 (bench/ is on the path from here)

TITLE = "customer home and PDF on 10 M bills (bench/customers.py)"
TARGETS = {"home p95 ms": 100.0, "pdf p95 s": 1.0}


def load_average() -> str:
    return " / ".join(f"{v:.2f}" for v in os.getloadavg())


# --- one run -------------------------------------------------------------------------------------


def label(sql: str) -> str:
    """A statement's verb and first table, to name it in the profile."""
    words = sql.replace('"', "").split()
    verb = words[0].upper()
    pairs = zip(words, words[1:], strict=False)
    table = next((w for p, w in pairs if p.upper() in ("FROM", "INTO")), "?")
    return f"{verb} {table}"


def one_run(args: argparse.Namespace) -> dict:
    os.environ["DB_NAME"] = args.db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()
    # WeasyPrint warns about the screen-only CSS of every page; that is not what is measured.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from accounts.models import User
    from metering.models import MonthlyBill

    if not MonthlyBill.objects.exists():
        raise SystemExit(f"{args.db} has no bills: run bench/seed_bills.py first")
    user, _ = User.objects.get_or_create(username="bench-sec", defaults={"profile": "sec"})
    if user.profile != "sec" or not user.is_active:
        raise SystemExit("user bench-sec exists with another profile or inactive")
    client = Client()
    client.force_login(user)

    with connection.cursor() as cur:
        cur.execute("SELECT max(id) FROM network_customer")
        top = cur.fetchone()[0]

    def with_bills(n: int, eg: bool, rng: random.Random, taken: set[int]) -> list[int]:
        """n customers (EG or not) that have bills, drawn by id; deterministic for a data set."""
        found: list[int] = []
        with connection.cursor() as cur:
            while len(found) < n:
                drawn = [rng.randint(1, top) for _ in range(20 * n)]
                cur.execute(
                    "SELECT c.id FROM network_customer c WHERE c.id = ANY(%s) AND c.is_eg = %s "
                    "AND EXISTS (SELECT 1 FROM metering_monthlybill b WHERE b.customer_id = c.id)",
                    [sorted(set(drawn)), eg],
                )
                fit = {pk for (pk,) in cur.fetchall()}
                for pk in drawn:  # in the order drawn, so the sample spans the whole id range
                    if len(found) < n and pk in fit and pk not in taken:
                        found.append(pk)
                        taken.add(pk)
        return found

    rng = random.Random(args.seed)
    taken: set[int] = set()
    n_eg = max(1, round(args.samples * args.eg_share))
    sample = with_bills(args.samples - n_eg, False, rng, taken) + with_bills(n_eg, True, rng, taken)
    random.Random(args.seed).shuffle(sample)
    warmup = with_bills(3, False, rng, taken) + with_bills(1, True, rng, taken)

    def home(pk: int) -> str:
        return reverse("customers:home", args=[pk])

    def timed_get(url: str, params: dict | None = None) -> float:
        started = time.perf_counter()
        response = client.get(url, params or {})
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise SystemExit(f"{url} {params}: HTTP {response.status_code}")
        return elapsed

    # Warm-up: URL resolution, templates, the session and the first connection.
    for pk in warmup:
        timed_get(home(pk))

    sent: dict[int, list[tuple[str, object]]] = {}
    in_page: dict[str, list[float]] = {}  # statement → its time inside the page, over the sample

    def recorder(statements: list):
        def record(execute, sql, params, many, context):
            statements.append((sql, params))
            started = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                key = f"{len(statements)}. {label(sql)}"
                in_page.setdefault(key, []).append(time.perf_counter() - started)

        return record

    page: list[float] = []
    for pk in sample:
        sent[pk] = []
        with connection.execute_wrapper(recorder(sent[pk])):
            page.append(timed_get(home(pk)))

    each: dict[str, list[float]] = {}  # statement → its raw times, over the sample

    def replay(statements: list[tuple[str, object]]) -> float:
        with connection.cursor() as cur:
            started = time.perf_counter()
            for i, (sql, params) in enumerate(statements):
                at = time.perf_counter()
                cur.execute(sql, params)
                if cur.description is not None:
                    cur.fetchall()
                each.setdefault(f"{i + 1}. {label(sql)}", []).append(time.perf_counter() - at)
            return time.perf_counter() - started

    raw = [replay(sent[pk]) for pk in sample]
    statements = {k: statistics.median(v) * 1000 for k, v in each.items()}
    each.clear()

    def is_bills(sql: str) -> bool:
        return sql.lstrip().startswith("SELECT") and 'FROM "metering_monthlybill"' in sql

    bills_raw = [replay([s for s in sent[pk] if is_bills(s[0])]) for pk in sample]

    # PDF: the first one of the process loads WeasyPrint and its fonts; timed on its own.
    first_pdf = timed_get(home(warmup[0]), {"formato": "pdf"})
    pdf = [timed_get(home(pk), {"formato": "pdf"}) for pk in sample[: args.pdf_samples]]

    # Profile of one request: the statements, their server-side time, the plan of the bills.
    probe = sample[0]
    with CaptureQueriesContext(connection) as captured:
        timed_get(home(probe))
    profile = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
    bills_sql = next(s for s in sent[probe] if is_bills(s[0]))
    selects = [s for s in sent[probe] if s[0].lstrip().startswith("SELECT")]
    slowest = max(selects, key=lambda s: statements[f"{sent[probe].index(s) + 1}. {label(s[0])}"])
    plans = {}
    with connection.cursor() as cur:
        for name, (sql, params) in (("bills", bills_sql), ("slowest select", slowest)):
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            plans[name] = "\n".join(row[0] for row in cur.fetchall())
        cur.execute(
            "SELECT count(*), count(DISTINCT customer_id), min(month), max(month), "
            "pg_total_relation_size('metering_monthlybill'), "
            "pg_relation_size('metering_monthlybill') FROM metering_monthlybill"
        )
        bills, billed, first_month, last_month, total, heap = cur.fetchone()
        cur.execute("SELECT count(*) FROM network_customer WHERE id = ANY(%s) AND is_eg", [sample])
        eg_in_sample = cur.fetchone()[0]

    ms = 1000
    return {
        "home p50 ms": percentile(page, 0.5) * ms,
        "home p95 ms": percentile(page, 0.95) * ms,
        "home max ms": max(page) * ms,
        "raw p50 ms": statistics.median(raw) * ms,
        "raw p95 ms": percentile(raw, 0.95) * ms,
        "ratio p50": percentile(page, 0.5) / statistics.median(raw),
        "ratio p95": percentile(page, 0.95) / percentile(raw, 0.95),
        "bills raw p50 ms": statistics.median(bills_raw) * ms,
        "pdf first s": first_pdf,
        "pdf p50 s": percentile(pdf, 0.5),
        "pdf p95 s": percentile(pdf, 0.95),
        "pdf max s": max(pdf),
        "queries": len(sent[probe]),
        "queries (probe)": len(profile),
        "profile": profile,
        "plans": plans,
        "statements raw p50 ms": statements,
        "statements page p50 ms": {k: statistics.median(v) * 1000 for k, v in in_page.items()},
        "statements page p95 ms": {k: percentile(v, 0.95) * 1000 for k, v in in_page.items()},
        "home slowest at": [page.index(max(page)), sample[page.index(max(page))]],
        "bills": bills,
        "billed customers": billed,
        "bill months": f"{first_month:%Y-%m}–{last_month:%Y-%m}",
        "bills size": total,
        "bills heap": heap,
        "samples": len(sample),
        "eg samples": eg_in_sample,
        "pdf samples": len(pdf),
    }


# --- the runs and the entry --------------------------------------------------------------------


def machine_line() -> str:
    from results import machine

    return machine()


def mmm_statement(runs: list[dict], key: str) -> str:
    values = sorted(r["statements page p50 ms"][key] for r in runs)
    return " / ".join(f"{v:.2f}" for v in (values[0], statistics.median(values), values[-1]))


def write_entry(runs: list[dict], loads: list[tuple[str, str]], args) -> str:
    from results import HEADER, RESULTS

    def mmm(key: str, fmt: str) -> str:
        values = sorted(r[key] for r in runs)
        picked = (values[0], statistics.median(values), values[-1])
        return " / ".join(format(v, fmt) for v in picked)

    last = runs[-1]
    in_page = last["statements page p50 ms"]
    slowest = max(in_page, key=in_page.get)
    lines = [
        f"- bills table (metering_monthlybill): {last['bills']:,} rows for "
        f"{last['billed customers']:,} customers ({last['bill months']}), "
        f"{last['bills size'] / 1024**3:.2f} GiB with indexes "
        f"({last['bills heap'] / 1024**3:.2f} GiB heap)",
        f"- customer home p50: {mmm('home p50 ms', '.1f')} ms",
        f"- customer home p95: {mmm('home p95 ms', '.1f')} ms (target ≤ 100 ms)",
        f"- customer home max: {mmm('home max ms', '.1f')} ms",
        f"- customer home raw SQL p50: {mmm('raw p50 ms', '.2f')} ms",
        f"- customer home raw SQL p95: {mmm('raw p95 ms', '.2f')} ms",
        f"- customer home page/raw ratio at p50: {mmm('ratio p50', '.1f')}",
        f"- customer home page/raw ratio at p95: {mmm('ratio p95', '.1f')}",
        f"- customer home bills query alone, raw p50: {mmm('bills raw p50 ms', '.2f')} ms",
        f"- customer home queries per request: {last['queries']}",
        f"- customer home slowest statement in the page ({slowest.split('. ', 1)[1]}) p50: "
        f"{mmm_statement(runs, slowest)} ms",
        f"- customer home PDF p50: {mmm('pdf p50 s', '.2f')} s",
        f"- customer home PDF p95: {mmm('pdf p95 s', '.2f')} s (target ≤ 1 s)",
        f"- customer home PDF max: {mmm('pdf max s', '.2f')} s",
        f"- customer home PDF, first of the process: {mmm('pdf first s', '.2f')} s",
    ]
    load_text = "; ".join(f"run {i + 1} {a} → {b}" for i, (a, b) in enumerate(loads))
    notes = (
        f"{len(runs)} runs, each a process of its own; figures are min / median / max of the "
        f"runs. {last['samples']} customers with bills per run (random, seed {args.seed}; "
        f"{last['eg samples']} EG), database `{args.db}`, requested as an SEC auditor through "
        "Django's test client after one warm-up (access log writes included); raw SQL = the "
        "statements each request sent (session, user, customer twice, bills, access log "
        "INSERT), replayed on a plain cursor in the same run. PDF: the first "
        f"{last['pdf samples']} customers of the sample, after one PDF that loads WeasyPrint. "
        "Statement times are taken around each execute inside the page and on the replay. "
        "The max is one request at the same place of every run, whatever the customer: a "
        "full (generation 2) garbage collection of the process, 80–130 ms (seen with "
        "gc.callbacks), not the page's data. "
        f"Load average (1 / 5 / 15 min) before → after: {load_text}."
    )
    # The portal's time zone (settings TIME_ZONE), as the other entries are stamped.
    stamp = datetime.now(ZoneInfo("America/Santiago")).strftime("%Y-%m-%d %H:%M %Z")
    header = f"## {stamp}: {TITLE}\n\nMachine: {machine_line()}; load average {loads[0][0]}"
    block = header + " before the first run\n\n" + "\n".join(lines) + "\n"
    block += f"\n{notes}\n"
    old = RESULTS.read_text() if RESULTS.exists() else HEADER
    body = old[len(HEADER) :] if old.startswith(HEADER) else old
    earlier = body.strip("\n")
    RESULTS.write_text(HEADER + "\n" + block + ("\n" + earlier + "\n" if earlier else ""))
    return block


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--runs", type=int, default=3, help="runs, each in a process of its own")
    parser.add_argument("--samples", type=int, default=100, help="customers whose home is timed")
    parser.add_argument("--pdf-samples", type=int, default=15, help="home PDFs to render")
    parser.add_argument("--eg-share", type=float, default=0.1, help="share of EG in the sample")
    parser.add_argument("--seed", type=int, default=7, help="seed of the customer sample")
    parser.add_argument("--no-record", action="store_true", help="print, leave RESULTS.md alone")
    parser.add_argument("--one-run", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one_run:
        print("RESULT " + json.dumps(one_run(args)), flush=True)
        return

    runs: list[dict] = []
    loads: list[tuple[str, str]] = []
    for i in range(args.runs):
        before = load_average()
        command = [sys.executable, __file__, "--one-run", "--db", args.db,
                   "--samples", str(args.samples), "--pdf-samples", str(args.pdf_samples),
                   "--eg-share", str(args.eg_share), "--seed", str(args.seed)]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stderr)
            raise SystemExit(f"run {i + 1} failed")
        line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
        result = json.loads(line[len("RESULT ") :])
        runs.append(result)
        loads.append((before, load_average()))
        figures = {k: round(v, 3) for k, v in result.items() if isinstance(v, float)}
        print(f"run {i + 1}: {json.dumps(figures)}", flush=True)

    last = runs[-1]
    print(f"\nqueries of one home request ({last['queries (probe)']}):")
    for took, sql in last["profile"]:
        print(f"  {took:6.1f} ms  {sql[:160]}")
    print("\neach statement over the sample, per run: in the page p50 (p95); replayed raw p50")
    for key in last["statements raw p50 ms"]:
        times = "; ".join(
            f"{r['statements page p50 ms'][key]:.2f} ({r['statements page p95 ms'][key]:.2f})"
            f" raw {r['statements raw p50 ms'][key]:.2f}"
            for r in runs
        )
        print(f"  {key}: {times} ms")
    print(
        "slowest home request of each run (position in the sample, customer): "
        + ", ".join(str(r["home slowest at"]) for r in runs)
    )
    for name, plan in last["plans"].items():
        print(f"\nEXPLAIN (ANALYZE, BUFFERS), {name} (last run, probe customer):\n{plan}")
    for key, limit in TARGETS.items():
        worst = max(r[key] for r in runs)
        verdict = "met" if worst <= limit else "MISSED"
        print(f"target {key} ≤ {limit}: worst run {worst:.3f} → {verdict}")
    if args.no_record:
        return
    print("\n" + write_entry(runs, loads, args))


if __name__ == "__main__":
    main()
