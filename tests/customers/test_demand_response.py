"""Demand response as the customer sees it (use case 8): their programs, the prices and events
of those programs, what their HAN devices acknowledged and their own opt-in / opt-out answers,
joined by correlation id; nobody else's."""

from __future__ import annotations

import pytest
from django.urls import reverse

from metering.models import DeviceResponse, DrEventTarget, HanDevice, PriceNotification

pytestmark = pytest.mark.django_db


def page(login_as, user):
    return login_as("client").get(reverse("customers:demand_response", args=[user.customer_id]))


def test_the_page_lists_the_customers_programs_prices_and_events(login_as, client_user):
    customer = client_user.customer
    response = page(login_as, client_user)
    html = response.content.decode()
    programs = {e.program.code for e in response.context["enrollments"]}
    assert programs == set(customer.dr_enrollments.values_list("program__code", flat=True))
    assert {"cpp", "dlc"} <= {e.program.kind for e in response.context["enrollments"]}
    prices = [p for p, _ in response.context["prices"]]
    assert prices == list(
        PriceNotification.objects.for_customer(customer).order_by("-starts_at", "-id")
    )
    events = {e.correlation_id for e, _ in response.context["events"]}
    targeted = DrEventTarget.objects.filter(customer=customer)
    assert events == set(targeted.values_list("event__correlation_id", flat=True))
    for correlation_id in events | {p.correlation_id for p in prices}:
        assert correlation_id in html


def test_each_event_shows_the_customers_own_answers_by_correlation_id(login_as, client_user):
    response = page(login_as, client_user)
    applied = DeviceResponse.objects.filter(device__customer=client_user.customer, status="applied")
    shown = 0
    for event, answers in response.context["events"] + response.context["prices"]:
        expected = list(applied.filter(correlation_id=event.correlation_id).order_by("at", "id"))
        assert answers == expected
        shown += len(answers)
    assert shown == applied.count() > 0
    kinds = {a.kind for _, answers in response.context["events"] for a in answers}
    assert kinds & {"opt_in", "opt_out", "ack"}


def test_no_other_customers_device_appears(login_as, client_user):
    html = page(login_as, client_user).content.decode()
    others = HanDevice.objects.exclude(customer=client_user.customer).filter(
        targets__event__in=DrEventTarget.objects.filter(customer=client_user.customer).values(
            "event"
        )
    )
    assert others.exists()  # the same events reached other customers' devices
    for device in others:
        assert device.mrid not in html
