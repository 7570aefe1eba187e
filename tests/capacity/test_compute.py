"""The capacity computation on the database: the imported real export against pandapower on
the raw files, the connection queue deducted, the feeders without data, the runs."""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal

import numpy as np
import pytest

from capacity.models import ConnectionRequest, Criterion, FeederCapacity, PoleCapacity, Run
from capacity.services import compute as compute_module
from capacity.services.compute import compute
from network.models import ConductorType, Feeder, Pole, Span, Substation, Transformer
from tests.capacity import oracle

pytestmark = pytest.mark.django_db
KEYS = ("ik3_max", "ik3_min", "ik1_min")


def stored() -> dict[str, PoleCapacity]:
    return {row.pole.plate: row for row in PoleCapacity.objects.select_related("pole", "run")}


def conductors() -> dict[str, dict]:
    """The export's std_types as the mapping translates them, with the catalogue's data."""
    codes = {
        "NA2XS2Y 1x185 RM/25 12/20 kV": "XLPE-AL-185",
        "NA2XS2Y 1x240 RM/25 12/20 kV": "XLPE-AL-240",
        "243-AL1/39-ST1A 20.0": "ACSR-243",
    }
    types = {c.code: c for c in ConductorType.objects.filter(code__in=codes.values())}
    return {
        std: {k: getattr(types[code], k) for k in ("r20_ohm_km", "r_op_ohm_km", "r0_ohm_km",
                                                  "x0_ohm_km")}
        for std, code in codes.items()
    }  # fmt: skip


def source() -> dict:
    """The substations' upstream data as imported (both have the same 25 MVA, 11.2 % unit)."""
    rows = {
        tuple(float(v) for v in row)
        for row in Substation.objects.values_list(
            "scc_max_mva", "scc_min_mva", "scc_rx", "scc_x0x1", "scc_r0x0"
        )
    }
    assert len(rows) == 1
    scc_max, scc_min, rx, x0x1, r0x0 = rows.pop()
    return {"scc_max": scc_max, "scc_min": scc_min, "rx": rx, "x0x1": x0x1, "r0x0": r0x0}


def test_the_imported_export_short_circuit_at_every_pole_matches_pandapower_on_the_raw_files(
    imported,
):
    run = compute(trigger="prueba")

    assert run.status == Run.Status.DONE
    assert not list(
        FeederCapacity.objects.exclude(status=FeederCapacity.Status.OK).values_list("missing")
    )
    rows = stored()
    # Every 20 kV node but the two busbars, which the importer keeps as substation bays.
    assert len(rows) == Pole.objects.count() == run.poles == 175
    params = source()
    assert params["scc_max"] == pytest.approx(1 / (1 / 3000 + 0.112 / 25), abs=0.05)
    theirs = oracle.short_circuit(oracle.raw_oberrhein(conductors=conductors(), **params))
    for key in KEYS:
        ratio = np.array([getattr(r, f"{key}_ka") / theirs[key][p] for p, r in rows.items()])
        assert np.max(np.abs(ratio - 1)) < 0.005, key
    for r in rows.values():
        assert r.scc_mva == pytest.approx(np.sqrt(3) * 20 * r.ik3_max_ka)
        assert r.run_id == run.pk


def test_the_stored_hosting_capacity_is_within_5_percent_of_an_ac_bisection(imported):
    compute(trigger="prueba")
    rows = stored()
    net = oracle.raw_oberrhein(conductors=conductors(), for_load_flow=True, **source())
    sample = random.Random(7).sample(sorted(rows), 6)
    for plate in sample:
        row = rows[plate]
        reference = oracle.hosting_bisection(net, plate)
        assert 0.95 <= row.hosting_mw / reference <= 1.05, (plate, row.hosting_mw, reference)
    # What limits it is named, with its value at the limit.
    thermal = [r for r in rows.values() if r.criterion == Criterion.THERMAL]
    assert thermal and all(r.limit_kind == PoleCapacity.Limit.SPAN for r in thermal)
    for r in thermal[:5]:
        span = Span.objects.get(code=r.limit_code, feeder__distributor=imported)
        assert r.limit_value == pytest.approx(float(span.capacity_a), rel=1e-3)
    rise = [r for r in rows.values() if r.criterion == Criterion.RISE]
    assert rise and all(r.limit_value == pytest.approx(3.0, rel=1e-3) for r in rise)
    assert {r.limit_code for r in rise} <= set(rows)


def test_queued_and_connected_generation_is_deducted_downstream_of_the_same_constraint(imported):
    compute(trigger="prueba")
    before = stored()
    # A far pole whose limit is a span, so the queue behind that span is what counts.
    plate = max(
        (p for p, r in before.items() if r.criterion == Criterion.THERMAL),
        key=lambda p: before[p].hosting_mw,
    )
    pole = Pole.objects.get(plate=plate, feeder__distributor=imported)
    for public_id, state, mw in (
        ("SCR-1", ConnectionRequest.State.STUDY, "2.5"),
        ("SCR-2", ConnectionRequest.State.CONNECTED, "1.0"),
        ("SCR-3", ConnectionRequest.State.WITHDRAWN, "3.0"),  # not in the queue any more
    ):
        ConnectionRequest.objects.create(
            distributor=imported, public_id=public_id, state=state, submitted_on=date(2026, 3, 1),
            mw=Decimal(mw), pole=pole, feeder=pole.feeder,
        )  # fmt: skip

    compute(trigger="prueba")
    after = stored()

    row = after[plate]
    assert row.downstream_mw == pytest.approx(3.5)
    assert row.hosting_mw == pytest.approx(before[plate].hosting_mw)
    assert row.remaining_mw == pytest.approx(max(row.hosting_mw - 3.5, 0))
    # A pole on another feeder is not behind that span.
    other = next(r for r in after.values() if r.feeder_id != pole.feeder_id)
    assert other.downstream_mw == 0 and other.remaining_mw == other.hosting_mw


def missing_of(feeder: Feeder) -> FeederCapacity:
    return FeederCapacity.objects.get(feeder=feeder)


def test_a_span_without_conductor_type_leaves_its_feeder_without_data_and_says_which(imported):
    span = Span.objects.filter(feeder__distributor=imported).order_by("code").first()
    Span.objects.filter(pk=span.pk).update(conductor_type=None)

    run = compute(trigger="prueba")

    state = missing_of(span.feeder)
    assert state.status == FeederCapacity.Status.MISSING
    assert state.missing == [f"vanos sin tipo de conductor: {span.code}"]
    assert not PoleCapacity.objects.filter(feeder=span.feeder).exists()
    # The other feeders are computed; the run counts the one without data.
    assert PoleCapacity.objects.exclude(feeder=span.feeder).exists()
    assert run.without_data == 1 and run.status == Run.Status.DONE


def test_a_transformer_without_vk_and_a_substation_without_scc_are_listed(imported):
    transformer = Transformer.objects.filter(feeder__distributor=imported).order_by("code")[0]
    Transformer.objects.filter(pk=transformer.pk).update(vk_percent=None)
    compute(trigger="prueba")
    state = missing_of(transformer.feeder)
    assert state.status == FeederCapacity.Status.MISSING
    assert state.missing == [f"transformadores sin tensión de cortocircuito vk: {transformer.code}"]

    substation = transformer.feeder.substation
    Substation.objects.filter(pk=substation.pk).update(scc_max_mva=None)
    compute(trigger="prueba")
    for feeder in Feeder.objects.filter(substation=substation):
        state = missing_of(feeder)
        assert state.status == FeederCapacity.Status.MISSING
        assert (
            f"subestación {substation.code}: sin potencia de cortocircuito aguas arriba "
            "máxima y mínima"
        ) in state.missing
        assert not PoleCapacity.objects.filter(feeder=feeder).exists()
    # Never a made-up number: the other substation alone has values.
    assert set(PoleCapacity.objects.values_list("feeder__substation", flat=True)) == set(
        Substation.objects.exclude(pk=substation.pk).values_list("pk", flat=True)
    )


def test_a_topology_edit_marks_its_feeders_stale_and_recomputes_them_on_commit(
    imported, django_capture_on_commit_callbacks
):
    first = compute(trigger="prueba")
    span = Span.objects.filter(feeder__distributor=imported).order_by("code").first()
    siblings = set(
        Feeder.objects.filter(substation=span.feeder.substation).values_list("pk", flat=True)
    )

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        span.length_m = span.length_m * 2
        span.save()
    stale = set(FeederCapacity.objects.filter(stale=True).values_list("feeder", flat=True))
    assert stale == siblings  # the substation's feeders are computed together
    for callback in callbacks:
        callback()  # the commit: Celery runs eagerly here

    latest = Run.objects.exclude(pk=first.pk).get()
    assert latest.scope == Run.Scope.FEEDERS and latest.status == Run.Status.DONE
    assert latest.trigger == "cambio de topología"
    assert not FeederCapacity.objects.filter(stale=True).exists()
    assert set(PoleCapacity.objects.filter(run=latest).values_list("feeder", flat=True)) == siblings
    # The other substation keeps the first run's values.
    assert PoleCapacity.objects.filter(run=first).exclude(feeder__in=siblings).exists()


def test_a_failed_run_is_recorded_with_its_error_and_keeps_what_it_finished(imported, monkeypatch):
    compute(trigger="prueba")
    kept = PoleCapacity.objects.count()

    def broken(item):
        raise FloatingPointError("matriz singular")

    monkeypatch.setattr(compute_module, "evaluate", broken)
    from capacity.tasks import recompute_all

    assert recompute_all() is None
    run = Run.objects.order_by("-pk").first()
    assert run.status == Run.Status.FAILED
    assert run.error == "FloatingPointError: matriz singular"
    assert run.finished_at is not None
    assert PoleCapacity.objects.count() == kept


def test_the_import_keeps_the_span_each_switch_opens_so_a_loop_inside_a_feeder_is_cut(imported):
    from network.models import Equipment

    switch = Equipment.objects.select_related("span", "pole").get(code="S14")
    assert switch.operating_mode == "Normalmente abierto"
    assert (switch.span.code, switch.pole.plate) == ("L8", "B129")
    # L8 joins two poles of one feeder: only the open switch makes the feeder radial.
    assert switch.span.from_pole.feeder_id == switch.span.to_pole.feeder_id
    Equipment.objects.filter(pk=switch.pk).update(span=None)
    compute(trigger="prueba")
    state = FeederCapacity.objects.get(feeder=switch.feeder)
    assert state.status == FeederCapacity.Status.MISSING
    # The walk opens the loop somewhere (L8 or the span it closes against), and says so.
    (text,) = state.missing
    assert text.startswith("lazos cerrados (ningún equipo normalmente abierto los corta): L")
    assert not PoleCapacity.objects.filter(feeder=switch.feeder).exists()


def test_the_command_computes_the_network_or_the_feeders_named(imported):
    import io

    from django.core.management import call_command
    from django.core.management.base import CommandError

    out = io.StringIO()
    call_command("compute_capacity", stdout=out)
    assert "175 postes, 0 sin datos suficientes" in out.getvalue()
    feeder = Feeder.objects.order_by("code").first()
    call_command("compute_capacity", "--feeder", feeder.code, stdout=out)
    assert Run.objects.order_by("-pk").first().scope == Run.Scope.FEEDERS
    with pytest.raises(CommandError, match="alimentadores desconocidos: NADA"):
        call_command("compute_capacity", "--feeder", "NADA")


def test_an_unknown_conductor_type_is_reported_and_its_feeder_left_without_data(
    catalogue, oberrhein, tmp_path
):
    from tests.network.import_helpers import OBERRHEIN, read_report, run

    ConductorType.objects.filter(code="ACSR-243").delete()  # the export's overhead lines
    report = tmp_path / "informe.csv"
    output, error = run(OBERRHEIN, "--source", oberrhein, "--report", report)
    assert error is None, output
    rows = [r for r in read_report(report) if r["control"] == "conductor"]
    assert rows and all(r["gravedad"] == "aviso" for r in rows)
    assert "tipo de conductor ACSR-243 no está en el catálogo" in rows[0]["motivo"]
    lacking = Span.objects.filter(conductor_type__isnull=True)
    assert {r["codigo"] for r in rows} == set(lacking.values_list("code", flat=True))

    compute(trigger="prueba")
    for feeder in Feeder.objects.filter(spans__in=lacking).distinct():
        state = FeederCapacity.objects.get(feeder=feeder)
        assert state.status == FeederCapacity.Status.MISSING
        assert any(t.startswith("vanos sin tipo de conductor: L") for t in state.missing)
