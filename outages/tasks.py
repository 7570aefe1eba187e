"""Celery tasks of the outages app (eager, in the caller's process, when no broker is
configured). `rebuild_recent` is scheduled daily by a django-celery-beat row (migration 0002),
which planners see and change in the admin."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from core.months import add_months, month_start, parse_month
from outages.services.rebuild import rebuild_month as rebuild

DAILY = "Calidad de servicio: interrupciones, eventos e índices del mes y del anterior"


@shared_task
def rebuild_month(month: str) -> str:
    """Interruptions, events and SAIFI / SAIDI of one month (AAAA-MM) again; the summary."""
    return rebuild(parse_month(month)).summary()


@shared_task
def rebuild_recent() -> str:
    """The running month and the one before (a restore can arrive after the month ended)."""
    this = month_start(timezone.localdate())
    return "; ".join(rebuild(month).summary() for month in (add_months(this, -1), this))
