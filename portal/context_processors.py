from __future__ import annotations

from django.conf import settings

from accounts.permissions import (
    sees_capacity_alarm,
    sees_every_customer,
    sees_metering_monitoring,
    sees_own_customer,
    sees_quality_of_supply,
    sees_regulator_deliveries,
    sees_tasks_alarm,
)


def portal(request) -> dict:
    return {
        "MAP_BASE_LAYER_URL": settings.MAP_BASE_LAYER_URL,
        "MAP_BASE_LAYER_ATTRIBUTION": settings.MAP_BASE_LAYER_ATTRIBUTION,
        "sees_monitoring": sees_metering_monitoring(getattr(request, "user", None)),
        "sees_quality": sees_quality_of_supply(getattr(request, "user", None)),
        "has_own_account": sees_own_customer(getattr(request, "user", None)),
        "sees_customers": sees_every_customer(getattr(request, "user", None)),
        "sees_regulator_deliveries": sees_regulator_deliveries(getattr(request, "user", None)),
        "regulator_alarm": _RegulatorAlarm(getattr(request, "user", None)),
        "capacity_alarm": _CapacityAlarm(getattr(request, "user", None)),
        "tasks_alarm": _TasksAlarm(getattr(request, "user", None)),
    }


class _TasksAlarm:
    """The scheduled tasks' alarm (one failed, or is late), for the planners who answer for
    them (and staff); read only by the templates that show it."""

    def __init__(self, user):
        self.user = user

    @property
    def text(self) -> str | None:
        if not sees_tasks_alarm(self.user):
            return None
        from core.scheduled import alarm

        return alarm()


class _CapacityAlarm:
    """The text of the capacity computation's alarm (a run failed, or none finished within
    CAPACITY_MAX_AGE_HOURS), for the planners who answer for it; read only by the templates
    that show it."""

    def __init__(self, user):
        self.user = user

    @property
    def text(self) -> str | None:
        if not sees_capacity_alarm(self.user):
            return None
        from capacity.services.query import freshness

        return freshness().alarm


class _RegulatorAlarm:
    """True when a batch for SEC is in alarm (its push keeps failing); asked only by the
    templates that show it, to the users who see deliveries."""

    def __init__(self, user):
        self.user = user

    def __bool__(self) -> bool:
        if not sees_regulator_deliveries(self.user):
            return False
        from regulator.models import Batch

        return Batch.objects.filter(alarm=True, acknowledged_at__isnull=True).exists()
