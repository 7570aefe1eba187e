"""Months and days as the portal counts them: local dates of America/Santiago (settings
TIME_ZONE), months as their first day."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone


def today() -> date:
    """Today in Chile (the settings' time zone), never the server's naive date."""
    return timezone.localdate()


def month_start(moment: datetime | date) -> date:
    """The first day of the month of a date, or of an aware instant in local time."""
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    """The first day of the month `count` months after (negative: before) `month`'s."""
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def next_month(month: date) -> date:
    return add_months(month, 1)


def months_between(first: date, last: date) -> list[date]:
    """Every month from `first`'s to `last`'s, both included, oldest first."""
    months, month = [], month_start(first)
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def last_months(count: int, day: date | None = None) -> list[date]:
    """The first days of the last `count` months, newest first, `day`'s month included."""
    start = month_start(day or today())
    return [add_months(start, -i) for i in range(count)]


def parse_month(text: str) -> date:
    """The first day of the month written AAAA-MM (or AAAA-MM-DD); ValueError otherwise."""
    year, month = (int(part) for part in text.split("-")[:2])
    return date(year, month, 1)
