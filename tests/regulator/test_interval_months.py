"""The interval store's capture: one change per statement and local month it touched, the
months found from the statement's first and last instant when that is exact (migration 0006),
from every row otherwise. Either way the change rows are those of the DISTINCT over the rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection

from metering.services.partitions import ensure_partitions
from regulator.capture import INTERVAL_ENTITY
from regulator.models import Change, CurrentTxid

pytestmark = pytest.mark.django_db

SANTIAGO = ZoneInfo("America/Santiago")
QUARTER = timedelta(minutes=15)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SANTIAGO)


@pytest.fixture(autouse=True)
def store():
    ensure_partitions(local(2025, 12, 1), local(2026, 6, 1))


def captured() -> list[tuple[str, str, dict]]:
    """(month, type, payload) of the interval changes this transaction captured, in order."""
    rows = Change.objects.filter(txid=CurrentTxid(), aggregatetype=INTERVAL_ENTITY)
    return list(rows.order_by("id").values_list("aggregateid", "type", "payload"))


def months_of(stamps: list[datetime]) -> set[str]:
    """The local months of the instants, as the trigger's key computes them in SQL."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT DISTINCT to_char(ts AT TIME ZONE 'America/Santiago', 'YYYY-MM') "
            "FROM unnest(%s::timestamptz[]) AS t(ts)",
            [stamps],
        )
        return {month for (month,) in cur.fetchall()}


def insert(stamps: list[datetime], channel: int = 1) -> None:
    """One statement: the readings of a channel at these instants."""
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO metering_intervalreading (channel_id, run_id, ts, value, quality) "
            "SELECT %s, 1, ts, 1.0, 0 FROM unnest(%s::timestamptz[]) AS t(ts)",
            [channel, stamps],
        )


def every_quarter(start: datetime, end: datetime) -> list[datetime]:
    """In UTC: an aware datetime in a zone adds wall-clock time, not elapsed time."""
    stamps, ts, end = [], start.astimezone(UTC), end.astimezone(UTC)
    while ts <= end:
        stamps.append(ts)
        ts += QUARTER
    return stamps


def one_change_per_month(stamps: list[datetime], kind: str = "insert") -> None:
    found = captured()
    assert sorted(month for month, _, _ in found) == sorted(months_of(stamps))
    assert all(t == kind and payload == {"month": month} for month, t, payload in found)


@pytest.mark.parametrize(
    "stamps",
    [
        # Within one month.
        every_quarter(local(2026, 3, 2, 0, 15), local(2026, 3, 9)),
        # A month of a head-end's profile: the last interval ends at midnight of the 1st.
        every_quarter(local(2026, 3, 1, 0, 15), local(2026, 4, 1)),
        # Two consecutive months, the statement's instants out of order.
        [local(2026, 2, 10), local(2026, 1, 31, 23, 45), local(2026, 2, 1, 0, 15)],
        # January and March, nothing in February: not a month in between.
        [local(2026, 1, 15), local(2026, 3, 15)],
        # Four months.
        [local(2025, 12, 31, 23), local(2026, 2, 5), local(2026, 3, 1), local(2026, 4, 1, 1)],
        # Across the April change of offset (clocks back at 00:00 on the 5th, -03 to -04).
        every_quarter(local(2026, 3, 31, 22), local(2026, 4, 6)),
        # One instant.
        [local(2026, 5, 31, 23, 45)],
    ],
    ids=["one", "profile", "two-unordered", "gap", "four", "april-offset", "single"],
)
def test_an_insert_captures_each_local_month_it_touched_once(stamps):
    Change.objects.filter(txid=CurrentTxid()).delete()
    insert(stamps)

    one_change_per_month(stamps)


def test_updates_and_deletes_capture_the_months_of_the_rows_they_touched():
    march = every_quarter(local(2026, 3, 1, 0, 15), local(2026, 4, 1))
    insert(march, channel=1)
    insert([local(2026, 1, 10), local(2026, 5, 10)], channel=2)
    Change.objects.filter(txid=CurrentTxid()).delete()

    with connection.cursor() as cur:
        cur.execute("UPDATE metering_intervalreading SET quality = 1 WHERE channel_id = 1")
    one_change_per_month(march, "update")

    Change.objects.filter(txid=CurrentTxid()).delete()
    with connection.cursor() as cur:
        cur.execute("DELETE FROM metering_intervalreading WHERE channel_id = 2")
    assert sorted((month, t) for month, t, _ in captured()) == [
        ("2026-01", "delete"),
        ("2026-05", "delete"),
    ]


def test_a_statement_that_touches_no_reading_captures_nothing():
    Change.objects.filter(txid=CurrentTxid()).delete()
    insert([])
    with connection.cursor() as cur:
        cur.execute("UPDATE metering_intervalreading SET quality = 1 WHERE channel_id = -1")
        cur.execute("DELETE FROM metering_intervalreading WHERE channel_id = -1")

    assert captured() == []
