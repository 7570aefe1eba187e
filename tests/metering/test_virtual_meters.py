"""Virtual meters: dated sums and differences of other meters' channels, computed after each
ingest into the readings store, refused when they refer to themselves or to what is missing."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from demand.models import MonthlyDemand
from metering.models import (
    Channel,
    EstimatedReading,
    IntervalReading,
    Meter,
    Quality,
    ReadingType,
    VirtualTerm,
)
from metering.services import ingest, monitoring, virtual
from tests.factories import make_feeder, make_meter, make_transformer

pytestmark = pytest.mark.django_db

A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
VOLTS = "0.0.2.6.0.1.54.0.0.0.0.0.0.0.128.0.29.0"
SANTIAGO = ZoneInfo("America/Santiago")
DAY = date(2026, 3, 10)


def slot(day: date, k: int) -> datetime:
    """The k-th interval end of the local day (1 = 00:15 … 96 = 24:00)."""
    return datetime(day.year, day.month, day.day, tzinfo=SANTIAGO) + timedelta(minutes=15 * k)


def write_csv(path: Path, rows: list[tuple[str, datetime, float]], code: str = A_PLUS) -> Path:
    lines = ["meter,reading_type,timestamp,value"]
    lines += [f"{serial},{code},{ts.isoformat()},{value}" for serial, ts, value in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def channel(meter: Meter, code: str = A_PLUS) -> Channel:
    return Channel.objects.select_related("meter", "reading_type").get_or_create(
        meter=meter, reading_type=ReadingType.objects.get(code=code)
    )[0]


def values(meter: Meter) -> dict[datetime, tuple[float, int]]:
    rows = IntervalReading.objects.filter(channel__meter=meter).values_list(
        "ts", "value", "quality"
    )
    return {ts: (value, quality) for ts, value, quality in rows}


@pytest.fixture
def points():
    """A feeder with two totalizers; a virtual feeder head = TOT-1 + TOT-2 and a virtual
    border point = TOT-1 − TOT-2, both from DAY on."""
    feeder = make_feeder()
    tot1 = make_meter("totalizer", serial="TOT-1", transformer=make_transformer(feeder=feeder))
    tot2 = make_meter("totalizer", serial="TOT-2", transformer=make_transformer(feeder=feeder))
    head = make_meter("feeder_head", serial="CAB-V", feeder=feeder, virtual=True)
    border = make_meter("border", serial="FRONTERA-V", feeder=feeder, virtual=True)
    s1, s2 = channel(tot1), channel(tot2)
    virtual.define(channel(head), [virtual.Term(s1, 1, DAY, None), virtual.Term(s2, 1, DAY, None)])
    virtual.define(
        channel(border), [virtual.Term(s1, 1, DAY, None), virtual.Term(s2, -1, DAY, None)]
    )
    return {"feeder": feeder, "tot1": tot1, "tot2": tot2, "head": head, "border": border}


def day_of_readings(tmp_path, name: str = "dia.csv", skip2: set[int] = frozenset()) -> Path:
    rows = []
    for k in range(1, 97):
        rows.append(("TOT-1", slot(DAY, k), round(1 + k / 100, 3)))
        if k not in skip2:
            rows.append(("TOT-2", slot(DAY, k), round(0.5 + k / 200, 3)))
    return write_csv(tmp_path / name, rows)


def test_an_ingest_computes_the_virtual_sum_and_difference_at_every_interval(points, tmp_path):
    result = ingest.ingest_file(day_of_readings(tmp_path))
    assert result.exit_code == 0
    assert result.virtual == 2 * 96
    head, border = values(points["head"]), values(points["border"])
    assert len(head) == len(border) == 96
    for k in (1, 40, 96):
        one, two = 1 + k / 100, 0.5 + k / 200
        assert head[slot(DAY, k)][0] == pytest.approx(one + two)
        assert border[slot(DAY, k)][0] == pytest.approx(one - two)
        assert head[slot(DAY, k)][1] == Quality.VALID
    assert "192 valores virtuales calculados" in result.summary()


def test_an_interval_where_a_source_has_no_value_gets_no_virtual_value(points, tmp_path):
    ingest.ingest_file(day_of_readings(tmp_path, skip2={10, 11}))
    head = values(points["head"])
    assert len(head) == 94
    assert slot(DAY, 10) not in head and slot(DAY, 12) in head


def test_an_estimate_of_a_source_enters_the_sum_and_says_so(points, tmp_path):
    ingest.ingest_file(day_of_readings(tmp_path, skip2={10}))
    EstimatedReading.objects.create(
        channel=channel(points["tot2"]), ts=slot(DAY, 10), value=0.55, method="interpolation"
    )
    virtual.compute(DAY, DAY)
    value, quality = values(points["head"])[slot(DAY, 10)]
    assert value == pytest.approx(1.10 + 0.55)
    assert quality == Quality.FROM_ESTIMATES
    assert values(points["head"])[slot(DAY, 11)][1] == Quality.VALID


def test_a_flagged_source_value_is_left_out_like_a_gap(points, tmp_path):
    ingest.ingest_file(day_of_readings(tmp_path))
    IntervalReading.objects.filter(channel__meter=points["tot1"], ts=slot(DAY, 5)).update(
        quality=Quality.SPIKE
    )
    virtual.compute(DAY, DAY)
    assert slot(DAY, 5) not in values(points["head"])


def test_a_new_definition_applies_from_its_day_and_the_old_one_ends_the_day_before(
    points, tmp_path
):
    next_day = DAY + timedelta(days=1)
    rows = [
        (s, slot(d, k), 1.0)
        for d in (DAY, next_day)
        for k in range(1, 97)
        for s in ("TOT-1", "TOT-2")
    ]
    ingest.ingest_file(write_csv(tmp_path / "dos.csv", rows))
    head_channel = channel(points["head"])
    virtual.define(head_channel, [virtual.Term(channel(points["tot1"]), 1, next_day, None)])
    old = VirtualTerm.objects.filter(channel=head_channel, valid_from=DAY)
    assert set(old.values_list("valid_to", flat=True)) == {DAY}
    virtual.compute(DAY, next_day)
    head = values(points["head"])
    assert head[slot(DAY, 30)][0] == pytest.approx(2.0)
    assert head[slot(next_day, 30)][0] == pytest.approx(1.0)


def test_a_recomputation_changes_nothing_and_removes_what_no_longer_has_a_definition(
    points, tmp_path
):
    ingest.ingest_file(day_of_readings(tmp_path))
    again = virtual.compute(DAY, DAY)
    assert again.written == 0 and again.removed == 0
    VirtualTerm.objects.filter(channel__meter=points["border"]).delete()
    only_head = virtual.compute(DAY, DAY, channel_ids=[channel(points["head"]).pk])
    assert only_head.written == only_head.removed == 0
    assert len(values(points["border"])) == 96
    gone = virtual.compute(DAY, DAY)
    assert gone.removed == 96
    assert values(points["border"]) == {}
    assert len(values(points["head"])) == 96


def test_a_virtual_meter_of_virtual_meters_is_computed_after_them(points, tmp_path):
    total = make_meter("border", serial="TOTAL-V", virtual=True)
    virtual.define(
        channel(total),
        [
            virtual.Term(channel(points["head"]), 1, DAY, None),
            virtual.Term(channel(points["border"]), 1, DAY, None),
        ],
    )
    assert virtual.levels()[-1] == [channel(total).pk]
    ingest.ingest_file(day_of_readings(tmp_path))
    # (a + b) + (a − b) = 2a
    assert values(total)[slot(DAY, 50)][0] == pytest.approx(2 * 1.5)


def test_a_definition_that_refers_to_itself_is_refused(points):
    head = channel(points["head"])
    with pytest.raises(virtual.DefinitionError, match="se refiere a sí mismo"):
        virtual.check_terms(head, [virtual.Term(head, 1, DAY, None)])


def test_a_definition_that_comes_back_to_itself_through_another_is_refused(points):
    total = make_meter("border", serial="TOTAL-V", virtual=True)
    virtual.define(channel(total), [virtual.Term(channel(points["head"]), 1, DAY, None)])
    with pytest.raises(virtual.DefinitionError, match="se refiere a sí misma: CAB-V → TOTAL-V"):
        virtual.check_terms(channel(points["head"]), [virtual.Term(channel(total), 1, DAY, None)])


def test_a_source_of_another_reading_type_or_a_real_target_is_refused(points):
    volts = channel(points["tot1"], VOLTS)
    with pytest.raises(virtual.DefinitionError, match="otro tipo de lectura"):
        virtual.check_terms(channel(points["head"]), [virtual.Term(volts, 1, DAY, None)])
    with pytest.raises(virtual.DefinitionError, match="no es un medidor virtual"):
        virtual.check_terms(
            channel(points["tot1"]), [virtual.Term(channel(points["tot2"]), 1, DAY, None)]
        )


def test_the_csv_import_reports_each_wrong_line_and_keeps_the_good_ones(points, tmp_path):
    make_meter("border", serial="NUEVO-V", virtual=True)
    make_meter("border", serial="OTRO-V", virtual=True)
    path = tmp_path / "virtuales.csv"
    path.write_text(
        "medidor_virtual;tipo_lectura;vigente_desde;vigente_hasta;formula\n"
        f"NUEVO-V;{A_PLUS};2026-03-01;;+TOT-1 -TOT-2\n"
        f"OTRO-V;{A_PLUS};2026-03-01;;+TOT-1 +NO-EXISTE\n"
        f"OTRO-V;{A_PLUS};2026-03-01;;+OTRO-V\n"
        f"TOT-1;{A_PLUS};2026-03-01;;+TOT-2\n"
        f"OTRO-V;{A_PLUS};01-13-2026;;+TOT-2\n"
        f"OTRO-V;{A_PLUS};2026-03-01;;TOT-2\n",
        encoding="utf-8",
    )
    result = virtual.import_definitions(path)
    assert result.defined == 1
    assert result.errors == [
        "virtuales.csv, línea 3: formula: el medidor 'NO-EXISTE' no existe",
        f"virtuales.csv, línea 4: OTRO-V/{A_PLUS} se refiere a sí mismo",
        "virtuales.csv, línea 5: medidor_virtual: TOT-1 no es un medidor virtual",
        "virtuales.csv, línea 6: vigente_desde: fecha '01-13-2026' no válida (AAAA-MM-DD)",
        "virtuales.csv, línea 7: término 'TOT-2': escriba + o - seguido del número de serie, "
        "p. ej. +TOT-1",
    ]
    assert result.exit_status == 3
    assert VirtualTerm.objects.filter(channel__meter__serial="NUEVO-V").count() == 2
    again = virtual.import_definitions(path)
    assert again.defined == 0 and again.unchanged == 1
    assert VirtualTerm.objects.filter(channel__meter__serial="NUEVO-V").count() == 2


def test_a_source_meter_without_that_channel_is_refused_by_name(points, tmp_path):
    make_meter("border", serial="NUEVO-V", virtual=True)
    make_meter("totalizer", serial="SIN-CANAL")
    path = tmp_path / "v.csv"
    path.write_text(
        "medidor_virtual;tipo_lectura;vigente_desde;vigente_hasta;formula\n"
        f"NUEVO-V;{A_PLUS};2026-03-01;;+SIN-CANAL\n",
        encoding="utf-8",
    )
    result = virtual.import_definitions(path)
    assert result.exit_status == 1
    assert result.errors == [
        f"v.csv, línea 2: formula: el medidor SIN-CANAL no tiene el canal {A_PLUS} "
        "(Energía activa importada, 15 min)"
    ]


def test_the_import_command_exit_status_says_whether_everything_was_accepted(points, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text(
        "medidor_virtual;tipo_lectura;vigente_desde;vigente_hasta;formula\n"
        f"CAB-V;{A_PLUS};2026-04-01;;+TOT-1\n",
        encoding="utf-8",
    )
    call_command("import_virtual_meters", str(path))  # exit 0: no SystemExit
    path.write_text(path.read_text() + f"CAB-V;{A_PLUS};2026-05-01;;+CAB-V\n", encoding="utf-8")
    with pytest.raises(SystemExit) as stop:
        call_command("import_virtual_meters", str(path))
    assert stop.value.code == 3


def test_the_head_end_cannot_send_values_for_a_virtual_meter(points, tmp_path):
    result = ingest.ingest_file(write_csv(tmp_path / "v.csv", [("CAB-V", slot(DAY, 1), 9.0)]))
    assert result.exit_code == 3
    assert result.rejections[0].reason.startswith("medidor virtual")
    assert values(points["head"]) == {}


def test_a_virtual_feeder_head_gives_its_feeder_monthly_demand(points, tmp_path):
    ingest.ingest_file(day_of_readings(tmp_path))
    monitoring.monthly_demand(DAY.replace(day=1))
    demand = MonthlyDemand.objects.get(feeder=points["feeder"], month=DAY.replace(day=1))
    # kW = kWh of the interval × 4: the largest interval is 96 (1.96 + 0.98).
    assert demand.max_kw == Decimal(str(round((1.96 + 0.98) * 4, 1)))


def test_a_real_feeder_head_wins_over_a_virtual_one_of_the_same_feeder(points, tmp_path):
    make_meter("feeder_head", serial="CAB-REAL", feeder=points["feeder"])
    rows = [("CAB-REAL", slot(DAY, k), 10.0) for k in range(1, 97)]
    ingest.ingest_file(write_csv(tmp_path / "real.csv", rows))
    ingest.ingest_file(day_of_readings(tmp_path))
    monitoring.monthly_demand(DAY.replace(day=1))
    demand = MonthlyDemand.objects.get(feeder=points["feeder"], month=DAY.replace(day=1))
    assert demand.max_kw == Decimal("40.0")


def test_the_monthly_interval_file_for_sec_leaves_the_virtual_values_out(points, tmp_path):
    from django.db import connection

    from regulator.cut import INTERVAL_SELECT

    ingest.ingest_file(day_of_readings(tmp_path))
    sql = INTERVAL_SELECT.format(partition="metering_intervalreading", where="", limit="")
    with connection.cursor() as cur:
        cur.execute(sql)
        serials = {row[0] for row in cur.fetchall()}
    assert serials == {"TOT-1", "TOT-2"}
