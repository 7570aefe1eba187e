"""The demo's customer accounts, and what happens to customer accounts when `seed_demo`
replaces the network under them.

Replacing the network deletes every customer, but not the accounts linked to them: a user
with access-log rows cannot be deleted (the trail is kept, accounts.AccessLog), and deleting
demo users would lose the history an auditor may want. So the accounts are detached before
the network goes and linked again, by distributor and customer number, once the new network
is in; an account whose customer number no longer exists (or changed its EG status) is
deactivated and kept, with its access history.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import Group
from django.db.models import Case, Exists, OuterRef, Value, When

from accounts.models import User
from accounts.services import CUSTOMER_SERVICE_GROUP, ensure_groups
from metering.models import (
    BillingDocument,
    DrEventTarget,
    EgContract,
    Meter,
    ProgramEnrollment,
    RegisterRead,
    RemanenteMovement,
)
from network.models import Customer

DEMO_CUSTOMER = ("cliente", "cliente-demo")
DEMO_EG_CUSTOMER = ("cliente_eg", "cliente-eg-demo")
DEMO_CUSTOMER_SERVICE = ("atencion", "atencion-demo")
DEMO_SEC = ("auditor", "auditor-demo")


@dataclass(frozen=True)
class Detached:
    user_id: int
    profile: str
    distributor: str
    number: str


def detach_customer_accounts() -> list[Detached]:
    """Unlink every customer account from its customer (temporarily profile `public`, which
    the database requires of an account without one); returns what to link again."""
    saved = [
        Detached(*row)
        for row in User.objects.filter(customer__isnull=False).values_list(
            "pk", "profile", "customer__distributor__code", "customer__number"
        )
    ]
    User.objects.filter(pk__in=[s.user_id for s in saved]).update(
        customer=None, profile=User.Profile.PUBLIC
    )
    return saved


def reattach_customer_accounts(saved: list[Detached]) -> tuple[int, int]:
    """Link the accounts again to the customers of the same number; (linked, deactivated)."""
    linked = deactivated = 0
    for entry in saved:
        customer = Customer.objects.filter(
            distributor__code=entry.distributor, number=entry.number
        ).first()
        if customer is not None and customer.is_eg == (entry.profile == User.Profile.EG):
            User.objects.filter(pk=entry.user_id).update(customer=customer, profile=entry.profile)
            linked += 1
        else:
            User.objects.filter(pk=entry.user_id).update(is_active=False)
            deactivated += 1
    return linked, deactivated


def showcase_customer(eg: bool) -> Customer | None:
    """The demo customer with the most to show. Wishes by weight: billed with documents, a
    metered profile; for EG a contract and register reads; a DR program, its events and
    prices; for EG remanentes discounted from a bill. The highest total wins, the lowest
    number among equals."""
    of_customer = {"customer": OuterRef("pk")}
    wishes = [
        (64, Exists(BillingDocument.objects.filter(**of_customer))),
        (32, Exists(Meter.objects.filter(channels__isnull=False, **of_customer))),
        (4, Exists(ProgramEnrollment.objects.filter(**of_customer))),
        (3, Exists(DrEventTarget.objects.filter(**of_customer))),
        (1, Exists(ProgramEnrollment.objects.filter(program__kind="cpp", **of_customer))),
    ]
    if eg:
        wishes += [
            (16, Exists(EgContract.objects.filter(**of_customer))),
            (8, Exists(RegisterRead.objects.filter(meter__customer=OuterRef("pk")))),
            (2, Exists(RemanenteMovement.objects.filter(kind="descontado", **of_customer))),
        ]
    score = sum(
        (Case(When(wish, then=Value(weight)), default=Value(0)) for weight, wish in wishes),
        Value(0),
    )
    return (
        Customer.objects.filter(is_eg=eg).annotate(score=score).order_by("-score", "number").first()
    )


def ensure_demo_customer_accounts() -> list[str]:
    """The demo customer and EG customer accounts, linked to the showcase customers (created
    when missing, the password set only then); lines for the user to read."""
    lines = []
    for (username, password), profile, eg, label in (
        (DEMO_CUSTOMER, User.Profile.CLIENT, False, "Cliente"),
        (DEMO_EG_CUSTOMER, User.Profile.EG, True, "Cliente EG"),
    ):
        customer = showcase_customer(eg)
        if customer is None:
            continue
        user = User.objects.filter(username=username).first()
        created = user is None
        if created:
            user = User(username=username, email=f"{username}@demo.cl")
            user.set_password(password)
        user.profile, user.customer, user.is_active = profile, customer, True
        user.save()
        shown = f"{username} / {password}" if created else f"{username} (clave ya definida)"
        lines.append(f"{label} de demostración (n° {customer.number}): {shown}")
    lines.append(f"Atención de clientes en /admin/: {ensure_demo_customer_service()}")
    lines.append(f"Auditor SEC (búsqueda de clientes en /clientes/): {ensure_demo_sec()}")
    return lines


def ensure_demo_sec() -> str:
    """An SEC auditor's account: every page, every customer, read-only (§3)."""
    username, password = DEMO_SEC
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"profile": User.Profile.SEC, "email": f"{username}@sec.demo.cl"},
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    return f"{username} / {password}" if created else f"{username} (clave ya definida)"


def ensure_demo_customer_service() -> str:
    """A staff account of the customer-service group, which issues the customer accounts."""
    username, password = DEMO_CUSTOMER_SERVICE
    user, created = User.objects.get_or_create(
        username=username, defaults={"is_staff": True, "email": f"{username}@demo.cl"}
    )
    if created:
        user.set_password(password)
        user.save(update_fields=["password"])
    ensure_groups()
    user.groups.add(Group.objects.get(name=CUSTOMER_SERVICE_GROUP))
    return f"{username} / {password}" if created else f"{username} (clave ya definida)"
