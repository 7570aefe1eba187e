"""The customer's regulated tariff option: the field, the seed and the admin."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from network.models import Customer
from network.services.synthetic import NetworkGenerator
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

POWER_OPTIONS = {"BT2", "BT3", "BT4.1", "BT4.3"}


def test_a_new_customer_has_no_tariff_until_the_cis_reports_one():
    customer = make_customer()
    assert customer.tariff == ""
    customer.full_clean()


def test_an_unknown_tariff_option_is_refused():
    customer = make_customer(tariff="BT9")
    with pytest.raises(ValidationError) as raised:
        customer.full_clean()
    assert "tariff" in raised.value.message_dict


def test_the_tariff_options_are_the_decree_names():
    assert {"BT1a", "BT1b", "BT2", "BT3", "BT4.1", "BT4.2", "BT4.3", "AT2", "AT3", "AT4.1",
            "AT4.2", "AT4.3"} <= set(Customer.Tariff.values)  # fmt: skip


def test_the_demo_seed_gives_every_customer_a_tariff_by_its_service(demo_network):
    with connection.cursor() as cur:
        cur.execute(
            "SELECT tariff, service_capacity_kw >= 22, count(*) FROM network_customer GROUP BY 1, 2"
        )
        rows = cur.fetchall()
    assert all(tariff in Customer.Tariff.values for tariff, _, _ in rows)
    homes = {tariff for tariff, three_phase, _ in rows if not three_phase}
    services = {tariff for tariff, three_phase, _ in rows if three_phase}
    assert homes <= {"BT1a", "BT1b", "BT5"} and "BT1a" in homes
    assert services <= POWER_OPTIONS and services
    total = sum(n for *_, n in rows)
    bt1a = sum(n for tariff, _, n in rows if tariff == "BT1a")
    assert bt1a / total > 0.7


def test_the_tariffs_have_their_own_random_sequence():
    """Drawing tariffs must not move the generator's other values (the seed data)."""
    first = NetworkGenerator(7, date(2026, 1, 1), {})
    second = NetworkGenerator(7, date(2026, 1, 1), {})
    drawn = [first._tariff(three_phase=n % 2 == 0) for n in range(50)]
    assert first.rng.random() == second.rng.random()
    assert len(set(drawn)) > 1


def test_planners_see_the_tariff_read_only_in_the_admin(client, planner):
    customer = make_customer(tariff="BT2")
    client.force_login(planner)
    page = client.get(f"/admin/network/customer/{customer.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Opción tarifaria" in text and "BT2: potencia contratada" in text
    assert 'name="tariff"' not in text


def test_the_changelist_filters_by_tariff(client, planner):
    make_customer(tariff="BT3", number="777000001")
    make_customer(tariff="BT1a", number="777000002")
    client.force_login(planner)
    page = client.get("/admin/network/customer/", {"tariff__exact": "BT3"})
    assert page.status_code == 200
    text = page.content.decode()
    assert "777000001" in text and "777000002" not in text
