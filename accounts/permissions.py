"""Who may see what (SPEC.md, the profile table): the one place the portal's access rules live.

Pages, APIs, tiles, downloads and PDFs ask these functions; none compares `user.profile` with
a string of its own. The profile predicates themselves are properties of `accounts.User`.

- Network data: every registered profile.
- Customers' personal data: the SEC profile sees every customer; a `client` or `eg` user sees
  only the customer linked to the account; nobody else sees any (planners see a customer only
  as a number tied to a transformer). In the admin, the staff given
  `network.view_customer_personal_data` (customer service) see it too.
- Metering monitoring (balances, alarms) and demand response reads: planners, SEC and staff.

A customer another user may not see answers 404, never 403: the answer must not tell whether
that customer exists (the way healthchecks' `_get_check_for_user` does).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.http import Http404
from rest_framework.permissions import BasePermission

if TYPE_CHECKING:
    from accounts.models import User


def is_registered(user) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


def sees_every_customer(user) -> bool:
    """SEC auditors read every customer (§3), read-only."""
    return is_registered(user) and user.is_sec


def sees_own_customer(user) -> bool:
    """Customers and EG customers read their own account (§4, §5)."""
    return is_registered(user) and user.is_customer and user.customer_id is not None


# A permission string, not an import: accounts lies below the network app.
CUSTOMER_PERSONAL_DATA_PERMISSION = "network.view_customer_personal_data"


def sees_customer_personal_data(user) -> bool:
    """A customer's RUT, name, email, phone and address: SEC, superusers, and the staff given
    the permission (customer service). Planners are not: to them a customer is a number tied
    to a transformer."""
    return is_registered(user) and (
        user.is_sec or user.is_superuser or user.has_perm(CUSTOMER_PERSONAL_DATA_PERMISSION)
    )


def sees_metering_monitoring(user) -> bool:
    """Energy balances and alarms: the planners who act on them and the SEC who audits them."""
    return is_registered(user) and (user.is_staff or user.is_planner or user.is_sec)


def edits_vee(user) -> bool:
    """Accepting estimates and entering manual values: the planners (SEC reads only)."""
    return is_registered(user) and (user.is_planner or user.is_superuser)


def sees_quality_of_supply(user) -> bool:
    """Interruptions, outage events and SAIDI / SAIFI: the same planners and SEC auditors as
    the metering monitoring (the event detail names customers only by number)."""
    return sees_metering_monitoring(user)


def reads_demand_response(user, permission: str) -> bool:
    """DR programs, events and states: SEC, planners, and accounts given `permission` (CIS)."""
    return is_registered(user) and (user.is_sec or user.is_planner or user.has_perm(permission))


def customers_visible_to(user, customers: QuerySet) -> QuerySet:
    """The rows of `customers` that `user` may see: all, their own, or none."""
    if sees_every_customer(user):
        return customers
    if sees_own_customer(user):
        return customers.filter(pk=user.customer_id)
    return customers.none()


def customer_model(user_model=None):
    """The customer model, as the user's link to it names it (no import of a higher app)."""
    from django.contrib.auth import get_user_model

    return (user_model or get_user_model())._meta.get_field("customer").related_model


def get_customer_for_user(user: User, **lookup):
    """The customer matching `lookup` if `user` may see it; Http404 otherwise, whether it does
    not exist or belongs to somebody else."""
    customers = customers_visible_to(user, customer_model().objects.all())
    found = customers.filter(**lookup).first()
    if found is None:
        raise Http404("No existe ese cliente.")
    return found


class IsSecAuditor(BasePermission):
    message = "Solo el perfil SEC (auditor) puede consultar los datos de clientes."

    def has_permission(self, request, view) -> bool:
        return sees_every_customer(request.user)


def receives_regulator_feed(user) -> bool:
    """The batches of the regulator data service (§6): SEC's copy of everything, the SEC
    profile only."""
    return is_registered(user) and user.is_sec


def sees_regulator_deliveries(user) -> bool:
    """What was cut and delivered to SEC, and its alarms: SEC and the planners who answer for
    the delivery (no records, only batch numbers, counts and errors)."""
    return is_registered(user) and (user.is_sec or user.is_planner)


def sees_capacity(user) -> bool:
    """Short circuit and indicative hosting capacity per pole, and the connection queue's
    public ids, states and MW: derived from the network, so every registered profile."""
    return is_registered(user)


class SeesCapacity(BasePermission):
    def has_permission(self, request, view) -> bool:
        return sees_capacity(request.user)


def sees_capacity_missing_data(user) -> bool:
    """What a feeder lacks for the capacity computation (span codes without a conductor type,
    transformers without vk): for the planners who fix it (and staff), and SEC who audits."""
    return is_registered(user) and (user.is_staff or user.is_planner or user.is_sec)


def sees_capacity_alarm(user) -> bool:
    """A late or failed capacity run: the planners who answer for it (and staff)."""
    return is_registered(user) and (user.is_staff or user.is_planner)


def sees_tasks_alarm(user) -> bool:
    """A failed or late scheduled task: the planners who answer for it (and staff)."""
    return is_registered(user) and (user.is_staff or user.is_planner)


class ReceivesRegulatorFeed(BasePermission):
    message = "Solo el perfil SEC recibe los lotes del servicio de datos."

    def has_permission(self, request, view) -> bool:
        return receives_regulator_feed(request.user)
