"""Celery tasks of the outages app (eager, in the caller's process, when no broker is
configured). Not scheduled here: the schedules are wired in one place by the project."""

from __future__ import annotations

from celery import shared_task

from core.months import parse_month
from outages.services.rebuild import rebuild_month as rebuild


@shared_task(ignore_result=True)
def rebuild_month(month: str) -> str:
    """Interruptions, events and SAIFI / SAIDI of one month (AAAA-MM) again; the summary."""
    return rebuild(parse_month(month)).summary()
