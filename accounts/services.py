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


DEMO_PLANNER = ("planificador", "planificador-demo")


def ensure_demo_planner() -> str:
    """A planner account for the demo data set; returns its credentials for the user to read."""
    from accounts.models import User

    username, password = DEMO_PLANNER
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"profile": User.Profile.PLANNER, "is_staff": True, "email": "plan@demo.cl"},
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    ensure_groups()
    user.groups.add(Group.objects.get(name=PLANNERS_GROUP))
    return f"{username} / {password}" if created else f"{username} (clave ya definida)"
