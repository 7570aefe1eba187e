"""Rows of the outages app for the admin and page tests."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from outages.models import Interruption, OutageEvent, PlannedOutage, ReliabilityIndex
from tests import factories as f

START = datetime(2026, 3, 5, 10, tzinfo=ZoneInfo("America/Santiago"))


def make_planned_outage(**kwargs) -> PlannedOutage:
    from accounts.models import User

    transformer = kwargs.pop("transformer", None) or f.make_transformer()
    user = User.objects.get_or_create(username="planifica-corte", defaults={"profile": "planner"})
    defaults = {
        "feeder": transformer.feeder,
        "transformer": transformer,
        "starts_at": START,
        "ends_at": START + timedelta(hours=2),
        "reason": "Mantenimiento de prueba",
        "created_by": user[0],
    }
    return PlannedOutage.objects.create(**{**defaults, **kwargs})


def make_outage_event(**kwargs) -> OutageEvent:
    transformer = kwargs.pop("transformer", None) or f.make_transformer()
    defaults = {
        "month": date(2026, 3, 1),
        "kind": OutageEvent.Kind.TRANSFORMER,
        "feeder": transformer.feeder,
        "transformer": transformer,
        "started_at": START,
        "ended_at": START + timedelta(minutes=60),
        "transformers": 1,
        "customers": 1,
        "customer_minutes": 60,
        "reporting_meters": 1,
    }
    return OutageEvent.objects.create(**{**defaults, **kwargs})


def make_interruption(**kwargs) -> Interruption:
    event = kwargs.pop("event", None) or make_outage_event()
    customer = f.make_customer(event.transformer)
    defaults = {
        "month": event.month,
        "event": event,
        "customer": customer,
        "transformer": event.transformer,
        "feeder": event.feeder,
        "started_at": event.started_at,
        "ended_at": event.ended_at,
        "minutes": 60,
        "source": Interruption.Source.EVENTS,
    }
    return Interruption.objects.create(**{**defaults, **kwargs})


def make_reliability_index(**kwargs) -> ReliabilityIndex:
    feeder = kwargs.pop("feeder", None) or f.make_feeder()
    defaults = {
        "month": date(2026, 3, 1),
        "level": ReliabilityIndex.Level.FEEDER,
        "feeder": feeder,
        "distributor": feeder.distributor,
        "customers_served": 10,
        "customer_interruptions": 2,
        "customer_minutes": 120,
        "saifi": 0.2,
        "saidi": 12,
    }
    return ReliabilityIndex.objects.create(**{**defaults, **kwargs})
