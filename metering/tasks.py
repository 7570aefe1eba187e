"""Celery tasks of the metering app (eager, in the caller's process, when no broker is
configured). The daily and monthly ones are scheduled by django-celery-beat rows the
migration 0007 creates (planners see and change them in the admin; core.scheduled records
every run and raises the alarm when one fails or is late)."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from core.months import add_months, month_start, parse_month
from metering.services import backup, monitoring, reports, vee, virtual

DAILY = "Medición: VEE, medidores virtuales, respaldo y balances del día anterior"
MONTHLY = "Medición: demanda mensual y balance del mes anterior"
REPORTS = "Medición: reportes del mes anterior"


@shared_task(ignore_result=True)
def recompute_monthly_demand(months: list[str]) -> int:
    """The monthly max/min demand of these months (AAAA-MM) again, from the readings and the
    load transfers as they are now; returns the rows written."""
    return sum(monitoring.monthly_demand(parse_month(month)) for month in months)


def _day(raw: str | None) -> date:
    return date.fromisoformat(raw) if raw else timezone.localdate() - timedelta(days=1)


@shared_task
def daily_metering(day: str | None = None) -> str:
    """The day before (or `day`, AAAA-MM-DD): VEE, virtual meters (from the VEE's estimates),
    main/backup comparisons, and the running month's balances and alarms."""
    first = _day(day)
    checked = vee.validate(first, first)
    computed = virtual.compute(first, first)
    compared = backup.compare(first, first)
    month = month_start(first)
    balances, flagged = monitoring.energy_balance(month)
    alarms = monitoring.detect_alarms(month)
    return (
        f"{first}: {checked.summary()}; {computed.summary()}; {compared.summary()}; "
        f"{balances} balances ({flagged} sobre el umbral); alarmas {sum(alarms.values())}"
    )


@shared_task
def monthly_metering(month: str | None = None) -> str:
    """The month before (or `month`, AAAA-MM): its max/min demand and its final balances."""
    first = parse_month(month) if month else add_months(month_start(timezone.localdate()), -1)
    demands = monitoring.monthly_demand(first)
    balances, flagged = monitoring.energy_balance(first)
    return f"{first:%Y-%m}: {demands} demandas, {balances} balances ({flagged} sobre el umbral)"


@shared_task
def monthly_reports(month: str | None = None) -> str:
    """The month before's (or `month`'s) scheduled reports, kept and listed."""
    first = parse_month(month) if month else None
    made = reports.scheduled_reports(first)
    return "; ".join(f"{r.title}: {len(r.rows)} filas" for r in made)
