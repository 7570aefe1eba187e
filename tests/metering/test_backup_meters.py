"""Main and backup meters: the daily comparison, the backup as the VEE's first substitute,
and the backup kept out of the demands and balances it would count twice."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import override_settings

from demand.models import MonthlyDemand
from metering.models import BackupComparison, EstimatedReading, Meter
from metering.services import backup, ingest, monitoring, vee
from tests.factories import make_meter, make_transformer

pytestmark = pytest.mark.django_db

A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
SANTIAGO = ZoneInfo("America/Santiago")
DAY = date(2026, 3, 10)


def slot(day: date, k: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SANTIAGO) + timedelta(minutes=15 * k)


def write_csv(path: Path, rows: list[tuple[str, datetime, float]]) -> Path:
    lines = ["meter,reading_type,timestamp,value"]
    lines += [f"{serial},{A_PLUS},{ts.isoformat()},{value}" for serial, ts, value in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def pair():
    transformer = make_transformer()
    main = make_meter("totalizer", serial="PRINCIPAL", transformer=transformer)
    spare = make_meter("totalizer", serial="RESPALDO", transformer=transformer, backup_for=main)
    return main, spare


def test_a_day_whose_backup_measures_one_percent_more_is_flagged(pair, tmp_path):
    rows = []
    for k in range(1, 97):
        rows.append(("PRINCIPAL", slot(DAY, k), 1.0))
        rows.append(("RESPALDO", slot(DAY, k), 1.0 + (0.96 if k == 50 else 0.0)))
    ingest.ingest_file(write_csv(tmp_path / "d.csv", rows))
    result = backup.compare(DAY, DAY)
    assert (result.days, result.flagged) == (1, 1)
    row = BackupComparison.objects.get()
    assert row.channel.meter.serial == "PRINCIPAL"
    assert row.backup_channel.meter.serial == "RESPALDO"
    assert (row.intervals, row.main_missing, row.backup_missing) == (96, 0, 0)
    assert row.main_kwh == pytest.approx(96.0)
    assert row.backup_kwh == pytest.approx(96.96)
    assert row.difference == pytest.approx(0.96)
    assert row.difference_pct == pytest.approx(1.0)
    assert row.max_interval_difference == pytest.approx(0.96)
    assert row.max_interval_at == slot(DAY, 50)
    assert row.flagged


def test_a_small_difference_is_shown_but_not_flagged_and_a_rerun_changes_nothing(pair, tmp_path):
    rows = [(s, slot(DAY, k), 1.0) for k in range(1, 97) for s in ("PRINCIPAL", "RESPALDO")]
    rows[-1] = ("RESPALDO", slot(DAY, 96), 1.2)
    ingest.ingest_file(write_csv(tmp_path / "d.csv", rows))
    backup.compare(DAY, DAY)
    first = BackupComparison.objects.values().get()
    assert first["difference_pct"] == pytest.approx(0.2 / 96 * 100)
    assert not first["flagged"]
    again = backup.compare(DAY, DAY)
    assert again.days == 1 and BackupComparison.objects.count() == 1
    assert BackupComparison.objects.values().get()["difference"] == first["difference"]


def test_intervals_only_one_meter_delivered_are_counted_apart(pair, tmp_path):
    rows = [("PRINCIPAL", slot(DAY, k), 1.0) for k in range(1, 97) if k != 7]
    rows += [("RESPALDO", slot(DAY, k), 1.0) for k in range(1, 97) if k not in (8, 9)]
    ingest.ingest_file(write_csv(tmp_path / "d.csv", rows))
    backup.compare(DAY, DAY)
    row = BackupComparison.objects.get()
    assert (row.intervals, row.main_missing, row.backup_missing) == (93, 1, 2)
    assert row.main_kwh == row.backup_kwh == pytest.approx(93.0)


def test_the_vee_fills_a_gap_of_the_main_meter_from_its_backup_first(pair, tmp_path):
    # Values that vary (a flat line would be flagged by the VEE).
    rows = [("PRINCIPAL", slot(DAY, k), 1.0 + k / 500) for k in range(1, 97) if not 20 <= k <= 30]
    rows += [("RESPALDO", slot(DAY, k), 1.0 + k / 1000) for k in range(1, 97)]
    ingest.ingest_file(write_csv(tmp_path / "d.csv", rows))
    vee.validate(DAY, DAY)
    estimates = EstimatedReading.objects.filter(channel__meter=pair[0]).order_by("ts")
    assert [e.ts for e in estimates] == [slot(DAY, k) for k in range(20, 31)]
    assert {e.method for e in estimates} == {"backup"}
    assert estimates[0].value == pytest.approx(1.020)
    assert estimates[0].get_method_display() == "medidor de respaldo"


@override_settings(VEE_BACKUP_SUBSTITUTE=False)
def test_without_the_backup_substitute_the_vee_interpolates(pair, tmp_path):
    rows = [("PRINCIPAL", slot(DAY, k), 1.0 + k / 500) for k in range(1, 97) if k not in (20, 21)]
    rows += [("RESPALDO", slot(DAY, k), 5.0 + k / 500) for k in range(1, 97)]
    ingest.ingest_file(write_csv(tmp_path / "d.csv", rows))
    vee.validate(DAY, DAY)
    methods = set(
        EstimatedReading.objects.filter(channel__meter=pair[0]).values_list("method", flat=True)
    )
    assert methods == {"interpolation"}


def test_the_backup_is_left_out_of_the_monthly_demand_and_the_balance(pair, tmp_path):
    main, _ = pair
    rows = [("PRINCIPAL", slot(DAY, k), 1.0) for k in range(1, 97)]
    rows += [("RESPALDO", slot(DAY, k), 2.0) for k in range(1, 97)]
    ingest.ingest_file(write_csv(tmp_path / "d.csv", rows))
    month = DAY.replace(day=1)
    monitoring.monthly_demand(month)
    demand = MonthlyDemand.objects.get(transformer=main.transformer, month=month)
    assert demand.max_kw == Decimal("4.0")
    monitoring.energy_balance(month)
    balance = main.transformer.energy_balances.get(month=month)
    assert balance.supplied_kwh == Decimal("96.000")


def test_a_backup_must_measure_the_same_point_and_be_real(pair):
    main, _ = pair
    other = Meter(
        serial="OTRO", kind="totalizer", transformer=make_transformer(), backup_for=main,
        installed_on=DAY,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="mide el mismo punto"):
        other.full_clean()
    virtual = Meter(
        serial="V", kind="totalizer", transformer=main.transformer, backup_for=main,
        virtual=True, installed_on=DAY,
    )  # fmt: skip
    with pytest.raises(ValidationError, match="virtual"):
        virtual.full_clean()
    with pytest.raises(IntegrityError), transaction.atomic():
        Meter.objects.filter(pk=main.pk).update(backup_for=main)


def test_the_backup_page_lists_the_flagged_day_first_for_planners(pair, tmp_path, client):
    from accounts.models import User

    rows = [(s, slot(DAY, k), 1.0) for k in range(1, 97) for s in ("PRINCIPAL", "RESPALDO")]
    rows[1] = ("RESPALDO", slot(DAY, 1), 3.0)
    ingest.ingest_file(write_csv(tmp_path / "d.csv", rows))
    backup.compare(DAY, DAY)
    planner = User.objects.create_user("plan", password="x-y-z-123456", profile="planner")
    client.force_login(planner)
    page = client.get("/medicion/respaldo/", {"mes": "2026-03"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "PRINCIPAL" in text and "RESPALDO" in text and "Sobre el umbral" in text
    assert planner.accesses.filter(kind="puntos_medicion").exists()
    customer = User.objects.create_user("pub", password="x-y-z-123456", profile="public")
    client.force_login(customer)
    assert client.get("/medicion/respaldo/").status_code == 403
