from __future__ import annotations

from django.conf import settings

from accounts.permissions import (
    sees_every_customer,
    sees_metering_monitoring,
    sees_own_customer,
)


def portal(request) -> dict:
    return {
        "MAP_BASE_LAYER_URL": settings.MAP_BASE_LAYER_URL,
        "MAP_BASE_LAYER_ATTRIBUTION": settings.MAP_BASE_LAYER_ATTRIBUTION,
        "sees_monitoring": sees_metering_monitoring(getattr(request, "user", None)),
        "has_own_account": sees_own_customer(getattr(request, "user", None)),
        "sees_customers": sees_every_customer(getattr(request, "user", None)),
    }
