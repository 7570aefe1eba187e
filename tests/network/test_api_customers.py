"""Customers in the API: only SEC auditors see them, and no public endpoint leaks them."""

from __future__ import annotations

import pytest

from accounts.models import AccessLog
from network.models import Customer
from tests.network.api_helpers import detail_url, list_url, ok

pytestmark = pytest.mark.django_db


@pytest.fixture
def sec_client(client, django_user_model):
    user = django_user_model.objects.create_user(
        "auditora_sec", "sec@example.cl", "clave-segura-123", profile="sec"
    )
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def planner_client(client, planner):
    client.force_login(planner)
    return client


def test_customers_are_hidden_from_the_public_and_from_planners(
    public_client, feeder, demo_network
):
    customer = Customer.objects.first()
    for url in (list_url("customers"), detail_url("customers", customer.pk)):
        response = public_client.get(url)
        assert response.status_code == 403
        assert "SEC" in response.json()["detail"]
        assert customer.rut not in response.content.decode()


def test_planners_do_not_get_customers_personal_data_either(planner_client, demo_network):
    assert planner_client.get(list_url("customers")).status_code == 403


def test_sec_auditors_see_customers_with_their_personal_data(sec_client, demo_network):
    customer = Customer.objects.select_related("transformer").first()
    body = ok(sec_client.get(list_url("customers"), {"number": customer.number}))
    (feature,) = body["features"]
    props = feature["properties"]
    assert props["rut"] == customer.rut and props["name"] == customer.name
    assert props["transformer_code"] == customer.transformer.code
    by_rut = ok(sec_client.get(list_url("customers"), {"rut": customer.rut.replace("-", "")}))
    assert customer.pk in {f["id"] for f in by_rut["features"]}
    assert AccessLog.objects.filter(user=sec_client.user, kind="cliente").count() == 2
    assert sec_client.get(list_url("customers"), {"rut": "12.345.678-9"}).status_code == 400


def test_public_endpoints_never_leak_customer_data(public_client, feeder):
    customer = Customer.objects.filter(transformer__feeder=feeder).first()
    found = ok(public_client.get(list_url("transformers"), {"customer": customer.number}))
    (feature,) = found["features"]
    assert feature["id"] == customer.transformer_id
    for name in ("transformers", "poles", "substations", "feeders"):
        text = public_client.get(list_url(name), {"page_size": 1000}).content.decode()
        assert customer.rut not in text and customer.name not in text
        assert customer.email not in text or not customer.email
    fields = set(feature["properties"])
    assert not fields & {"rut", "name_customer", "email", "phone", "address", "customers"}
