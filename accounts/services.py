from __future__ import annotations

import ipaddress

from axes.helpers import get_client_ip_address
from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.http import HttpRequest

PLANNERS_GROUP = "Planificadores"
# Planners maintain the topology: full rights on these apps' models,
PLANNER_APPS = ("geo", "network", "vnr", "demand")
# and on these models of other apps: the load transfers they operate, which the monthly demand
# of feeders and transformers leaves out.
PLANNER_EXTRA_MODELS = (("metering", "loadtransfer"),)
# but not customers' personal data (SPEC: to planners a customer is a number tied to a
# transformer). They view customers and move them to another transformer; the CIS creates and
# removes them, and a new customer would need its RUT, name and address.
PLANNER_EXCLUDED_PERMISSIONS = (
    ("network", "view_customer_personal_data"),
    ("network", "add_customer"),
    ("network", "delete_customer"),
)

CUSTOMER_SERVICE_GROUP = "Atención de clientes"
# Customer service issues and looks after customers' accounts (customers.CustomerAccount, the
# client and eg profiles only) and reads the customers behind them; nothing else: no staff or
# SEC accounts, no deletions, no topology. App labels, not imports: accounts lies below both.
CUSTOMER_SERVICE_PERMISSIONS = (
    ("customers", "view_customeraccount"),
    ("customers", "add_customeraccount"),
    ("customers", "change_customeraccount"),
    ("network", "view_customer"),
    ("network", "view_customer_personal_data"),
)


def planner_permissions():
    extra = Q()
    for app_label, model in PLANNER_EXTRA_MODELS:
        extra |= Q(content_type__app_label=app_label, content_type__model=model)
    excluded = Q()
    for app_label, codename in PLANNER_EXCLUDED_PERMISSIONS:
        excluded |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(Q(content_type__app_label__in=PLANNER_APPS) | extra).exclude(
        excluded
    )


def customer_service_permissions():
    wanted = Q()
    for app_label, codename in CUSTOMER_SERVICE_PERMISSIONS:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(wanted)


def ensure_groups(**kwargs) -> None:
    """Create or refresh the staff groups (planners, customer service) after every migrate."""
    group, _ = Group.objects.get_or_create(name=PLANNERS_GROUP)
    group.permissions.set(planner_permissions())
    group, _ = Group.objects.get_or_create(name=CUSTOMER_SERVICE_GROUP)
    group.permissions.set(customer_service_permissions())


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


def client_ip(request: HttpRequest) -> str | None:
    """The visitor's address as the login throttling sees it (same proxy settings), or None."""
    address = get_client_ip_address(request)
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None


def log_access(request: HttpRequest, kind: str, reference: str = "") -> None:
    """Record that the request's user saw something (`kind` is an AccessLog.Kind value).

    Anonymous requests leave no trace: there is nobody to attribute them to.
    """
    from accounts.models import AccessLog

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    if kind not in AccessLog.Kind.values:
        raise ValueError(f"unknown access kind {kind!r}; use one of {AccessLog.Kind.values}")
    AccessLog.objects.create(
        user=user,
        kind=kind,
        reference=str(reference)[: AccessLog._meta.get_field("reference").max_length],
        path=request.get_full_path()[: AccessLog._meta.get_field("path").max_length],
        ip=client_ip(request),
    )
