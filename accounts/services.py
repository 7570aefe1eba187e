from __future__ import annotations

from django.contrib.auth.models import Group, Permission

PLANNERS_GROUP = "Planificadores"
# Planners maintain the topology: full rights on these apps' models.
PLANNER_APPS = ("geo", "network", "vnr", "demand")


def ensure_groups(**kwargs) -> None:
    """Create or refresh the planners' group after every migrate."""
    group, _ = Group.objects.get_or_create(name=PLANNERS_GROUP)
    perms = Permission.objects.filter(content_type__app_label__in=PLANNER_APPS)
    group.permissions.set(perms)
