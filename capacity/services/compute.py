"""A computation run: read each substation's feeders, run the engine, store the results.

Each substation is written in its own transaction under an advisory lock, so a run that
fails half way keeps the substations it finished and the run says where it stopped; a
concurrent run of the same substation waits instead of interleaving its rows.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from capacity.lib.engine import Criterion, Limits, hosting_capacity, load_flow, short_circuit
from capacity.lib.radial import path_sum, subtree_sum
from capacity.models import FeederCapacity, PoleCapacity, Run
from capacity.services.inputs import SubstationInput, load
from capacity.signals import capacity_stored
from network.models import Feeder

LOCK = 7_261_017  # pg advisory lock namespace: one substation's results at a time
BATCH = 20  # substations read per round of queries


def limits() -> Limits:
    return Limits(
        rise_pu=settings.CAPACITY_VOLTAGE_RISE_PCT / 100,
        vmax_pu=settings.CAPACITY_VOLTAGE_MAX_PCT / 100,
        v0_pu=settings.CAPACITY_BUSBAR_VOLTAGE_PU,
    )


def parameters() -> dict:
    lim = limits()
    return {
        "alza_tension_pct": lim.rise_pu * 100,
        "tension_maxima_pct": lim.vmax_pu * 100,
        "tension_barra_pu": lim.v0_pu,
        "factor_potencia_carga": settings.CAPACITY_LOAD_POWER_FACTOR,
        "metodo": "IEC 60909-0:2016 radial; capacidad indicativa por sensibilidades y "
        "verificación AC (docs/capacity.md)",
    }


def substations_of(feeder_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(feeder_ids))
    return sorted(set(Feeder.objects.filter(pk__in=ids).values_list("substation_id", flat=True)))


def compute(
    feeder_ids: Iterable[int] | None = None,
    *,
    scope: str = Run.Scope.ALL,
    trigger: str = "manual",
    progress: Callable[[int, int], None] | None = None,
) -> Run:
    """Recompute every substation (feeder_ids None) or those of `feeder_ids`."""
    run = Run.objects.create(scope=scope, trigger=trigger[:80], parameters=parameters())
    started = time.monotonic()
    if feeder_ids is None:
        subs = list(Feeder.objects.order_by().values_list("substation_id", flat=True).distinct())
        subs.sort()
    else:
        subs = substations_of(feeder_ids)
    try:
        for first in range(0, len(subs), BATCH):
            batch = subs[first : first + BATCH]
            for item in load(batch, power_factor=settings.CAPACITY_LOAD_POWER_FACTOR):
                feeders, poles, without = store(item, run)
                run.feeders += feeders
                run.poles += poles
                run.without_data += without
            if progress:
                progress(min(first + BATCH, len(subs)), len(subs))
    except Exception as exc:
        run.status = Run.Status.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    else:
        run.status = Run.Status.DONE
    finally:
        run.finished_at = timezone.now()
        run.seconds = round(time.monotonic() - started, 3)
        run.save()
    return run


def evaluate(item: SubstationInput) -> dict:
    """The engine over one substation: per-node arrays of everything stored."""
    f = item.forest
    sc = short_circuit(f)
    lim = limits()
    lf = load_flow(f, lim.v0_pu)
    n = len(item.pole_ids)
    load_total = sum(item.load_kw.values())
    tan = float(np.tan(np.arccos(settings.CAPACITY_LOAD_POWER_FACTOR)))
    hc = hosting_capacity(
        f, lim, np.full(n, item.transformer_mva), np.full(n, load_total),
        np.full(n, load_total * tan), lf=lf,
    )  # fmt: skip
    # Generation already connected or queued behind the same constraint.
    below = subtree_sum(item.generation_mw, f.o)
    total = float(item.generation_mw.sum())
    element = hc.element
    downstream = np.where(element >= 0, below[np.maximum(element, 0)], total)
    distance = path_sum(f.length_km, f.o)  # along the feeding spans, from the busbar
    return {"sc": sc, "hc": hc, "downstream": downstream, "distance": distance}


def _text(value: str) -> str:
    """A value for COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def store(item: SubstationInput, run: Run) -> tuple[int, int, int]:
    """Write one substation's results; return (feeders, poles written, feeders without data)."""
    now = timezone.now()
    ok_feeders = [f for f in item.feeders if not item.missing.get(f)]
    values = evaluate(item) if ok_feeders and len(item.pole_ids) else None
    buffer = io.StringIO()
    poles = 0
    if values is not None:
        sc, hc, downstream = values["sc"], values["hc"], values["downstream"]
        distance = values["distance"]
        keep = np.isin(item.feeder_of, ok_feeders) & item.forest.o.reached
        kinds = {
            Criterion.RISE: PoleCapacity.Limit.POLE,
            Criterion.VMAX: PoleCapacity.Limit.POLE,
            Criterion.THERMAL: PoleCapacity.Limit.SPAN,
            Criterion.TRANSFORMER: PoleCapacity.Limit.TRANSFORMER,
        }
        for i in np.flatnonzero(keep).tolist():
            criterion = hc.criterion[i]
            e = int(hc.element[i])
            if criterion == Criterion.TRANSFORMER:
                code = item.transformer_codes
            elif criterion == Criterion.THERMAL:
                code = item.span_codes[e]
            else:
                code = item.plates[e]
            mw = float(hc.mw[i])
            buffer.write(
                "\t".join(
                    (
                        str(item.pole_ids[i]),
                        str(item.feeder_of[i]),
                        str(run.pk),
                        repr(round(float(distance[i]), 4)),
                        repr(float(sc.ik3_max_ka[i])),
                        repr(float(sc.ik3_min_ka[i])),
                        repr(float(sc.ik1_min_ka[i])),
                        repr(float(sc.scc_max_mva[i])),
                        repr(mw),
                        criterion,
                        kinds[criterion],
                        _text(code),
                        repr(float(hc.value[i])),
                        repr(float(hc.base_v_pu[i])),
                        repr(float(downstream[i])),
                        repr(max(mw - float(downstream[i]), 0.0)),
                    )
                )  # fmt: skip
                + "\n"
            )
            poles += 1
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK, item.substation_id])
        cur.execute("DELETE FROM capacity_polecapacity WHERE feeder_id = ANY(%s)", [item.feeders])
        if poles:
            buffer.seek(0)
            columns = (
                "pole_id, feeder_id, run_id, distance_km, ik3_max_ka, ik3_min_ka, ik1_min_ka, "
                "scc_mva, hosting_mw, criterion, limit_kind, limit_code, limit_value, "
                "base_voltage_pu, "
                "downstream_mw, remaining_mw"
            )
            with cur.copy(f"COPY capacity_polecapacity ({columns}) FROM STDIN") as copy:
                while data := buffer.read(1 << 20):
                    copy.write(data)
        FeederCapacity.objects.bulk_create(
            [
                FeederCapacity(
                    feeder_id=f, run=run, computed_at=now,
                    status=FeederCapacity.Status.MISSING if item.missing.get(f)
                    else FeederCapacity.Status.OK,
                    missing=item.missing.get(f, []), min_load_kw=item.load_kw.get(f, 0.0),
                    stale=False,
                )
                for f in item.feeders
            ],
            update_conflicts=True,
            unique_fields=["feeder"],
            update_fields=["run", "computed_at", "status", "missing", "min_load_kw", "stale"],
        )  # fmt: skip
        ids = frozenset(item.feeders)
        transaction.on_commit(
            lambda: capacity_stored.send(sender=Run, feeder_ids=ids, run_id=run.pk), robust=True
        )
    return len(item.feeders), poles, len(item.feeders) - len(ok_feeders)
