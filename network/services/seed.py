"""The network part of `seed_demo` (portal.services.seed_demo orchestrates it with the other
apps' seeds): a synthetic distributor at demo or national scale, loaded with COPY."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.contrib.gis.geos import Point
from django.db import connection, transaction
from tqdm import tqdm

from core.months import today
from geo.demo import COMUNAS as DEMO_COMUNAS
from geo.demo import ensure_demo_geography
from geo.models import Comuna
from network.models import ConductorType, Distributor, PowerTransformer, Substation
from network.services import bulk
from network.services.synthetic import (
    CONDUCTOR_CATALOGUE,
    MV_LEVELS,
    STREETS,
    VNR_CATALOGUE,
    FeederPlan,
    FeederRows,
    NetworkGenerator,
    vnr_costs,
)
from network.services.topology import announce_replaced
from vnr.models import VnrCode


class SeedRefused(Exception):
    """The database holds data that is not ours to overwrite."""


@dataclass(frozen=True)
class Scale:
    substations: int
    feeders_per_substation: tuple[int, int]
    poles_per_feeder: tuple[int, int]
    subfeeder_share: float
    batch_feeders: int


SCALES = {
    "demo": Scale(10, (2, 4), (100, 400), 0.3, 50),
    "national": Scale(410, (6, 9), (400, 960), 0.3, 120),
}

# Children first: the order rows are truncated in and the tables whose indexes are rebuilt.
TABLES = {
    "customers": ("network_customer", (
        "id", "as_of", "distributor_id", "number", "rut", "name", "email", "phone", "address",
        "comuna_id", "billing_day", "service_capacity_kw", "transformer_id", "location", "is_eg",
        "eg_capacity_kw", "eg_technology", "eg_connected_on", "tariff")),
    "demands": ("demand_monthlydemand", (
        "id", "as_of", "feeder_id", "transformer_id", "month", "max_kw", "min_kw",
        "excludes_load_transfer")),
    "transformers": ("network_transformer", (
        "id", "as_of", "distributor_id", "code", "plate", "name", "feeder_id", "pole_id",
        "capacity_kva", "connection", "primary_kv", "secondary_v", "kind", "phases", "location",
        "vnr_id", "smmc", "vector_group", "vk_percent")),
    "settings": ("network_equipmentsetting", (
        "id", "as_of", "equipment_id", "month", "capacity_a", "capacity_kva", "connection",
        "operating_mode", "voltage_setpoints", "transformation_ratio")),
    "equipment": ("network_equipment", (
        "id", "as_of", "distributor_id", "code", "feeder_id", "pole_id", "kind", "capacity_a",
        "capacity_kva", "connection", "operating_mode", "voltage_setpoints",
        "transformation_ratio", "vnr_id", "location")),
    "spans": ("network_span", (
        "id", "as_of", "distributor_id", "code", "feeder_id", "from_pole_id", "to_pole_id",
        "length_m", "conductor_material", "conductor_insulation", "capacity_a", "phases",
        "vnr_id", "geom", "conductor_type_id")),
    "poles": ("network_pole", (
        "id", "as_of", "distributor_id", "plate", "feeder_id", "location", "mt_voltage_kv",
        "bt_voltage_v", "material", "height_m", "vnr_id")),
    "feeder": ("network_feeder", (
        "id", "as_of", "distributor_id", "code", "name", "kind", "substation_id", "owner_id",
        "purchase_node_id", "nominal_voltage_kv", "capacity_a", "power_kva",
        "short_circuit_kva")),
}  # fmt: skip
OTHER_TABLES = (
    "network_conductortype",
    "network_powertransformer",
    "network_substation",
    "network_distributor",
    "vnr_vnrcode",
)
ALL_TABLES = tuple(t for t, _ in TABLES.values()) + OTHER_TABLES

DISTRIBUTORS = [
    ("DEMO", "Distribuidora Demo Sur S.A.", "76000000-5"),
    ("COOPDEMO", "Cooperativa Eléctrica Demo Ltda.", "70000000-8"),
]
ROMAN = ("", " II", " III", " IV", " V", " VI")


def holds_foreign_data() -> bool:
    """True when the database has network data that seed_demo did not create."""
    ours = [code for code, *_ in VNR_CATALOGUE]
    return (
        Distributor.objects.filter(synthetic=False).exists()
        or VnrCode.objects.exclude(code__in=ours).exists()
        or ConductorType.objects.exclude(code__in=[c["code"] for c in CONDUCTOR_CATALOGUE]).exists()
    )


def holds_demo_data() -> bool:
    return Distributor.objects.filter(synthetic=True).exists()


def _random_point_in(comuna: Comuna, rng: random.Random) -> Point:
    boundary = comuna.boundary
    # Keep clear of the edges: shrink towards the comuna's interior when it is wide enough.
    inner = boundary.buffer(-0.01)
    area = inner if not inner.empty and inner.area > boundary.area * 0.2 else boundary
    prepared = area.prepared
    xmin, ymin, xmax, ymax = area.extent
    for _ in range(10_000):
        point = Point(rng.uniform(xmin, xmax), rng.uniform(ymin, ymax), srid=4326)
        if prepared.contains(point):
            return point
    return area.point_on_surface


def _comunas_for(scale_name: str) -> list[Comuna]:
    if scale_name == "demo":
        ensure_demo_geography()
        codes = [c[0] for c in DEMO_COMUNAS]
        comunas = list(Comuna.objects.with_boundary().filter(code__in=codes))
        return sorted(comunas, key=lambda c: codes.index(c.code))
    comunas = list(
        Comuna.objects.with_boundary()
        .filter(boundary__isnull=False)
        .exclude(code="12202")  # Antártica: no distribution network
        .order_by("code")
    )
    if not comunas:
        comunas = [c for c in _comunas_for("demo")]
    return comunas


def seed_network(
    scale_name: str = "demo",
    seed: int = 2026,
    as_of: date | None = None,
    force: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
    rng: random.Random | None = None,
) -> dict[str, int]:
    """Replace the network with a synthetic distributor; return the row counts loaded.

    The rows of other apps that point at the network (accounts linked to customers, metering)
    must be gone first: the caller removes them (portal.services.seed_demo). `rng`, when
    given, is the generator the caller's later seeds go on with (the same seed, the same data).
    """
    scale = SCALES[scale_name]
    as_of = as_of or today()
    if holds_foreign_data() and not force:
        raise SeedRefused(
            "La base de datos contiene datos de red que no son de demostración; "
            "use --force para reemplazarlos."
        )
    started = time.monotonic()
    rng = rng or random.Random(seed)
    counts = dict.fromkeys(
        [*TABLES, "substations", "power_transformers", "vnr", "conductor_types"], 0
    )

    with transaction.atomic():
        comunas = _comunas_for(scale_name)
        with connection.cursor() as cur:
            # Check the rows written so far now (the caller's deletions among them): ALTER
            # TABLE and TRUNCATE refuse pending trigger events.
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        saved = bulk.drop_secondary_structures(ALL_TABLES)
        with connection.cursor() as cur:
            cur.execute(f"TRUNCATE {', '.join(ALL_TABLES)} RESTART IDENTITY")

        main, coop = Distributor.objects.bulk_create(
            Distributor(code=code, name=name, rut=rut, synthetic=True, as_of=as_of)
            for code, name, rut in DISTRIBUTORS
        )
        vnr = VnrCode.objects.bulk_create(
            VnrCode(code=code, description=text, unit=unit, as_of=as_of, **vnr_costs(base))
            for code, text, unit, base in VNR_CATALOGUE
        )
        counts["vnr"] = len(vnr)
        conductors = ConductorType.objects.bulk_create(
            ConductorType(as_of=as_of, **row) for row in CONDUCTOR_CATALOGUE
        )
        counts["conductor_types"] = len(conductors)
        generator = NetworkGenerator(
            seed,
            as_of,
            {v.code: v.pk for v in vnr},
            conductor_ids={c.code: c.pk for c in conductors},
        )

        substations = _make_substations(scale, comunas, main, rng, as_of)
        counts["substations"] = len(substations)
        voltages = [rng.choice(MV_LEVELS) for _ in substations]
        counts["power_transformers"] = _make_power_transformers(substations, voltages, rng, as_of)

        plans_per_substation = [rng.randint(*scale.feeders_per_substation) for _ in substations]
        total = sum(plans_per_substation)
        bar = tqdm(total=total, unit=" alim.", disable=not progress, mininterval=1.0)
        batch: list[FeederRows] = []
        used_names: set[str] = set()
        for substation, mv, n_feeders in zip(
            substations, voltages, plans_per_substation, strict=True
        ):
            first: FeederRows | None = None
            for k in range(n_feeders):
                sub_feeder = k == n_feeders - 1 and k > 0 and rng.random() < scale.subfeeder_share
                purchase = None
                if sub_feeder:
                    index = rng.randrange(len(first.pole_ids) // 2, len(first.pole_ids))
                    purchase = (first.pole_ids[index], *first.pole_points[index])
                plan = FeederPlan(
                    code=f"AL{generator.ids.feeder:05d}",
                    name=_feeder_name(rng, substation, used_names),
                    substation_id=substation.pk,
                    substation_lonlat=(substation.location.x, substation.location.y),
                    comuna_id=substation.comuna_id,
                    voltage_kv=mv,
                    poles=rng.randint(*scale.poles_per_feeder),
                    heading=2 * math.pi * k / n_feeders + rng.uniform(-0.3, 0.3),
                    distributor_id=main.pk,
                    owner_id=coop.pk if sub_feeder else None,
                    purchase_pole=purchase,
                    head_scc_kva=int(substation.scc_max_mva * 1000),
                )
                rows = generator.feeder(plan)
                first = first or rows
                batch.append(rows)
                bar.update(1)
                if len(batch) >= scale.batch_feeders:
                    _flush(batch, counts)
                    batch = []
                    bar.set_postfix(postes=f"{counts['poles']:,}", refresh=False)
        _flush(batch, counts)
        bar.close()

        log(
            f"Reconstruyendo {len(saved.indexes)} índices y {len(saved.constraints)} restricciones…"
        )
        bulk.restore_secondary_structures(saved)
        log("Calculando el trazado generalizado de cada alimentador…")
        announce_replaced()
        for table in ALL_TABLES:
            bulk.reset_sequence(table)
        with connection.cursor() as cur:
            for table in ALL_TABLES:
                cur.execute(f"ANALYZE {table}")
    counts["seconds"] = round(time.monotonic() - started)
    return counts


def _feeder_name(rng: random.Random, substation: Substation, used: set[str]) -> str:
    base = rng.choice(STREETS)
    for candidate in (base, f"{base} ({substation.name})"):
        if candidate not in used:
            used.add(candidate)
            return candidate
    n = 2
    while f"{base} {n} ({substation.name})" in used:
        n += 1
    used.add(f"{base} {n} ({substation.name})")
    return f"{base} {n} ({substation.name})"


def _make_substations(
    scale: Scale, comunas: list[Comuna], distributor: Distributor, rng: random.Random, as_of
) -> list[Substation]:
    names: dict[str, int] = {}
    substations = []
    for i in range(scale.substations):
        comuna = comunas[i % len(comunas)] if i < len(comunas) else rng.choice(comunas)
        count = names.get(comuna.name, 0)
        names[comuna.name] = count + 1
        suffix = ROMAN[count] if count < len(ROMAN) else f" {count + 1}"
        substations.append(
            Substation(
                distributor=distributor,
                code=f"SE{i + 1:04d}",
                name=f"{comuna.name}{suffix}",
                comuna=comuna,
                location=_random_point_in(comuna, rng),
                high_voltage_kv=rng.choice((66, 110, 110, 154, 220)),
                as_of=as_of,
            )
        )
    return Substation.objects.bulk_create(substations)


def _make_power_transformers(
    substations: list[Substation], voltages: list[float], rng: random.Random, as_of
) -> int:
    rows = []
    for substation, secondary in zip(substations, voltages, strict=True):
        for n in range(rng.randint(1, 3)):
            rows.append(
                PowerTransformer(
                    substation=substation,
                    code=f"{substation.code}-TP{n + 1}",
                    name=f"{substation.name} TP{n + 1}",
                    capacity_mva=rng.choice((10, 16, 25, 30)),
                    primary_kv=substation.high_voltage_kv,
                    secondary_kv=secondary,
                    as_of=as_of,
                )
            )
    PowerTransformer.objects.bulk_create(rows)
    # The short-circuit power at the MV busbar: the HV grid's (by voltage level) in series
    # with one AT/MT transformer (uk 10 %; the busbar is split, one section per transformer):
    # the largest at maximum, the smallest with the HV grid at 60 % at minimum.
    capacity: dict[int, list[float]] = {}
    for row in rows:
        capacity.setdefault(row.substation_id, []).append(float(row.capacity_mva))
    for substation in substations:
        values = upstream_short_circuit(
            substation.code, substation.high_voltage_kv, capacity[substation.pk]
        )
        substation.scc_max_mva, substation.scc_min_mva, substation.scc_rx = values
    Substation.objects.bulk_update(substations, ["scc_max_mva", "scc_min_mva", "scc_rx"])
    return len(rows)


def upstream_short_circuit(code: str, high_voltage_kv, sizes_mva: list[float]):
    """(Scc max MVA, Scc min MVA, R/X) at a synthetic substation's MV busbar."""
    # Its own generator: the main one's sequence (and so the rest of the seed) unchanged.
    local = random.Random(f"scc-{code}")
    hv = {66: 1500, 110: 3000, 154: 4500, 220: 6000}[int(high_voltage_kv)]
    hv *= local.uniform(0.7, 1.3)
    scc_max = 1 / (1 / hv + 0.10 / max(sizes_mva))
    scc_min = 1 / (1 / (0.6 * hv) + 0.10 / min(sizes_mva))
    rx = local.uniform(0.07, 0.12)
    return Decimal(f"{scc_max:.1f}"), Decimal(f"{scc_min:.1f}"), Decimal(f"{rx:.2f}")


def _flush(batch: list[FeederRows], counts: dict[str, int]) -> None:
    if not batch:
        return
    for key, (table, columns) in TABLES.items():
        if key == "feeder":
            rows = [r.feeder for r in batch]
        else:
            rows = [row for r in batch for row in getattr(r, key)]
        counts[key] += bulk.copy_rows(table, columns, rows)
