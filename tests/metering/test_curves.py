"""Curves and groups (issue point 6): the values of each curve against a hand computation on
a few intervals, over the validated series (flagged raw values left out, estimates in)."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from metering.models import Channel, EstimatedReading
from metering.services import curves, groups, ingest, monitoring
from metering.services.vee import Quality
from tests.factories import (
    make_comuna,
    make_customer,
    make_feeder,
    make_meter,
    make_transformer,
)

pytestmark = pytest.mark.django_db

A_PLUS, A_MINUS = monitoring.A_PLUS, monitoring.A_MINUS
V1, V2 = curves.QUANTITIES["tension"].codes[:2]
PF = curves.QUANTITIES["factor-potencia"].codes[0]
SANTIAGO = ZoneInfo("America/Santiago")
# 2026-03-02 is a Monday; Chile keeps UTC−3 until April.
MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), SANTIAGO)


def load(tmp_path: Path, rows) -> None:
    path = tmp_path / f"l{len(list(tmp_path.iterdir()))}.csv"
    path.write_text(
        "meter,reading_type,timestamp,value\n"
        + "".join(f"{m},{rt},{ts.isoformat()},{v}\n" for m, rt, ts, v in rows),
        encoding="utf-8",
    )
    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv")
    assert result.rejected == 0, result.rejections


@pytest.fixture
def grid(tmp_path):
    """Two feeders; A and B on transformer T1 of feeder F1 in comuna 1, C on T2 of F2 in
    comuna 2. Readings (interval ends, kWh per 15 min) on Monday and Tuesday."""
    comuna_1, comuna_2 = make_comuna(code="09101"), make_comuna(code="09102")
    f1, f2 = make_feeder(code="AL-1"), make_feeder(code="AL-2")
    t1, t2 = make_transformer(feeder=f1, code="TD-1"), make_transformer(feeder=f2, code="TD-2")
    a = make_customer(transformer=t1, comuna=comuna_1, tariff="BT1a")
    b = make_customer(transformer=t1, comuna=comuna_1, tariff="BT2")
    c = make_customer(transformer=t2, comuna=comuna_2, tariff="BT1a")
    make_customer(transformer=t1, comuna=comuna_1, tariff="BT1a")  # no meter
    make_meter("customer", serial="M-A", customer=a)
    make_meter("customer", serial="M-B", customer=b)
    make_meter("customer", serial="M-C", customer=c)
    make_meter("totalizer", serial="TT-1", transformer=t1)  # not a customer meter
    rows = [
        # A: 1 kWh in each of 00:00-00:15 and 00:15-00:30, Monday and Tuesday (4 kW).
        ("M-A", A_PLUS, at(MONDAY, 0, 15), 1.0),
        ("M-A", A_PLUS, at(MONDAY, 0, 30), 1.0),
        ("M-A", A_PLUS, at(TUESDAY, 0, 15), 2.0),
        ("M-A", A_PLUS, at(TUESDAY, 0, 30), 0.5),
        # B exports 0.25 kWh at 00:00-00:15 on Monday: −1 kW net.
        ("M-B", A_PLUS, at(MONDAY, 0, 15), 0.0),
        ("M-B", A_MINUS, at(MONDAY, 0, 15), 0.25),
        ("M-B", A_PLUS, at(TUESDAY, 0, 15), 3.0),
        # C on the other feeder.
        ("M-C", A_PLUS, at(MONDAY, 0, 15), 5.0),
        ("TT-1", A_PLUS, at(MONDAY, 0, 15), 100.0),
        # A's voltage: two phases, four intervals on Monday.
        ("M-A", V1, at(MONDAY, 10, 15), 221.0),
        ("M-A", V1, at(MONDAY, 10, 30), 223.0),
        ("M-A", V1, at(MONDAY, 10, 45), 199.0),
        ("M-A", V2, at(MONDAY, 10, 15), 230.0),
        ("M-A", PF, at(MONDAY, 10, 15), 0.95),
    ]
    load(tmp_path, rows)
    return {"comunas": (comuna_1, comuna_2), "feeders": (f1, f2), "transformers": (t1, t2)}


def channel(serial: str, code: str) -> Channel:
    return Channel.objects.get(meter__serial=serial, reading_type__code=code)


TWO_DAYS = curves.Period(MONDAY, TUESDAY)


def test_a_meters_load_curves_are_its_kw_per_interval(grid):
    from metering.models import Meter

    load = curves.load_curves(Meter.objects.get(serial="M-A"), TWO_DAYS)
    assert load.bucket_minutes == 15 and load.intervals == 4 and load.meters == 1
    # Mean kW per time of day: 00:00 → (4 + 8) / 2, 00:15 → (4 + 2) / 2.
    assert load.daily == [(time(0, 0), 6.0), (time(0, 15), 3.0)]
    assert load.weekly == [(1, time(0, 0), 4.0), (1, time(0, 15), 4.0),
                           (2, time(0, 0), 8.0), (2, time(0, 15), 2.0)]  # fmt: skip
    assert [kw for _, kw in load.duration] == [8.0, 4.0, 4.0, 2.0]
    assert [pct for pct, _ in load.duration] == [25.0, 50.0, 75.0, 100.0]
    assert [(p.starts, p.mean) for p in load.series] == [
        (at(MONDAY, 0, 0), 4.0), (at(MONDAY, 0, 15), 4.0),
        (at(TUESDAY, 0, 0), 8.0), (at(TUESDAY, 0, 15), 2.0),
    ]  # fmt: skip


def test_a_group_load_is_the_sum_of_its_meters_net_kw(grid):
    feeder = groups.resolve_group(groups.FEEDER, "AL-1")
    load = curves.load_curves(feeder, TWO_DAYS)
    # Monday 00:00: A 4 kW + B (0 − 0.25) × 4 = 3 kW; Tuesday 00:00: 8 + 12 = 20 kW.
    assert [(p.starts, p.mean) for p in load.series] == [
        (at(MONDAY, 0, 0), 3.0), (at(MONDAY, 0, 15), 4.0),
        (at(TUESDAY, 0, 0), 20.0), (at(TUESDAY, 0, 15), 2.0),
    ]  # fmt: skip
    assert load.daily == [(time(0, 0), 11.5), (time(0, 15), 3.0)]
    assert [kw for _, kw in load.duration] == [20.0, 4.0, 3.0, 2.0]
    assert load.meters == 2  # the totalizer is not a customer meter; C is on the other feeder


def test_each_kind_of_group_selects_its_customers_meters(grid):
    comuna_1, comuna_2 = grid["comunas"]
    cases = {
        (groups.COMUNA, "09101"): {"M-A", "M-B"},
        (groups.COMUNA, "09102"): {"M-C"},
        (groups.FEEDER, "AL-2"): {"M-C"},
        (groups.TRANSFORMER, "TD-1"): {"M-A", "M-B"},
        (groups.TARIFF, "BT1a"): {"M-A", "M-C"},
        (groups.TARIFF, "bt2"): {"M-B"},
    }
    for (kind, key), serials in cases.items():
        group = groups.parse_group({"grupo": kind, "clave": key})
        assert set(group.meters().values_list("serial", flat=True)) == serials, (kind, key)
        sql, params = group.meters_sql()
        with connection.cursor() as cur:
            cur.execute(f"SELECT serial FROM metering_meter WHERE id IN ({sql})", params)
            assert {r[0] for r in cur.fetchall()} == serials, (kind, key)
    assert groups.parse_group({"grupo": "comuna", "clave": "09101"}).label.endswith("(09101)")
    assert groups.parse_group({"grupo": "tarifa", "clave": "bt2"}).key == "BT2"


@pytest.mark.parametrize(
    ("params", "error", "words"),
    [
        ({}, groups.GroupError, "Elija el tipo de grupo"),
        ({"grupo": "region", "clave": "13"}, groups.GroupError, "Tipo de grupo desconocido"),
        ({"grupo": "comuna"}, groups.GroupError, "Indique la clave"),
        ({"grupo": "comuna", "clave": "abc"}, groups.GroupError, "mal escrita"),
        ({"grupo": "comuna", "clave": "99999"}, groups.GroupNotFound, "No existe la comuna"),
        ({"grupo": "alimentador", "clave": "NO"}, groups.GroupNotFound, "No existe el alimentador"),
        ({"grupo": "transformador", "clave": "NO"}, groups.GroupNotFound, "transformador"),
        ({"grupo": "tarifa", "clave": "BT9"}, groups.GroupNotFound, "No existe la opción"),
    ],
)
def test_an_unknown_or_malformed_group_says_what_is_wrong(grid, params, error, words):
    with pytest.raises(error) as raised:
        groups.parse_group(params)
    assert words in str(raised.value)


def test_flagged_raw_values_are_left_out_and_estimates_count(grid):
    from metering.models import IntervalReading, Meter

    IntervalReading.objects.filter(channel=channel("M-A", A_PLUS), ts=at(TUESDAY, 0, 15)).update(
        quality=Quality.SPIKE
    )
    EstimatedReading.objects.create(
        channel=channel("M-A", A_PLUS), ts=at(TUESDAY, 0, 15), value=1.5, method="interpolation"
    )
    load = curves.load_curves(Meter.objects.get(serial="M-A"), TWO_DAYS)
    assert load.weekly[2] == (2, time(0, 0), 6.0)  # the estimate's 1.5 kWh, not the spike's 2


def test_a_meters_voltage_per_interval_then_per_hour(grid):
    from metering.models import Meter

    meter = Meter.objects.get(serial="M-A")
    raw = curves.quantity_curves(meter, curves.QUANTITIES["tension"], TWO_DAYS)
    assert raw.bucket_minutes == 15
    assert [line.name for line in raw.lines] == ["Tensión fase L1", "Tensión fase L2"]
    assert [(p.starts, p.mean) for p in raw.lines[0].points] == [
        (at(MONDAY, 10, 0), 221.0), (at(MONDAY, 10, 15), 223.0), (at(MONDAY, 10, 30), 199.0)
    ]  # fmt: skip
    month = curves.Period(date(2026, 2, 20), date(2026, 4, 30))
    hourly = curves.quantity_curves(meter, curves.QUANTITIES["tension"], month)
    assert hourly.bucket_minutes == 60
    (point,) = hourly.lines[0].points
    assert point.starts == at(MONDAY, 10, 0)
    assert (point.low, point.high) == (199.0, 223.0)
    assert point.mean == pytest.approx((221 + 223 + 199) / 3)
    year = curves.Period(date(2025, 6, 1), date(2026, 5, 31))
    daily = curves.quantity_curves(meter, curves.QUANTITIES["tension"], year)
    assert daily.bucket_minutes == 1440
    assert daily.lines[0].points[0].starts == at(MONDAY, 0, 0)
    pf = curves.quantity_curves(meter, curves.QUANTITIES["factor-potencia"], TWO_DAYS)
    assert [(line.name, line.points[0].mean) for line in pf.lines] == [("Factor de potencia", 0.95)]


def test_a_long_load_duration_curve_is_sampled_by_rank(grid, monkeypatch):
    from metering.models import Meter

    monkeypatch.setattr(curves, "DURATION_POINTS", 2)
    load = curves.load_curves(Meter.objects.get(serial="M-A"), TWO_DAYS)
    # Four values 8, 4, 4, 2: every second rank and the last.
    assert load.duration == [(25.0, 8.0), (75.0, 4.0), (100.0, 2.0)]


@pytest.mark.parametrize(
    ("first", "last", "words"),
    [
        ("2026-13-01", "2026-03-01", "fecha inicial «2026-13-01» no es válida"),
        ("2026-03-01", "", "fecha final «(vacía)» no es válida"),
        ("2026-03-05", "2026-03-01", "es anterior a la inicial"),
        ("2025-01-01", "2026-01-02", "tiene 367 días: el máximo es 366"),
    ],
)
def test_a_bad_period_is_refused_with_a_clear_message(first, last, words):
    with pytest.raises(curves.PeriodError) as raised:
        curves.parse_period(first, last)
    assert words in str(raised.value)


def test_the_period_is_whole_local_days_and_a_year_is_allowed():
    period = curves.parse_period("2025-01-01", "2026-01-01")
    assert period.days == 366
    start, end = period.bounds()
    assert start == datetime(2025, 1, 1, tzinfo=SANTIAGO)
    assert end == datetime(2026, 1, 2, tzinfo=SANTIAGO)
    assert curves.parse_period("", "").days == curves.DEFAULT_DAYS
