"""Monitoring: monthly demand without load transfers, energy balance, alarms."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.db import connection

from demand.models import MonthlyDemand
from metering.models import (
    Alarm,
    Channel,
    EnergyBalance,
    EstimatedReading,
    LoadTransfer,
    MeterEvent,
    MeterEventType,
    Quality,
    ReadingType,
    ValidationDay,
)
from metering.services import ingest, monitoring
from tests.factories import make_customer, make_feeder, make_meter, make_transformer

pytestmark = pytest.mark.django_db

A_PLUS = monitoring.A_PLUS
A_MINUS = monitoring.A_MINUS
VOLTAGE_L1 = "0.0.2.6.0.1.54.0.0.0.0.0.0.0.128.0.29.0"
SANTIAGO = ZoneInfo("America/Santiago")
MARCH = date(2026, 3, 1)


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SANTIAGO)


def load(tmp_path: Path, rows: list[tuple[str, str, datetime, float]]) -> None:
    path = tmp_path / f"l{len(list(tmp_path.iterdir()))}.csv"
    text = "meter,reading_type,timestamp,value\n" + "".join(
        f"{m},{rt},{ts.isoformat()},{v}\n" for m, rt, ts, v in rows
    )
    path.write_text(text, encoding="utf-8")
    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv")
    assert result.rejected == 0, result.rejections


@pytest.fixture
def network(tmp_path):
    feeder = make_feeder()
    transformer = make_transformer(feeder=feeder)
    one, two = make_customer(transformer=transformer), make_customer(transformer=transformer)
    make_customer(transformer=transformer)  # without a meter
    make_meter("feeder_head", serial="FH-1", feeder=feeder)
    make_meter("totalizer", serial="TT-1", transformer=transformer)
    make_meter("customer", serial="C-1", customer=one)
    make_meter("customer", serial="C-2", customer=two)
    rows = []
    # Feeder head: 100 kWh a quarter-hour (400 kW) for a day, one 20 (80 kW), and 250
    # (1,000 kW) while another feeder's load was transferred to it.
    for k in range(1, 97):
        ts = at(2, 0) + timedelta(minutes=15 * k)
        value = {10: 20.0, 50: 250.0}.get(k, 100.0)
        rows.append(("FH-1", A_PLUS, ts, value))
    LoadTransfer.objects.create(
        feeder=feeder, starts_at=at(2, 12, 15), ends_at=at(2, 13, 0), reason="Mantenimiento"
    )
    # Totalizer: 7 quarter-hours of 10 kWh, the 8th missing (estimated below): 80 kWh.
    for k in range(1, 8):
        rows.append(("TT-1", A_PLUS, at(3, 10) + timedelta(minutes=15 * k), 10.0))
    # Customers: 30 kWh; 40 kWh imported and 5 exported. Net 65 of 80: a 18.75 % loss.
    rows += [("C-1", A_PLUS, at(3, 10, 15), 30.0), ("C-2", A_PLUS, at(3, 10, 15), 40.0)]
    rows += [("C-2", A_MINUS, at(3, 12, 15), 5.0)]
    # C-1's three previous months, 100 kWh each: March's 30 is a change of habit.
    rows += [("C-1", A_PLUS, at(10, 12, month=m), 100.0) for m in (12, 1, 2)]
    # C-1's voltage: two quarter-hours above 220 V + 7.5 % (236.5 V).
    for k, volts in enumerate([221.0, 240.0, 241.5, 219.0], start=1):
        rows.append(("C-1", VOLTAGE_L1, at(4, 8) + timedelta(minutes=15 * k), volts))
    december = [r for r in rows if r[2].month == 12]
    load(tmp_path, [r for r in rows if r[2].month != 12])
    _load_previous_year(tmp_path, december)
    channel = Channel.objects.get(meter__serial="TT-1", reading_type__code=A_PLUS)
    EstimatedReading.objects.create(
        channel=channel, ts=at(3, 12), value=10.0, method="interpolation"
    )
    return feeder, transformer


def _load_previous_year(tmp_path, rows):
    shifted = [(m, rt, ts.replace(year=2025), v) for m, rt, ts, v in rows]
    load(tmp_path, shifted)


def test_monthly_demand_leaves_out_load_transfers(network):
    feeder, transformer = network
    monitoring.monthly_demand(MARCH)

    head = MonthlyDemand.objects.get(feeder=feeder, month=MARCH)
    assert (head.max_kw, head.min_kw) == (Decimal("400.0"), Decimal("80.0"))
    assert head.excludes_load_transfer
    tx = MonthlyDemand.objects.get(transformer=transformer, month=MARCH)
    assert (tx.max_kw, tx.min_kw) == (Decimal("40.0"), Decimal("40.0"))  # estimate included


def test_a_month_without_transfer_windows_takes_every_interval(network):
    feeder, transformer = network
    LoadTransfer.objects.all().delete()

    monitoring.monthly_demand(MARCH)

    # The 1,000 kW quarter-hour is normal operation now: the plain aggregate, no clause.
    head = MonthlyDemand.objects.get(feeder=feeder, month=MARCH)
    assert (head.max_kw, head.min_kw) == (Decimal("1000.0"), Decimal("80.0"))
    tx = MonthlyDemand.objects.get(transformer=transformer, month=MARCH)
    assert (tx.max_kw, tx.min_kw) == (Decimal("40.0"), Decimal("40.0"))


def test_the_demand_statement_leaves_out_transfers_only_when_the_month_has_windows():
    assert "NOT EXISTS" not in monitoring.demand_sql(False)
    with_windows = monitoring.demand_sql(True)
    # One anti-join per store, and no OR in front of it (which would keep it a subplan).
    assert with_windows.count("NOT EXISTS") == 2
    assert " OR " not in with_windows


def test_flagged_intervals_are_left_out_and_a_channel_with_only_flagged_ones_has_no_figure(
    network,
):
    feeder, transformer = network
    LoadTransfer.objects.all().delete()
    head = Channel.objects.get(meter__serial="FH-1", reading_type__code=A_PLUS)
    totalizer = Channel.objects.get(meter__serial="TT-1", reading_type__code=A_PLUS)
    EstimatedReading.objects.filter(channel=totalizer).delete()
    with connection.cursor() as cur:
        # The 1,000 kW quarter-hour flagged as a spike; every totalizer value flagged flat.
        cur.execute(
            "UPDATE metering_intervalreading SET quality = quality | %s "
            "WHERE channel_id = %s AND value = 250",
            [int(Quality.SPIKE), head.pk],
        )
        cur.execute(
            "UPDATE metering_intervalreading SET quality = quality | %s WHERE channel_id = %s",
            [int(Quality.FLAT), totalizer.pk],
        )

    monitoring.monthly_demand(MARCH)

    head_demand = MonthlyDemand.objects.get(feeder=feeder, month=MARCH)
    assert (head_demand.max_kw, head_demand.min_kw) == (Decimal("400.0"), Decimal("80.0"))
    assert not MonthlyDemand.objects.filter(transformer=transformer, month=MARCH).exists()


def test_the_energy_balance_compares_the_totalizer_with_the_customers(network):
    _, transformer = network
    monitoring.energy_balance(MARCH)

    balance = EnergyBalance.objects.get(transformer=transformer, month=MARCH)
    assert balance.supplied_kwh == Decimal("80.000")
    assert balance.metered_kwh == Decimal("65.000")
    assert balance.loss_kwh == Decimal("15.000")
    assert balance.loss_pct == Decimal("18.75")
    assert (balance.customers, balance.metered_customers) == (3, 2)
    assert balance.flagged


def test_the_loss_threshold_is_a_setting(network, settings):
    settings.METERING_LOSS_THRESHOLD_PCT = 20
    monitoring.energy_balance(MARCH)
    assert not EnergyBalance.objects.get(month=MARCH).flagged


def test_alarms_for_voltage_habit_tamper_outage_and_missing_data(network):
    c1 = Channel.objects.get(meter__serial="C-1", reading_type__code=A_PLUS)
    ValidationDay.objects.create(channel=c1, day=date(2026, 3, 5), expected=96, received=70,
                                 missing=26)  # fmt: skip
    types = {t.category: t for t in MeterEventType.objects.all()}
    c1_meter, c2_meter = c1.meter, Channel.objects.filter(meter__serial="C-2")[0].meter
    run = ingest.IngestRun.objects.first()
    MeterEvent.objects.create(meter=c2_meter, event_type=types["tamper"], ts=at(6, 3), run=run)
    MeterEvent.objects.create(
        meter=c1_meter, event_type=types["outage_start"], ts=at(7, 1), run=run
    )
    MeterEvent.objects.create(meter=c1_meter, event_type=types["outage_end"], ts=at(7, 2), run=run)

    found = monitoring.detect_alarms(MARCH)

    assert found == {"voltage": 1, "habit": 1, "tamper": 1, "outage": 1, "missing": 1}
    voltage = Alarm.objects.get(kind=Alarm.Kind.VOLTAGE)
    assert voltage.meter == c1_meter and voltage.value == 241.5
    assert voltage.detail == "tensión fuera de ±7,5 % de 220 V"
    assert (voltage.started_at, voltage.ended_at) == (at(4, 8, 15), at(4, 8, 45))
    habit = Alarm.objects.get(kind=Alarm.Kind.HABIT)
    assert habit.value == 30.0 and "promedio de los meses anteriores 100.0 kWh" in habit.detail
    outage = Alarm.objects.get(kind=Alarm.Kind.OUTAGE)
    assert (outage.started_at, outage.ended_at) == (at(7, 1), at(7, 2))
    assert Alarm.objects.get(kind=Alarm.Kind.TAMPER).meter == c2_meter
    assert Alarm.objects.get(kind=Alarm.Kind.MISSING).detail.startswith("26 de 96 intervalos")


def test_monitoring_again_changes_nothing(network):
    monitoring.monitor(MARCH)
    before = (
        sorted(
            MonthlyDemand.objects.values_list("feeder", "transformer", "month", "max_kw"),
            key=str,
        ),
        sorted(EnergyBalance.objects.values_list("transformer", "loss_kwh", "flagged")),
        sorted(Alarm.objects.values_list("kind", "meter", "started_at", "value")),
    )
    monitoring.monitor(MARCH)
    after = (
        sorted(
            MonthlyDemand.objects.values_list("feeder", "transformer", "month", "max_kw"),
            key=str,
        ),
        sorted(EnergyBalance.objects.values_list("transformer", "loss_kwh", "flagged")),
        sorted(Alarm.objects.values_list("kind", "meter", "started_at", "value")),
    )
    assert after == before
    assert ReadingType.objects.filter(code=VOLTAGE_L1).exists()


def test_the_monitoring_command_reports_the_month(network, capsys):
    from django.core.management import call_command

    call_command("monitor_metering", "--mes", "2026-03")
    out = capsys.readouterr().out
    assert out.startswith("2026-03: 2 demandas mensuales, 1 balances (1 sobre el umbral)")


def test_the_validation_command_covers_the_days_given(network, capsys):
    from django.core.management import call_command

    call_command("validate_readings", "--desde", "2026-03-02", "--hasta", "2026-03-04")
    assert ValidationDay.objects.filter(day__range=(date(2026, 3, 2), date(2026, 3, 4))).exists()
    assert "días-canal validados" in capsys.readouterr().out


def test_a_meter_missing_data_on_two_channels_raises_one_alarm_for_the_day(network):
    meter = Channel.objects.get(meter__serial="C-1", reading_type__code=A_PLUS).meter
    for channel in Channel.objects.filter(meter=meter):
        ValidationDay.objects.create(
            channel=channel, day=date(2026, 3, 8), expected=96, received=50, missing=46
        )
    monitoring.detect_alarms(MARCH)
    (alarm,) = Alarm.objects.filter(kind=Alarm.Kind.MISSING, meter=meter)
    assert alarm.detail.count("46 de 96") == Channel.objects.filter(meter=meter).count() >= 2


def test_a_load_transfer_a_planner_records_recomputes_that_months_demand(
    network, client, planner, django_capture_on_commit_callbacks
):
    feeder, _ = network
    monitoring.monthly_demand(MARCH)
    assert MonthlyDemand.objects.get(feeder=feeder, month=MARCH).min_kw == Decimal("80.0")

    # The 80 kW quarter-hour (ending at 02:30 on the 2nd) was a transfer too.
    client.force_login(planner)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/admin/metering/loadtransfer/add/",
            {
                "feeder": feeder.pk,
                "starts_at_0": "02/03/2026",
                "starts_at_1": "02:15:00",
                "ends_at_0": "02/03/2026",
                "ends_at_1": "02:30:00",
                "reason": "Traspaso a alimentador vecino",
                "as_of": "02/03/2026",
            },
        )
    assert response.status_code == 302, response.context["adminform"].form.errors
    notices = [str(m) for m in get_messages(response.wsgi_request)]
    assert "Se calcula de nuevo la demanda mensual de: 03-2026." in notices
    head = MonthlyDemand.objects.get(feeder=feeder, month=MARCH)
    assert (head.max_kw, head.min_kw) == (Decimal("400.0"), Decimal("400.0"))

    # Deleted, the quarter-hour counts again.
    transfer = LoadTransfer.objects.get(reason="Traspaso a alimentador vecino")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/admin/metering/loadtransfer/{transfer.pk}/delete/", {"post": "yes"})
    assert MonthlyDemand.objects.get(feeder=feeder, month=MARCH).min_kw == Decimal("80.0")


def test_planners_may_record_load_transfers_but_not_touch_readings(client, planner):
    client.force_login(planner)
    assert client.get("/admin/metering/loadtransfer/add/").status_code == 200
    assert client.get("/admin/metering/meter/").status_code == 403
    assert client.get("/admin/metering/ingestrun/").status_code == 403


def test_a_month_all_in_load_transfer_withdraws_its_computed_figure_only(network):
    feeder, transformer = network
    monitoring.monthly_demand(MARCH)
    head = MonthlyDemand.objects.get(feeder=feeder, month=MARCH)
    assert head.computed
    # The utility's own figure for the transformer is not the computation's to withdraw.
    MonthlyDemand.objects.filter(transformer=transformer, month=MARCH).update(computed=False)

    # The whole month of both, in load transfers: no figure in normal operation.
    LoadTransfer.objects.create(feeder=feeder, starts_at=at(1, 0), ends_at=at(1, 0, month=4))
    LoadTransfer.objects.create(
        feeder=feeder, transformer=transformer, starts_at=at(1, 0), ends_at=at(1, 0, month=4)
    )
    monitoring.monthly_demand(MARCH)

    assert not MonthlyDemand.objects.filter(feeder=feeder, month=MARCH).exists()
    assert MonthlyDemand.objects.filter(transformer=transformer, month=MARCH).exists()
