"""One nesting limit, MAX_DEPTH, for the DR messages (JSON and XML, API and command) and the
readings files; too deep is a 400 naming the limit, never a RecursionError's 500."""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command
from django.urls import reverse
from rest_framework.test import APIClient

from metering import cim
from metering.cim import DEPTH_REASON, MAX_DEPTH
from metering.models import DrMessage
from metering.services import ingest
from metering.services.dr import receive_json, receive_xml
from tests.metering.dr_factories import EVENT, envelope

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(django_user_model) -> APIClient:
    """Logged in as the aggregator's integration account, which may post messages."""
    user = django_user_model.objects.create_user("head-end", "head-end@example.cl")
    user.user_permissions.add(Permission.objects.get(codename="ingest_dr_messages"))
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(api: APIClient, body, content_type: str):
    return api.post(reverse("dr:message-list"), body, content_type=content_type)


def message_json(message_id: str) -> dict:
    header = {"verb": "created", "noun": "EndDeviceEvents", "messageId": message_id}
    return {"header": {**header, "correlationId": EVENT}, "payload": {"EndDeviceEvents": {}}}


def nested_xml(levels: int) -> str:
    return "<a>" * levels + "</a>" * levels


def deep_payload_message(levels: int) -> bytes:
    # EventMessage and Payload are two levels of their own.
    return envelope("created", "EndDeviceEvents", "X1", "X1", nested_xml(levels - 2))


def test_the_limit_names_its_number():
    assert f"más de {MAX_DEPTH} niveles de anidación" == DEPTH_REASON


# JSON --------------------------------------------------------------------------------------


def test_json_nested_ten_thousand_lists_deep_is_a_400_naming_the_limit(api):
    body = "[" * 10_000 + "]" * 10_000

    response = post(api, body, "application/json")

    assert response.status_code == 400
    assert DEPTH_REASON in response.json()["detail"]
    assert not DrMessage.objects.exists()


def test_json_just_over_the_limit_is_refused_with_the_limit_and_at_it_is_read(api):
    def message(levels: int) -> dict:
        data = message_json("J1")
        data["payload"]["extra"] = inner = {}
        for _ in range(levels - 3):  # the message and its payload, then this object
            inner["a"] = inner = {}
        return data

    over = post(api, json.dumps(message(MAX_DEPTH + 1)), "application/json")
    at = receive_json(message(MAX_DEPTH))

    assert over.status_code == 400
    assert over.json()["problems"] == [{"where": "", "reason": f"JSON con {DEPTH_REASON}"}]
    assert all(DEPTH_REASON not in p.reason for p in at.problems)


def test_a_nul_in_a_json_message_is_refused_by_the_dr_service_itself():
    # What the middleware does not read (bodies over DATA_UPLOAD_MAX_MEMORY_SIZE) still
    # never reaches the database.
    result = receive_json(message_json("J\x00"))

    assert result.outcome == "rejected"
    assert "carácter no admitido" in result.problems[0].reason
    assert not DrMessage.objects.exists()


def test_a_lone_surrogate_in_a_json_message_is_refused_not_stored():
    data = message_json("J1")
    data["header"]["source"] = "\ud800"

    result = receive_json(data)

    assert result.outcome == "rejected"
    assert "carácter no admitido" in result.problems[0].reason
    assert not DrMessage.objects.exists()


# XML ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("levels", [MAX_DEPTH + 1, 100_000])
def test_deep_xml_posted_is_a_400_naming_the_limit(api, levels):
    response = post(api, deep_payload_message(levels), "application/xml")

    assert response.status_code == 400
    assert response.json()["problems"] == [
        {"where": "documento", "reason": f"XML con {DEPTH_REASON}"}
    ]
    assert not DrMessage.objects.exists()


def test_xml_at_the_limit_is_not_refused_for_its_depth():
    result = receive_xml(deep_payload_message(MAX_DEPTH))

    assert all(DEPTH_REASON not in p.reason for p in result.problems)


def test_the_dr_command_refuses_a_deep_file_naming_the_limit(tmp_path):
    (tmp_path / "hondo.xml").write_bytes(deep_payload_message(MAX_DEPTH + 1))
    out = io.StringIO()

    with pytest.raises(CommandError):
        call_command("ingest_dr_messages", str(tmp_path), stdout=out)

    assert f"XML con {DEPTH_REASON}" in out.getvalue()


# The readings ingest has the same limit ----------------------------------------------------


def test_the_readings_parser_reads_max_depth_levels_and_refuses_one_more():
    events = list(cim.iterparse(io.BytesIO(nested_xml(MAX_DEPTH).encode()), ("a",)))
    assert events[0][0] == "root"

    with pytest.raises(cim.MessageError) as refused:
        list(cim.iterparse(io.BytesIO(nested_xml(MAX_DEPTH + 1).encode()), ("a",)))
    assert refused.value.reason == f"XML con {DEPTH_REASON}"


def test_a_readings_file_nested_deeper_than_the_limit_is_refused_naming_it(tmp_path):
    path = tmp_path / "lecturas.xml"
    message = deep_payload_message(MAX_DEPTH + 1)
    path.write_bytes(message.replace(b"EndDeviceEvents", b"MeterReadings"))

    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv")

    assert DEPTH_REASON in result.fatal
