"""The DR admin: master data editable, what came in messages read-only, no query per row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from metering.models import (
    DeviceResponse,
    DrEvent,
    DrEventTarget,
    DrMessage,
    DrProgram,
    HanDevice,
    PriceNotification,
    ProgramEnrollment,
)
from metering.services.dr import receive_xml
from tests.metering.dr_factories import event_xml, make_world, price_xml, responses_xml

pytestmark = pytest.mark.django_db

EDITABLE = [DrProgram, ProgramEnrollment, HanDevice]
READ_ONLY = [PriceNotification, DrEvent, DrEventTarget, DeviceResponse, DrMessage]


def url(model, view: str, *args) -> str:
    return reverse(f"admin:metering_{model._meta.model_name}_{view}", args=args)


@pytest.fixture
def loaded():
    make_world()
    receive_xml(price_xml("P1"))
    receive_xml(event_xml("E1"))
    receive_xml(responses_xml("R1", [("PCT-0001", "optIn", "2026-01-14T10:00:00-03:00")]))


@pytest.mark.parametrize("model", EDITABLE + READ_ONLY, ids=lambda m: m.__name__)
def test_a_superuser_opens_the_list_search_and_change_pages(admin_client, loaded, model):
    obj = model.objects.first()
    for page in (
        url(model, "changelist"),
        url(model, "changelist") + "?q=zz-1",
        url(model, "change", obj.pk),
    ):
        assert admin_client.get(page).status_code == 200, page


@pytest.mark.parametrize("model", EDITABLE, ids=lambda m: m.__name__)
def test_master_data_can_be_added(admin_client, model):
    assert admin_client.get(url(model, "add")).status_code == 200


@pytest.mark.parametrize("model", READ_ONLY, ids=lambda m: m.__name__)
def test_what_came_in_messages_cannot_be_added_changed_or_deleted(admin_client, loaded, model):
    obj = model.objects.first()
    assert admin_client.get(url(model, "add")).status_code == 403
    assert admin_client.get(url(model, "delete", obj.pk)).status_code == 403
    page = admin_client.get(url(model, "change", obj.pk)).content.decode()
    assert 'name="_save"' not in page


def test_planners_do_not_reach_the_dr_admin(client, planner, loaded):
    client.force_login(planner)

    assert client.get(url(DrEventTarget, "changelist")).status_code == 403


def test_device_states_list_makes_no_query_per_row(admin_client, loaded):
    admin_client.get(url(DrEventTarget, "changelist"))  # the alarms, remembered
    with CaptureQueriesContext(connection) as one_event:
        admin_client.get(url(DrEventTarget, "changelist"))
    receive_xml(event_xml("E2", correlation_id="EV-2"))
    with CaptureQueriesContext(connection) as two_events:
        response = admin_client.get(url(DrEventTarget, "changelist"))

    assert len(response.context["cl"].result_list) == 6
    assert len(two_events) == len(one_event)


def test_an_event_links_to_its_device_states(admin_client, loaded):
    event = DrEvent.objects.get()

    page = admin_client.get(url(DrEvent, "changelist")).content.decode()

    assert f"?event__id__exact={event.pk}" in page
