#!/usr/bin/env python
"""The capacity computation at national scale (issue 16): every feeder recomputed, one feeder
incrementally, and pandapower's time on the same feeders as the anchor.

    .venv/bin/python bench/capacity.py [--db portal_bench] [--runs 3] [--sample 8]

1. Data. A national set seeded before the capacity data existed lacks the conductor types,
   the transformers' vk and the substations' upstream short-circuit power: they are filled in
   by the seed's own rules (network.services.synthetic.CONDUCTORS / vk_percent,
   network.services.seed.upstream_short_circuit), in one transaction with the capture
   triggers disabled (a bench database, not a copy SEC keeps), and only where missing.
2. Every feeder: `capacity.services.compute.compute()` (read, engine, COPY of every pole's
   row, one transaction per substation), --runs times; min / median / max. Target: 5 min.
3. One feeder incrementally: `compute([feeder])` for the feeder with the most poles (its
   substation's feeders are computed with it, as a topology change does). Target: 1 s.
4. pandapower (the tests' oracle), on the same forests: `calc_sc` for Ik''3 max, Ik''3 min and
   Ik''1 min, and the AC bisection of the hosting capacity at a few poles, on the one-feeder
   substation and on --sample random substations; extrapolated by poles to the national set
   (said as such). The ratio is pandapower's time to ours.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
BISECTION_POLES = 3  # poles of each sampled substation bisected with pandapower


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(db: str) -> None:
    os.environ["DB_NAME"] = db
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    import django

    django.setup()


def backfill() -> list[str]:
    """The capacity data of a national set seeded without it (see the module's docstring)."""
    from django.db import connection, transaction

    from network.models import ConductorType, PowerTransformer, Substation
    from network.services.seed import upstream_short_circuit
    from network.services.synthetic import CONDUCTOR_CATALOGUE, CONDUCTORS

    notes = []
    tables = ["network_span", "network_transformer", "network_substation",
              "network_conductortype"]  # fmt: skip
    with transaction.atomic(), connection.cursor() as cur:
        for table in tables:
            cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        ConductorType.objects.bulk_create(
            (ConductorType(**row) for row in CONDUCTOR_CATALOGUE), ignore_conflicts=True
        )
        types = dict(ConductorType.objects.values_list("code", "pk"))
        spans = 0
        for material, insulation, _amps, _vnr, code in CONDUCTORS.values():
            cur.execute(
                "UPDATE network_span SET conductor_type_id = %s WHERE conductor_type_id IS NULL "
                "AND conductor_material = %s AND conductor_insulation = %s",
                [types[code], material, insulation],
            )
            spans += cur.rowcount
        cur.execute(
            "UPDATE network_transformer SET vk_percent = CASE WHEN capacity_kva <= 25 THEN 3.0 "
            "WHEN capacity_kva <= 75 THEN 3.5 ELSE 4.0 END, vector_group = connection "
            "WHERE vk_percent IS NULL"
        )
        transformers = cur.rowcount
        sizes: dict[int, list[float]] = {}
        for sid, mva in PowerTransformer.objects.values_list("substation_id", "capacity_mva"):
            sizes.setdefault(sid, []).append(float(mva))
        missing = list(Substation.objects.filter(scc_max_mva__isnull=True))
        for s in missing:
            s.scc_max_mva, s.scc_min_mva, s.scc_rx = upstream_short_circuit(
                s.code, s.high_voltage_kv, sizes[s.pk]
            )
        Substation.objects.bulk_update(missing, ["scc_max_mva", "scc_min_mva", "scc_rx"])
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the deferred foreign keys, checked now
        for table in tables:
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    if spans or transformers or missing:
        notes.append(
            f"capacity data filled in by the seed's rules: {spans:,} spans' conductor type, "
            f"{transformers:,} transformers' vk, {len(missing)} substations' upstream Scc"
        )
    return notes


def stats(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{ordered[0]:.2f} / {statistics.median(ordered):.2f} / {ordered[-1]:.2f}"


def pandapower_time(item, poles_to_bisect: int, rng: random.Random) -> tuple[float, float]:
    """pandapower on one substation's forest: (calc_sc of the three cases, s), (AC bisection
    of the hosting capacity, s per pole)."""
    from tests.capacity import oracle

    f = item.forest
    net = oracle.net_from_forest(f)
    started = time.perf_counter()
    oracle.short_circuit(net)
    sc_seconds = time.perf_counter() - started
    flow = oracle.net_from_forest(f, for_load_flow=True)
    reached = [i for i in range(len(f.parent)) if f.o.reached[i]]
    sample = rng.sample(reached, min(poles_to_bisect, len(reached)))
    started = time.perf_counter()
    for i in sample:
        oracle.hosting_bisection(flow, f"n{i}")
    return sc_seconds, (time.perf_counter() - started) / max(1, len(sample))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", default="portal_bench", help="database with the national set")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=8, help="substations for pandapower")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    setup(args.db)
    warnings.filterwarnings("ignore")
    from django.core.management import call_command
    from django.db.models import Count
    from results import record

    from capacity.models import PoleCapacity
    from capacity.services.compute import compute
    from capacity.services.inputs import load
    from network.models import Feeder, Pole

    call_command("migrate", verbosity=0)
    notes = backfill()
    poles = Pole.objects.count()
    feeders = Feeder.objects.count()
    substations = Feeder.objects.values("substation").distinct().count()
    print(f"{feeders:,} feeders, {poles:,} poles, {substations} substations")

    full = []
    for n in range(args.runs):
        started = time.perf_counter()
        run = compute(None, trigger="bench")
        full.append(time.perf_counter() - started)
        print(
            f"full run {n + 1}: {full[-1]:.1f} s, {run.poles:,} poles, "
            f"{run.without_data} without data"
        )
    stored = PoleCapacity.objects.count()
    rss = peak_rss_mb()

    biggest = (
        Feeder.objects.annotate(n=Count("poles")).order_by("-n").values_list("pk", "code", "n")
    )[0]
    feeder_id, feeder_code, feeder_poles = biggest
    substation_id = Feeder.objects.get(pk=feeder_id).substation_id
    substation_poles = Pole.objects.filter(feeder__substation_id=substation_id).count()
    one = []
    for _ in range(args.runs):
        started = time.perf_counter()
        compute([feeder_id], scope="alimentadores", trigger="bench")
        one.append(time.perf_counter() - started)
    print(f"one feeder {feeder_code}: {stats(one)} s")

    # pandapower on the same forests.
    rng = random.Random(16)
    (item,) = load([substation_id])
    pp_sc_one, pp_hc_pole = pandapower_time(item, BISECTION_POLES, rng)
    ids = sorted(Feeder.objects.values_list("substation_id", flat=True).distinct())
    sampled = rng.sample(ids, min(args.sample, len(ids)))
    sc_total = hc_per_pole = sample_poles = 0.0
    for sid in sampled:
        (sub,) = load([sid])
        sc, hc = pandapower_time(sub, BISECTION_POLES, rng)
        sc_total += sc
        hc_per_pole += hc * len(sub.pole_ids)
        sample_poles += len(sub.pole_ids)
        print(
            f"pandapower {sub.code}: {len(sub.pole_ids)} poles, calc_sc {sc:.2f} s, {hc:.2f} s/pole"
        )
    national_sc = sc_total / sample_poles * poles
    national_hc = hc_per_pole / sample_poles * poles
    ours = statistics.median(full)
    lines = [
        f"- national set: {feeders:,} feeders, {poles:,} poles, {substations} substations; "
        f"{stored:,} poles with values after the runs",
        f"- every national feeder recomputed (compute(), read + engine + COPY): {stats(full)} s "
        f"(target at most 300 s)",
        f"- peak RSS of the bench process after the full runs: {rss:.0f} MB",
        f"- one feeder incrementally ({feeder_code}, {feeder_poles:,} poles; its substation's "
        f"{substation_poles:,} poles computed with it): {stats(one)} s (target at most 1 s)",
        f"- pandapower on that substation: calc_sc (Ik''3 max, Ik''3 min, Ik''1 min) "
        f"{pp_sc_one:.2f} s; AC bisection of the hosting capacity {pp_hc_pole:.2f} s per pole, "
        f"{pp_hc_pole * substation_poles:.0f} s for its poles; ratio to ours at the median "
        f"{(pp_sc_one + pp_hc_pole * substation_poles) / statistics.median(one):.0f}",
        f"- pandapower on {len(sampled)} random substations ({sample_poles:,.0f} poles), "
        f"extrapolated by poles to the national set: calc_sc {national_sc:.0f} s, AC bisection "
        f"{national_hc / 3600:.1f} h; ratio to our full run at the median "
        f"{(national_sc + national_hc) / ours:.0f} (calc_sc alone {national_sc / ours:.1f})",
    ]
    text = "\n".join(lines)
    print(text)
    if not args.no_record:
        record(
            "capacity: national recompute, one feeder, pandapower anchor (bench/capacity.py)",
            lines,
            "Single process (the engine is numpy in one thread; the second core serves "
            "PostgreSQL). pandapower 3 with numba off, as the tests run it; its bisection is "
            "the tests' oracle (tests/capacity/oracle.py: one AC load flow per step, 5 kW "
            "tolerance). " + " ".join(notes),
        )


if __name__ == "__main__":
    main()
