"""VEE: checks flag raw readings, estimates go apart, a report per channel and day."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metering.models import EstimatedReading, IntervalReading, Quality, ValidationDay
from metering.services import ingest, vee
from tests.factories import make_meter

pytestmark = pytest.mark.django_db

A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
SANTIAGO = ZoneInfo("America/Santiago")
DAY = date(2026, 3, 10)  # a Tuesday; the four Tuesdays before are the like days


def pattern(k: int) -> float:
    """The value of the day's k-th slot (1 = 00:15 … 96 = 24:00): never two equal in a row."""
    return round(0.2 + 0.005 * k, 3)


def slot(day: date, hour: int, minute: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=SANTIAGO) + timedelta(
        hours=hour, minutes=minute
    )


def write_csv(path: Path, rows: list[tuple[datetime, float]]) -> Path:
    lines = ["meter,reading_type,timestamp,value"]
    lines += [f"MV-1,{A_PLUS},{ts.isoformat()},{value}" for ts, value in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def history(tmp_path):
    """29 days of a daily pattern ending on DAY, and on DAY: a 2-slot gap (03:15, 03:30), an
    8-slot gap (10:15–12:00), a negative (05:00), a spike (07:00), a flat line of 9 slots
    (14:15–16:15), and a reading 2 minutes late (20:17) in place of 20:15."""
    meter = make_meter("customer", serial="MV-1")
    rows = []
    for offset in range(28, -1, -1):
        day = DAY - timedelta(days=offset)
        for k in range(1, 97):
            ts = slot(day, 0, 15 * k)
            rows.append((ts, pattern(k)))
    special = {
        slot(DAY, 3, 15): None,
        slot(DAY, 3, 30): None,
        slot(DAY, 5, 0): -0.5,
        slot(DAY, 7, 0): 50.0,
        slot(DAY, 20, 15): None,
    }
    special.update({slot(DAY, 10, 15) + timedelta(minutes=15 * i): None for i in range(8)})
    special.update({slot(DAY, 14, 15) + timedelta(minutes=15 * i): 0.77 for i in range(9)})
    data = []
    for ts, value in rows:
        if ts in special:
            if special[ts] is not None:
                data.append((ts, special[ts]))
        else:
            data.append((ts, value))
    data.append((slot(DAY, 20, 17), 0.61))
    result = ingest.ingest_file(write_csv(tmp_path / "h.csv", data), report_path=tmp_path / "r")
    assert result.rejected == 0
    return meter


def raw(ts: datetime) -> IntervalReading:
    return IntervalReading.objects.get(channel__meter__serial="MV-1", ts=ts)


def estimate(ts: datetime) -> EstimatedReading:
    return EstimatedReading.objects.get(channel__meter__serial="MV-1", ts=ts)


def test_the_day_report_counts_what_each_check_found(history):
    vee.validate(DAY, DAY)

    report = ValidationDay.objects.get(channel__meter=history, day=DAY)
    assert (report.expected, report.received, report.missing) == (96, 85, 11)
    assert (report.negatives, report.spikes, report.flat, report.clock) == (1, 1, 9, 1)
    assert report.duplicates == 1  # 20:17 falls in the 20:30 slot, which has its own reading
    assert report.estimated == 22
    assert not report.complete


def test_checks_flag_the_raw_values_without_changing_them(history):
    vee.validate(DAY, DAY)

    assert raw(slot(DAY, 5, 0)).quality == Quality.NEGATIVE
    assert raw(slot(DAY, 5, 0)).value == -0.5
    assert raw(slot(DAY, 7, 0)).quality == Quality.SPIKE
    assert raw(slot(DAY, 14, 15)).quality == Quality.FLAT
    assert raw(slot(DAY, 20, 17)).quality == Quality.CLOCK
    assert raw(slot(DAY, 6, 0)).quality == Quality.VALID


def test_short_gaps_are_interpolated_and_long_ones_come_from_like_days(history):
    vee.validate(DAY, DAY)

    before, after = pattern(12), pattern(15)  # 03:00 and 03:45
    first, second = estimate(slot(DAY, 3, 15)), estimate(slot(DAY, 3, 30))
    assert first.method == second.method == EstimatedReading.Method.INTERPOLATION
    assert first.value == pytest.approx(before + (after - before) / 3)
    assert second.value == pytest.approx(before + 2 * (after - before) / 3)
    assert not first.replaces_invalid
    negative = estimate(slot(DAY, 5, 0))
    assert negative.replaces_invalid and negative.value == pytest.approx(
        (pattern(19) + pattern(21)) / 2
    )
    gap = estimate(slot(DAY, 11, 0))
    assert gap.method == EstimatedReading.Method.LIKE_DAYS
    assert gap.value == pytest.approx(pattern(44))
    flat = estimate(slot(DAY, 15, 0))
    assert flat.method == EstimatedReading.Method.LIKE_DAYS and flat.replaces_invalid
    assert not EstimatedReading.objects.filter(ts=slot(DAY, 6, 0)).exists()


def test_running_it_again_gives_the_same_flags_estimates_and_report(history):
    vee.validate(DAY, DAY)
    first = (
        sorted(EstimatedReading.objects.values_list("ts", "value", "method")),
        sorted(IntervalReading.objects.values_list("ts", "quality")),
        list(ValidationDay.objects.values_list("day", "missing", "estimated", "flat")),
    )
    vee.validate(DAY, DAY)
    again = (
        sorted(EstimatedReading.objects.values_list("ts", "value", "method")),
        sorted(IntervalReading.objects.values_list("ts", "quality")),
        list(ValidationDay.objects.values_list("day", "missing", "estimated", "flat")),
    )
    assert again == first


def test_a_late_value_replaces_its_estimate(history, tmp_path):
    vee.validate(DAY, DAY)
    late = write_csv(tmp_path / "late.csv", [(slot(DAY, 3, 15), pattern(13))])
    ingest.ingest_file(late, report_path=tmp_path / "r2")

    vee.validate(DAY, DAY)

    assert not EstimatedReading.objects.filter(ts=slot(DAY, 3, 15)).exists()
    assert estimate(slot(DAY, 3, 30)).value == pytest.approx((pattern(13) + pattern(15)) / 2)
    assert ValidationDay.objects.get(day=DAY).missing == 10


def test_thresholds_come_from_settings(history, settings):
    settings.VEE_FLAT_INTERVALS = 10  # the 9-slot flat line is no longer one
    vee.validate(DAY, DAY)
    assert ValidationDay.objects.get(day=DAY).flat == 0
    assert raw(slot(DAY, 14, 15)).quality == Quality.VALID


def test_the_head_end_flag_survives_validation(history):
    IntervalReading.objects.filter(ts=slot(DAY, 6, 0)).update(quality=Quality.SOURCE)
    vee.validate(DAY, DAY)
    assert raw(slot(DAY, 6, 0)).quality == Quality.SOURCE
