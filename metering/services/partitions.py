"""Monthly partitions of metering_intervalreading, created when data for a month arrives.

Months are local (settings.TIME_ZONE, America/Santiago): the monthly demand and balance read
one partition each. A partition is created under an advisory lock, so two ingests of the
same new month do not race.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection

from core.months import month_start, months_between, next_month

TABLE = "metering_intervalreading"
LOCK_KEY = 7_261_001  # pg_advisory_xact_lock key for partition creation


def partition_name(month: date) -> str:
    return f"{TABLE}_{month:%Y_%m}"


def ensure_partitions(first: datetime, last: datetime) -> list[str]:
    """Create the monthly partitions that hold [first, last] and do not exist yet; return
    the names created. Runs inside the caller's transaction."""
    zone = ZoneInfo(settings.TIME_ZONE)
    created = []
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        existing = {row[0] for row in cur.fetchall()}
        for month in months_between(month_start(first), month_start(last)):
            name = partition_name(month)
            if name in existing:
                continue
            start = datetime(month.year, month.month, 1, tzinfo=zone)
            end = datetime(*next_month(month).timetuple()[:3], tzinfo=zone)
            cur.execute(
                f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM (%s) TO (%s)",
                [start, end],
            )
            created.append(name)
    return created


def partitions() -> list[str]:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY 1",
            [TABLE],
        )
        return [row[0] for row in cur.fetchall()]


def partition_months() -> list[date]:
    """The local months that have a partition (first days)."""
    return [date(int(name[-7:-3]), int(name[-2:]), 1) for name in partitions()]
