"""Celery tasks of the metering app (eager, in the caller's process, when no broker is
configured)."""

from __future__ import annotations

from celery import shared_task

from core.months import parse_month
from metering.services import monitoring


@shared_task(ignore_result=True)
def recompute_monthly_demand(months: list[str]) -> int:
    """The monthly max/min demand of these months (AAAA-MM) again, from the readings and the
    load transfers as they are now; returns the rows written."""
    return sum(monitoring.monthly_demand(parse_month(month)) for month in months)
