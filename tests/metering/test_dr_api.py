"""The demand response JSON API: who may post and read, and what it shows."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import AccessLog
from metering.models import DrEventTarget, DrMessage
from metering.services.dr import receive_xml
from tests.metering.dr_factories import (
    EVENT,
    World,
    event_xml,
    fixture,
    make_world,
    malformed,
    responses_xml,
)

pytestmark = pytest.mark.django_db

READ_URLS = [
    ("dr:program-list", {}),
    ("dr:event-list", {}),
    ("dr:target-list", {}),
    ("dr:participation", {}),
]


@pytest.fixture
def world() -> World:
    return make_world()


def user_with(django_user_model, username: str, codename: str, **extra):
    user = django_user_model.objects.create_user(username, f"{username}@example.cl", **extra)
    user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


@pytest.fixture
def head_end(django_user_model):
    """The aggregator's integration account: it posts messages and nothing else."""
    return user_with(django_user_model, "head-end", "ingest_dr_messages")


@pytest.fixture
def cis(django_user_model):
    """The CIS integration account: it reads DR data for billing."""
    return user_with(django_user_model, "cis", "view_drevent")


@pytest.fixture
def sec(django_user_model):
    return django_user_model.objects.create_user("auditor", "sec@example.cl", profile="sec")


def as_user(user) -> APIClient:
    api = APIClient()
    if user is not None:
        api.force_authenticate(user)
    return api


def message_json(message_id: str, device: str = "PCT-0001", kind: str = "optOut") -> dict:
    return {
        "header": {
            "verb": "created",
            "noun": "EndDeviceEvents",
            "messageId": message_id,
            "correlationId": EVENT,
            "timestamp": "2026-01-14T12:05:00-03:00",
            "source": "HES",
        },
        "payload": {
            "EndDeviceEvents": {
                "EndDeviceEvent": [
                    {
                        "createdDateTime": "2026-01-14T12:04:00-03:00",
                        "EndDeviceEventType": {"ref": kind},
                        "EndDevice": {"mRID": device},
                    }
                ]
            }
        },
    }


def post_json(api: APIClient, data) -> object:
    return api.post(reverse("dr:message-list"), data, format="json")


def post_xml(api: APIClient, data: bytes) -> object:
    return api.post(reverse("dr:message-list"), data, content_type="application/xml")


# Who may post -----------------------------------------------------------------------------


def test_the_integration_account_posts_a_json_message_and_it_is_applied(world, head_end):
    receive_xml(event_xml("E1"))

    response = post_json(as_user(head_end), message_json("J1"))

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["messageId"], body["outcome"], body["problems"]) == ("J1", "applied", [])
    assert DrEventTarget.objects.get(device=world.pct1).state == "opted_out"
    assert DrMessage.objects.get(message_id="J1").origin == "api:head-end"


def test_the_integration_account_posts_with_its_token(world, head_end):
    api = APIClient()
    _, key = AuthToken.objects.create(user=head_end)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")

    response = post_xml(api, fixture("02_event_dlc.xml"))

    assert response.status_code == 201
    assert response.json()["outcome"] == "applied"


def test_a_cim_xml_message_can_be_posted_as_is(world, head_end):
    api = as_user(head_end)
    post_xml(api, fixture("02_event_dlc.xml"))

    response = post_xml(api, fixture("04_opt_out.xml"))

    assert response.status_code == 201
    assert DrEventTarget.objects.get(device=world.pct1).state == "opted_out"


def test_a_duplicate_post_answers_200_and_changes_nothing(world, head_end):
    api = as_user(head_end)
    receive_xml(event_xml("E1"))
    post_json(api, message_json("J1"))

    response = post_json(api, message_json("J1"))

    assert response.status_code == 200
    assert response.json()["outcome"] == "duplicate"
    assert response.json()["previousOutcome"] == "aplicado"
    assert DrMessage.objects.filter(message_id="J1").count() == 1


def test_a_rejected_post_answers_400_with_where_and_why(world, head_end):
    receive_xml(event_xml("E1"))

    response = post_json(as_user(head_end), message_json("J1", device="PCT-9999"))

    assert response.status_code == 400
    assert response.json()["problems"] == [
        {
            "where": "payload/EndDeviceEvents/EndDeviceEvent[1]/EndDevice/mRID",
            "reason": "dispositivo desconocido: PCT-9999",
        }
    ]


def test_a_posted_document_with_entities_is_refused(world, head_end):
    response = post_xml(as_user(head_end), malformed("doctype_entity.xml"))

    assert response.status_code == 400
    assert "rechazado por seguridad" in response.json()["problems"][0]["reason"]
    assert not DrMessage.objects.exists()


def test_malformed_json_is_a_400(world, head_end):
    response = as_user(head_end).post(
        reverse("dr:message-list"), "{no es json", content_type="application/json"
    )

    assert response.status_code == 400


def test_a_message_over_the_size_limit_is_refused_unread(world, head_end, monkeypatch):
    monkeypatch.setattr("metering.api.views.MAX_MESSAGE_BYTES", 100)

    response = post_xml(as_user(head_end), fixture("02_event_dlc.xml"))

    assert response.status_code == 413
    assert not DrMessage.objects.exists()


@pytest.mark.parametrize("persona", ["anonymous", "public", "sec", "planner", "cis"])
def test_only_accounts_with_the_ingest_permission_may_post(
    world, persona, public_user, planner, sec, cis
):
    user = {"anonymous": None, "public": public_user, "sec": sec, "planner": planner}.get(
        persona, cis
    )

    response = post_json(as_user(user), message_json("J1"))

    # Anonymous: 401, log in or bring a token; the others are known and not allowed.
    assert response.status_code == (401 if user is None else 403)
    assert not DrMessage.objects.exists()


# Who may read -----------------------------------------------------------------------------


@pytest.fixture
def customer_users(django_user_model, world):
    client_user = django_user_model.objects.create_user(
        "cliente", "c@example.cl", profile="client", customer=world.ana
    )
    eg_user = django_user_model.objects.create_user(
        "generador", "g@example.cl", profile="eg", customer=world.bruno
    )
    return client_user, eg_user


@pytest.mark.parametrize(("name", "params"), READ_URLS)
def test_anonymous_public_client_and_eg_users_cannot_read_dr_data(
    world, public_user, customer_users, name, params
):
    for user in (None, public_user, *customer_users):
        response = as_user(user).get(reverse(name), params)
        assert response.status_code == (401 if user is None else 403), (user, name)


@pytest.mark.parametrize(("name", "params"), READ_URLS)
def test_sec_planners_and_the_cis_account_read_dr_data(world, sec, planner, cis, name, params):
    for user in (sec, planner, cis):
        assert as_user(user).get(reverse(name), params).status_code == 200, (user, name)


@pytest.mark.parametrize(("name", "params"), READ_URLS)
def test_the_integration_account_cannot_read_customers_participation(world, head_end, name, params):
    assert as_user(head_end).get(reverse(name), params).status_code == 403


def test_the_integration_account_reads_back_what_became_of_its_messages(world, head_end):
    api = as_user(head_end)
    post_json(api, message_json("J1"))

    response = api.get(reverse("dr:message-detail", args=["J1"]))

    assert response.status_code == 200
    assert response.json()["outcome"] == "pending"
    listed = api.get(reverse("dr:message-list"), {"resultado": "pending"}).json()
    assert [m["message_id"] for m in listed["results"]] == ["J1"]


def test_public_users_cannot_read_messages(world, public_user):
    assert as_user(public_user).get(reverse("dr:message-list")).status_code == 403


# What it shows ----------------------------------------------------------------------------


def load_event_and_answers() -> None:
    for name in ("02_event_dlc.xml", "03_acks.xml", "04_opt_out.xml", "05_opt_in.xml"):
        receive_xml(fixture(name))


def test_an_event_shows_how_many_devices_are_in_each_state(world, sec):
    load_event_and_answers()

    response = as_user(sec).get(reverse("dr:event-detail", args=[EVENT]))

    assert response.status_code == 200
    body = response.json()
    assert body["program"] == "DLC-RES"
    assert body["signal"] == "dlc"
    assert body["starts_at"] == "2026-01-15T15:00:00-03:00"
    assert body["devices"] == {
        "total": 3,
        "sent": 0,
        "acknowledged": 1,
        "opted_in": 1,
        "opted_out": 1,
    }


def test_device_states_filter_by_event_and_state(world, planner):
    load_event_and_answers()
    receive_xml(event_xml("E2", correlation_id="EV-OTRO", devices=("PCT-0001",)))

    response = as_user(planner).get(
        reverse("dr:target-list"), {"evento": EVENT, "estado": "opted_out"}
    )

    [row] = response.json()["results"]
    assert row["device"] == "PCT-0001"
    assert row["customer_number"] == "DR-1001"
    assert row["state_label"] == "se excluye"
    assert row["answered_at"] == "2026-01-14T19:30:00-03:00"


def test_dr_reads_never_show_rut_email_phone_or_name(world, sec):
    load_event_and_answers()
    api = as_user(sec)
    personal = []
    for customer in (world.ana, world.bruno):
        personal += [customer.rut, customer.email, customer.phone, customer.name]

    for name, params in READ_URLS:
        content = api.get(reverse(name), params).content.decode("utf-8-sig")
        for value in personal:
            assert value not in content, (name, value)


def test_programs_list_counts_the_customers_enrolled_today(world, planner):
    response = as_user(planner).get(reverse("dr:program-list"))

    rows = {p["code"]: p for p in response.json()["results"]}
    assert rows["DLC-RES"]["enrolled_customers"] == 2
    assert rows["CPP-RES"]["kind_label"] == "Tarificación de punta crítica (CPP)"
    assert rows["CPP-RES"]["critical_price_clp_kwh"] == "412.500"


def test_reading_device_states_is_written_to_the_access_log(world, sec):
    load_event_and_answers()

    as_user(sec).get(reverse("dr:target-list"), {"evento": EVENT})

    log = AccessLog.objects.get(user=sec)
    assert log.kind == "cliente"
    assert "evento=EV-2026-0001" in log.reference


def test_the_participation_download_is_a_csv_for_excel(world, cis):
    load_event_and_answers()

    response = as_user(cis).get(reverse("dr:participation"), {"programa": "DLC-RES"})

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "participacion_rd.csv" in response["Content-Disposition"]
    assert response.content.startswith("\ufeff".encode())
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 3  # header, Ana, Bruno


def test_the_participation_download_refuses_a_bad_date(world, cis):
    response = as_user(cis).get(reverse("dr:participation"), {"desde": "ayer"})

    assert response.status_code == 400
    assert "desde" in response.json()


def test_lists_make_the_same_queries_for_one_event_or_many(world, sec, django_assert_num_queries):
    receive_xml(event_xml("E1"))
    api = as_user(sec)
    # events: the count, the page, the access log row; states (a cursor): no count
    with django_assert_num_queries(3):
        assert api.get(reverse("dr:event-list")).status_code == 200
    with django_assert_num_queries(2):
        assert api.get(reverse("dr:target-list")).status_code == 200
    for n in range(2, 5):
        receive_xml(event_xml(f"E{n}", correlation_id=f"EV-{n}"))
    with django_assert_num_queries(3):
        body = api.get(reverse("dr:event-list")).json()
    assert body["count"] == 4
    with django_assert_num_queries(2):
        body = api.get(reverse("dr:target-list")).json()
    assert len(body["results"]) == 12


def test_an_unknown_event_is_a_404(world, sec):
    response = as_user(sec).get(reverse("dr:event-detail", args=["NO-EXISTE"]))

    assert response.status_code == 404
    assert json.loads(response.content)["detail"]


def test_responses_sent_before_the_event_show_as_pending_messages(world, sec):
    receive_xml(responses_xml("R1", [("PCT-0001", "optIn", "2026-01-14T10:00:00-03:00")]))

    response = as_user(sec).get(reverse("dr:message-list"), {"correlation_id": EVENT})

    [message] = response.json()["results"]
    assert (message["message_id"], message["outcome_label"]) == ("R1", "pendiente")
