"""Interruptions per meter, events per transformer and feeder, planned outages, SAIFI / SAIDI
and the rebuild of a month (outages.services.rebuild)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from metering.models import IngestRun, MeterEvent, MeterEventType
from metering.services import ingest
from metering.services.catalogs import load_catalogs
from metering.services.monitoring import A_PLUS
from outages.management.commands.compute_outages import Command
from outages.models import Interruption, OutageEvent, PlannedOutage, ReliabilityIndex
from outages.services.rebuild import rebuild_month, replan
from tests.factories import (
    make_comuna,
    make_customer,
    make_distributor,
    make_feeder,
    make_meter,
    make_substation,
    make_transformer,
)

pytestmark = pytest.mark.django_db

SANTIAGO = ZoneInfo("America/Santiago")
MARCH = date(2026, 3, 1)

APRIL_START = datetime(2026, 4, 1, tzinfo=SANTIAGO)


def events():
    """The events of the months these tests build (February, March): a demo set left loaded
    by an earlier session (--reuse-db) has its own, of later months."""
    return OutageEvent.objects.filter(month__lte=MARCH)


def interruptions():
    return Interruption.objects.filter(month__lte=MARCH)


def at(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, tzinfo=SANTIAGO)


@pytest.fixture
def net():
    """Feeder F: T1 (4 metered customers and one without a meter), T2 (4 metered), T3 (3
    metered); feeder G (another comuna of the same distributor): T4 (2 metered)."""
    load_catalogs()
    distributor = make_distributor()
    f = make_feeder(substation=make_substation(distributor=distributor))
    g = make_feeder(substation=make_substation(distributor=distributor, comuna=make_comuna()))
    tr = {name: make_transformer(feeder=feeder) for name, feeder in
          (("T1", f), ("T2", f), ("T3", f), ("T4", g))}  # fmt: skip
    meters = {}
    for name, count in (("T1", 4), ("T2", 4), ("T3", 3), ("T4", 2)):
        meters[name] = [
            make_meter("customer", customer=make_customer(tr[name])) for _ in range(count)
        ]
    unmetered = make_customer(tr["T1"])
    run = IngestRun.objects.create(file_name="eventos.xml", sha256="0" * 64)
    return {"f": f, "g": g, "tr": tr, "m": meters, "unmetered": unmetered, "run": run,
            "distributor": distributor}  # fmt: skip


def event(net, meter, category: str, ts: datetime, code: str | None = None) -> None:
    types = MeterEventType.objects.filter(category=category).order_by("code")
    kind = types.get(code=code) if code else types.first()
    MeterEvent.objects.create(meter=meter, event_type=kind, ts=ts, run=net["run"])


def outage(net, meter, start: datetime, end: datetime | None) -> None:
    event(net, meter, "outage_start", start)
    if end is not None:
        event(net, meter, "outage_end", end)


def minutes(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def t1_outage(net) -> float:
    """All four meters of T1 out at about 10:00 on 5 March; their customer minutes plus the
    unmetered customer's (counted from the network over the group's span)."""
    starts = [at(5, 10, 0, 0), at(5, 10, 0, 20), at(5, 10, 0, 40), at(5, 10, 1, 0)]
    ends = [at(5, 11, 0), at(5, 11, 0), at(5, 11, 1), at(5, 11, 2)]
    for meter, start, end in zip(net["m"]["T1"], starts, ends, strict=True):
        outage(net, meter, start, end)
    return sum(map(minutes, starts, ends)) + minutes(starts[0], ends[-1])


def test_one_transformers_meters_make_one_transformer_event_with_its_customers(net):
    expected = t1_outage(net)
    rebuild_month(MARCH)
    only = events().get()
    assert only.kind == OutageEvent.Kind.TRANSFORMER
    assert only.transformer == net["tr"]["T1"]
    assert only.customers == 5  # the four meters and the customer without one
    assert only.reporting_meters == 4 and only.silent_customers == 1
    assert only.customer_minutes == pytest.approx(expected)
    assert only.started_at == at(5, 10) and only.ended_at == at(5, 11, 2)
    silent = interruptions().get(customer=net["unmetered"])
    assert silent.source == Interruption.Source.NETWORK and silent.minutes == pytest.approx(62)


def test_two_transformers_of_one_feeder_at_once_make_one_feeder_event(net):
    t1_outage(net)
    for meter in net["m"]["T2"]:
        outage(net, meter, at(5, 10, 3), at(5, 10, 50))
    rebuild_month(MARCH)
    only = events().get()
    assert only.kind == OutageEvent.Kind.FEEDER and only.transformer is None
    assert only.feeder == net["f"] and only.transformers == 2
    assert only.customers == 5 + 4
    assert only.ended_at == at(5, 11, 2)


def test_starts_beyond_the_tolerance_are_separate_events(net, settings):
    settings.OUTAGES_GROUP_TOLERANCE_MINUTES = 15
    t1_outage(net)
    for meter in net["m"]["T2"]:
        outage(net, meter, at(5, 10, 31), at(5, 11, 30))
    # Within T3: two meters at 14:00, the third 40 minutes later (beyond the tolerance).
    outage(net, net["m"]["T3"][0], at(6, 14, 0), at(6, 15))
    outage(net, net["m"]["T3"][1], at(6, 14, 2), at(6, 15))
    outage(net, net["m"]["T3"][2], at(6, 14, 40), at(6, 15))
    rebuild_month(MARCH)
    kinds = sorted((e.kind, e.transformer.code, e.customers) for e in events())
    assert kinds == sorted([
        ("transformer", net["tr"]["T1"].code, 5),
        ("transformer", net["tr"]["T2"].code, 4),
        ("transformer", net["tr"]["T3"].code, 3),  # 2 of 3 meters: most of them
        ("customer", net["tr"]["T3"].code, 1),  # the late one on its own
    ])  # fmt: skip


def test_a_last_gasp_without_restore_is_left_open_and_counts_to_the_end_of_the_month(net):
    meter = net["m"]["T3"][0]
    outage(net, meter, at(30, 20), None)
    result = rebuild_month(MARCH)
    interruption = interruptions().get()
    assert interruption.ended_at is None and interruption.is_open
    assert interruption.minutes == pytest.approx(minutes(at(30, 20), APRIL_START))
    assert events().get().is_open
    assert result.open == 1
    feeder = ReliabilityIndex.objects.get(month=MARCH, level="feeder", feeder=net["f"])
    assert feeder.open_interruptions == 1


def test_a_restore_without_gasp_and_a_restore_before_its_gasp_never_give_negative_time(net):
    lone, swapped = net["m"]["T4"]
    event(net, lone, "outage_end", at(8, 9))
    event(net, swapped, "outage_end", at(9, 10, 0))  # the head-end's clock put it first
    event(net, swapped, "outage_start", at(9, 10, 5))
    rebuild_month(MARCH)
    rows = interruptions().order_by("started_at")
    assert [(i.source, i.excluded) for i in rows] == [
        ("restore_only", "no_start"),
        ("restore_only", "no_start"),
        ("events", ""),
    ]
    assert all(i.minutes >= 0 for i in rows)
    assert rows[2].ended_at is None  # the gasp after its restore stays open
    assert events().count() == 1  # restores alone make no event


def test_duplicate_events_make_one_interruption(net):
    meter = net["m"]["T3"][0]
    event(net, meter, "outage_start", at(10, 8), code="26.38.85")
    event(net, meter, "outage_start", at(10, 8), code="26.0.85")  # same instant, other type
    event(net, meter, "outage_start", at(10, 8, 2))  # a repeat before the restore
    event(net, meter, "outage_end", at(10, 9), code="26.38.49")
    event(net, meter, "outage_end", at(10, 9), code="26.0.216")
    rebuild_month(MARCH)
    only = interruptions().get()
    assert (only.started_at, only.ended_at, only.minutes) == (at(10, 8), at(10, 9), 60)


def test_planned_outages_are_excluded_from_the_indices(net, planner):
    t1_outage(net)
    rebuild_month(MARCH)
    before = ReliabilityIndex.objects.get(level="feeder", feeder=net["f"])
    assert before.customer_interruptions == 5
    PlannedOutage.objects.create(
        feeder=net["f"], transformer=net["tr"]["T1"], starts_at=at(5, 9, 55),
        ends_at=at(5, 12), reason="Cambio de transformador", created_by=planner,
    )  # fmt: skip
    replan(MARCH)
    assert events().get().planned.reason == "Cambio de transformador"
    assert set(interruptions().values_list("excluded", flat=True)) == {"planned"}
    after = ReliabilityIndex.objects.get(level="feeder", feeder=net["f"])
    assert (after.customer_interruptions, after.saifi, after.saidi) == (0, 0, 0)
    # and a full rebuild keeps the mark: planned outages are input, not results.
    rebuild_month(MARCH)
    assert events().get().planned is not None


def test_saifi_and_saidi_match_a_hand_computation(net):
    t1 = t1_outage(net)  # 5 customers of feeder F
    lone = net["m"]["T3"][0]
    outage(net, lone, at(12, 7), at(12, 7, 30))  # one more customer of F: 30 minutes
    outage(net, net["m"]["T4"][0], at(12, 7), at(12, 7, 2))  # 2 minutes: not counted
    rebuild_month(MARCH)
    served_f, served_g = 5 + 4 + 3, 2
    feeder = ReliabilityIndex.objects.get(level="feeder", feeder=net["f"])
    assert feeder.customers_served == served_f
    assert feeder.saifi == pytest.approx(6 / served_f)
    assert feeder.saidi == pytest.approx((t1 + 30) / served_f)
    g = ReliabilityIndex.objects.get(level="feeder", feeder=net["g"])
    assert (g.customer_interruptions, g.saidi) == (0, 0)
    assert interruptions().get(meter=net["m"]["T4"][0]).excluded == "short"
    company = ReliabilityIndex.objects.get(level="distributor", distributor=net["distributor"])
    assert company.customers_served == served_f + served_g
    assert company.saifi == pytest.approx(6 / (served_f + served_g))
    assert company.saidi == pytest.approx((t1 + 30) / (served_f + served_g))
    comuna = ReliabilityIndex.objects.get(level="comuna", comuna=net["f"].substation.comuna)
    assert comuna.saidi == pytest.approx(feeder.saidi)  # F's comuna holds only F's customers


def _readings(tmp_path: Path, meter, gap: tuple[datetime, datetime]) -> None:
    """15-minute A+ readings of 5 March, none with their end inside `gap`."""
    rows, ts = [], at(5, 0, 15)
    while ts <= at(6, 0):
        if not gap[0] < ts <= gap[1]:
            rows.append(f"{meter.serial},{A_PLUS},{ts.isoformat()},0.2\n")
        ts += timedelta(minutes=15)
    path = tmp_path / f"{meter.serial}.csv"
    path.write_text("meter,reading_type,timestamp,value\n" + "".join(rows), encoding="utf-8")
    assert ingest.ingest_file(path, report_path=tmp_path / "r.csv").rejected == 0


def test_missing_data_counts_only_when_it_groups_with_other_meters(net, tmp_path, settings):
    settings.OUTAGES_MISSING_INTERVALS = 4
    gap = (at(5, 10), at(5, 11, 30))  # six intervals without a reading
    for meter in net["m"]["T2"][:2]:
        _readings(tmp_path, meter, gap)  # two meters of T2 together
    _readings(tmp_path, net["m"]["T4"][0], gap)  # alone on T4
    _readings(tmp_path, net["m"]["T4"][1], (at(5, 10), at(5, 10, 30)))  # two intervals: no
    rebuild_month(MARCH)
    inferred = interruptions().filter(source="missing").order_by("transformer_id", "id")
    assert [(i.transformer_id, i.excluded) for i in inferred] == [
        (net["tr"]["T2"].pk, ""),
        (net["tr"]["T2"].pk, ""),
        (net["tr"]["T4"].pk, "isolated"),
    ]
    first = inferred[0]
    # From the end of the last interval received to the start of the next one received.
    assert (first.started_at, first.ended_at) == (at(5, 10), at(5, 11, 30))
    assert first.minutes == 90


def test_missing_data_overlapping_the_meters_own_events_is_not_counted_twice(net, tmp_path):
    meter = net["m"]["T4"][0]
    _readings(tmp_path, meter, (at(5, 10), at(5, 11, 30)))
    outage(net, meter, at(5, 10, 4), at(5, 11, 25))
    rebuild_month(MARCH)
    assert list(interruptions().values_list("source", flat=True)) == ["events"]


def snapshot() -> list:
    return [
        sorted(events().values_list("kind", "started_at", "ended_at", "customers",
                                               "customer_minutes", "planned")),
        sorted(interruptions().values_list("customer", "started_at", "ended_at",
                                                "minutes", "source", "excluded")),
        sorted(ReliabilityIndex.objects.values_list("level", "feeder", "comuna",
                                                    "customers_served", "saifi", "saidi")),
    ]  # fmt: skip


def test_rebuilding_a_month_again_changes_nothing(net):
    t1_outage(net)
    outage(net, net["m"]["T3"][0], at(30, 20), None)
    first = rebuild_month(MARCH)
    before = snapshot()
    second = rebuild_month(MARCH)
    assert snapshot() == before
    assert first.summary() == second.summary()
    assert events().count() == 2


def test_a_month_rebuilt_alone_leaves_other_months_as_they_were(net):
    t1_outage(net)
    rebuild_month(MARCH)
    rebuild_month(date(2026, 2, 1))
    assert OutageEvent.objects.filter(month=MARCH).count() == 1


def test_the_command_prints_one_summary_line_and_exits_zero(net, capsys):
    t1_outage(net)
    call_command("compute_outages", "--mes", "2026-03")
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and out[0].startswith("2026-03: 5 interrupciones")


@pytest.mark.parametrize("month", ["2026-13", "marzo", "2999-01"])
def test_the_command_refuses_a_bad_month_with_exit_status_one(month, capsys):
    with pytest.raises(CommandError, match="Mes"):
        call_command("compute_outages", "--mes", month)
    with pytest.raises(SystemExit) as exit_:
        # As manage.py runs it (the system checks aside: other tests change the settings).
        Command().run_from_argv(["manage.py", "compute_outages", "--mes", month, "--skip-checks"])
    assert exit_.value.code == 1
    assert "Mes" in capsys.readouterr().err


def test_the_task_rebuilds_the_month_it_is_given(net):
    from outages.tasks import rebuild_month as task

    t1_outage(net)
    assert task("2026-03").startswith("2026-03: 5 interrupciones")
    assert OutageEvent.objects.filter(month=MARCH).count() == 1
