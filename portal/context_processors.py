from __future__ import annotations

import threading
import time

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


class _Remembered:
    """The alarms' states, remembered by the process for ALARM_CACHE_SECONDS.

    The alarms are on every page of the users who answer for them, and reading them is five
    queries (a batch in alarm; the capacity runs and stale feeders; the schedules and their last
    runs) on pages whose own data is one or two: a state that changes a few times a day is
    read at most once per process per interval instead."""

    def __init__(self) -> None:
        self.values: dict[str, tuple[float, object]] = {}
        self.lock = threading.Lock()

    def get(self, key: str, compute):
        ttl = settings.ALARM_CACHE_SECONDS
        now = time.monotonic()
        with self.lock:
            hit = self.values.get(key)
        if hit is not None and now - hit[0] < ttl:
            return hit[1]
        value = compute()
        with self.lock:
            self.values[key] = (now, value)
        return value

    def clear(self) -> None:
        with self.lock:
            self.values.clear()


remembered = _Remembered()


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

        return remembered.get("tasks", alarm)


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

        return remembered.get("capacity", lambda: freshness().alarm)


class _RegulatorAlarm:
    """True when a batch for SEC is in alarm (its push keeps failing); asked only by the
    templates that show it, to the users who see deliveries."""

    def __init__(self, user):
        self.user = user

    def __bool__(self) -> bool:
        if not sees_regulator_deliveries(self.user):
            return False
        from regulator.models import Batch

        return remembered.get(
            "regulator",
            Batch.objects.filter(alarm=True, acknowledged_at__isnull=True).exists,
        )
