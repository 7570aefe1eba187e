"""The demo's customer accounts, and `seed_demo` run again after they have been used."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AccessLog, User
from customers.services.demo import (
    DEMO_CUSTOMER,
    DEMO_CUSTOMER_SERVICE,
    DEMO_EG_CUSTOMER,
    showcase_customer,
)
from metering.models import BillingDocument, EgContract, Meter, RegisterRead
from network.models import Customer
from portal.services import demo_accounts, seed_demo

pytestmark = pytest.mark.django_db


def test_the_demo_accounts_log_in_with_the_readme_passwords(demo_network, client):
    lines = demo_accounts("demo")
    assert any(DEMO_CUSTOMER[0] in line for line in lines)
    for username, password in (DEMO_CUSTOMER, DEMO_EG_CUSTOMER):
        login = client.post(reverse("login"), {"username": username, "password": password})
        assert login.status_code == 302, username
        user = User.objects.get(username=username)
        assert user.profile == ("eg" if username == DEMO_EG_CUSTOMER[0] else "client")
        home = client.get(reverse("customers:mine"), follow=True)
        assert home.status_code == 200 and user.customer.number in home.content.decode()
        client.logout()
    service = User.objects.get(username=DEMO_CUSTOMER_SERVICE[0])
    assert service.is_staff and service.has_perm("customers.add_customeraccount")
    assert not service.has_perm("network.change_feeder")


def test_the_demo_customers_have_everything_their_pages_show(demo_network):
    customer, eg = showcase_customer(eg=False), showcase_customer(eg=True)
    assert BillingDocument.objects.filter(customer=customer).exists()
    assert customer.dr_enrollments.exists()
    assert Meter.objects.filter(customer=eg, channels__isnull=False).exists()
    assert EgContract.objects.filter(customer=eg).exists()
    assert RegisterRead.objects.filter(meter__customer=eg).exists()


def test_seed_demo_runs_again_after_the_accounts_were_used_and_keeps_their_history(
    demo_network, client, settings, tmp_path
):
    settings.BILLING_DIR = tmp_path / "billing"
    demo_accounts("demo")
    user = User.objects.get(username=DEMO_CUSTOMER[0])
    number = user.customer.number
    client.force_login(user)
    assert client.get(reverse("customers:home", args=[user.customer_id])).status_code == 200
    accesses = AccessLog.objects.filter(user=user).count()
    assert accesses >= 1
    # An account whose customer will not come back, with history of its own.
    other = Customer.objects.filter(is_eg=False).exclude(pk=user.customer_id).first()
    gone = User.objects.create_user("ex_cliente", profile="client", customer=other)
    AccessLog.objects.create(user=gone, kind="cliente", reference="x")
    gone.customer.number = "NO-EXISTE"
    gone.customer.save()

    counts = seed_demo("demo", progress=False, log=lambda _: None)  # ProtectedError before

    user.refresh_from_db()
    gone.refresh_from_db()
    assert user.is_active and user.customer.number == number and user.profile == "client"
    assert AccessLog.objects.filter(user=user).count() == accesses
    assert not gone.is_active and gone.customer is None
    assert AccessLog.objects.filter(user=gone).count() == 1
    assert counts["accounts_deactivated"] == 1
    assert client.get(reverse("customers:home", args=[user.customer_id])).status_code == 200
