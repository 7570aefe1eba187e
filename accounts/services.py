from __future__ import annotations

import ipaddress

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import (
    get_client_ip_address,
    get_client_username,
    get_cool_off,
    get_cool_off_iso8601,
    get_failure_limit,
)
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import connections, router
from django.db.models import Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from knox.models import get_token_model

PLANNERS_GROUP = "Planificadores"
# Planners maintain the topology: full rights on these apps' models,
PLANNER_APPS = ("geo", "network", "vnr", "demand")
# and on these models of other apps: the load transfers they operate, which the monthly demand
# of feeders and transformers leaves out, and the imports they upload in the admin (each kind
# also asks its own permission, core.jobs).
# The connection queue they keep, and the capacity runs and feeder states they read (their
# admin is read-only).
PLANNER_EXTRA_MODELS = (
    ("metering", "loadtransfer"),
    ("metering", "virtualterm"),
    # The scheduled tasks: planners see and change when they run.
    ("django_celery_beat", "periodictask"),
    ("django_celery_beat", "crontabschedule"),
    ("django_celery_beat", "intervalschedule"),
    ("core", "importjob"),
    ("capacity", "connectionrequest"),
    ("capacity", "run"),
    ("capacity", "feedercapacity"),
    # The planned outages they enter, and the outage results they read (read-only admin).
    ("outages", "plannedoutage"),
    ("outages", "outageevent"),
    ("outages", "interruption"),
    ("outages", "reliabilityindex"),
)
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

SEC_ACCOUNTS_GROUP = "Administración de cuentas SEC"
# Whoever issues the SEC auditors' accounts (accounts.SecAccount: profile sec, never staff)
# and keeps their name, email and active flag; nothing else, not even the customers'.
SEC_ACCOUNTS_PERMISSIONS = (
    ("accounts", "view_secaccount"),
    ("accounts", "add_secaccount"),
    ("accounts", "change_secaccount"),
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


def listed_permissions(listed: tuple[tuple[str, str], ...]):
    wanted = Q()
    for app_label, codename in listed:
        wanted |= Q(content_type__app_label=app_label, codename=codename)
    return Permission.objects.filter(wanted)


def ensure_groups(**kwargs) -> None:
    """Create or refresh the staff groups (planners, customer service, SEC accounts) after
    every migrate."""
    group, _ = Group.objects.get_or_create(name=PLANNERS_GROUP)
    group.permissions.set(planner_permissions())
    group, _ = Group.objects.get_or_create(name=CUSTOMER_SERVICE_GROUP)
    group.permissions.set(listed_permissions(CUSTOMER_SERVICE_PERMISSIONS))
    group, _ = Group.objects.get_or_create(name=SEC_ACCOUNTS_GROUP)
    group.permissions.set(listed_permissions(SEC_ACCOUNTS_PERMISSIONS))


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
    row = AccessLog(
        user=user,
        at=timezone.now(),
        kind=kind,
        reference=str(reference)[: AccessLog._meta.get_field("reference").max_length],
        path=request.get_full_path()[: AccessLog._meta.get_field("path").max_length],
        ip=client_ip(request),
    )
    connection = connections[router.db_for_write(AccessLog)]
    if connection.in_atomic_block or connection.settings_dict["OPTIONS"].get("server_side_binding"):
        # Part of the caller's transaction: it commits (or not) with what the page did. (With
        # server-side binding a statement cannot carry the SET as well.)
        row.save(force_insert=True)
        return
    write_access_log(connection, row)


def write_access_log(connection, row) -> None:
    """Insert an access log row without waiting for its commit to reach disk.

    Every page view writes one, and a synchronous commit waits for the WAL flush (3-4 ms on
    the bench machine, most of a grid's time). `synchronous_commit = off` for this one
    statement only: the row is committed, visible and survives the web server being killed
    the moment the response leaves; only a crash of PostgreSQL itself within
    wal_writer_delay (200 ms by default) could lose it, as PostgreSQL documents. Sent in the
    same round trip as the INSERT (one simple-protocol message, an implicit transaction),
    so SET LOCAL ends with it and nothing else of the connection changes."""
    table = row._meta.db_table
    with connection.cursor() as cur:
        cur.execute(
            f"SET LOCAL synchronous_commit = off; "
            f"INSERT INTO {table} (user_id, at, kind, reference, path, ip) "
            "VALUES (%s, %s, %s, %s, %s, %s)",
            [row.user_id, row.at, row.kind, row.reference, row.path, row.ip],
        )


# Login throttling (settings.py, AXES_*) ---------------------------------------------------


class LoginThrottle(AxesDatabaseHandler):
    """axes' database handler with a second limit: LOGIN_FAILURES_PER_ADDRESS failures from
    one address, whatever the usernames, lock the address for the cool-off. It counts axes'
    own AccessAttempt rows, as axes counts those of a username and address."""

    def address_failures(self, request) -> int:
        attempts = AccessAttempt.objects.filter(ip_address=request.axes_ip_address)
        if settings.AXES_COOLOFF_TIME is not None:
            attempts = attempts.filter(attempt_time__gte=get_cool_off_threshold(request))
        return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0

    def address_locked(self, request) -> bool:
        if self.address_failures(request) < settings.LOGIN_FAILURES_PER_ADDRESS:
            return False
        request.axes_address_locked = True  # for the lockout page
        return True

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        # AxesStandaloneBackend asks this before ModelBackend hashes the password.
        return super().is_locked(request, credentials) or self.address_locked(request)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs) -> None:
        super().user_login_failed(sender, credentials, request, **kwargs)
        # The failure that uses up the address's limit already gets the lockout page, as the
        # one that uses up a username's does.
        if (
            request is not None
            and not getattr(request, "axes_locked_out", False)
            and not self.is_whitelisted(request, credentials)
            and self.address_locked(request)
        ):
            request.axes_locked_out = True
            request.axes_credentials = credentials


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """axes' lockout page (AXES_LOCKOUT_TEMPLATE), naming the limit that was reached: a
    username's from this address, or the address's whatever the username."""
    by_address = getattr(request, "axes_address_locked", False)
    context = {
        "failure_limit": (
            settings.LOGIN_FAILURES_PER_ADDRESS
            if by_address
            else get_failure_limit(request, credentials)
        ),
        "username": "" if by_address else get_client_username(request, credentials) or "",
    }
    cool_off = get_cool_off(request)
    if cool_off:
        context.update(cooloff_time=get_cool_off_iso8601(cool_off), cooloff_timedelta=cool_off)
    return render(
        request, settings.AXES_LOCKOUT_TEMPLATE, context, status=settings.AXES_HTTP_RESPONSE_CODE
    )


# API tokens (django-rest-knox, network/api) -----------------------------------------------


def revoke_api_tokens(user) -> int:
    """Delete every API token of the user; returns how many there were."""
    deleted, _ = get_token_model().objects.filter(user=user).delete()
    return deleted


def revoke_api_tokens_on_password_change(sender, instance, created=False, raw=False, **kwargs):
    """post_save of the user: a new password revokes the API tokens, whoever set it (the
    password change and reset pages, the admin, `changepassword`, customer service).

    set_password() keeps the raw password in `_password` until save() has passed it to the
    validators' password_changed(), after post_save: the very test Django uses to tell a new
    password. check_password() clears it before saving a rehashed one, so a hasher upgrade on
    login keeps the tokens. tests/network/test_api_tokens.py pins both."""
    if created or raw or getattr(instance, "_password", None) is None:
        return
    revoke_api_tokens(instance)
