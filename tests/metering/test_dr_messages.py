"""Reading the DR messages: the hand-written CIM fixtures, the malformed ones, the JSON form."""

from __future__ import annotations

from decimal import Decimal

import pytest

from metering.models import DeviceResponse, DrEvent, DrEventTarget, DrMessage, PriceNotification
from metering.services.dr import receive_json, receive_xml
from tests.metering.dr_factories import (
    EVENT,
    PRICE,
    World,
    event_xml,
    fixture,
    make_world,
    malformed,
    price_xml,
    responses_xml,
)

pytestmark = pytest.mark.django_db

State = DrEventTarget.State


@pytest.fixture
def world() -> World:
    return make_world()


def states() -> dict[str, str]:
    return dict(
        DrEventTarget.objects.filter(event__correlation_id=EVENT).values_list(
            "device__mrid", "state"
        )
    )


def test_an_event_message_creates_the_event_with_its_target_devices(world):
    result = receive_xml(fixture("02_event_dlc.xml"), origin="02_event_dlc.xml")

    assert result.outcome == "applied", result.problems
    event = DrEvent.objects.get(correlation_id=EVENT)
    assert event.program == world.dlc
    assert event.signal == DrEvent.Signal.LOAD_CONTROL
    assert event.mrid == "DLC-2026-0001"
    assert event.level == 2
    assert event.mandatory is False
    assert event.starts_at.isoformat() == "2026-01-15T18:00:00+00:00"
    assert event.reason == "Alta demanda en alimentador"
    assert states() == {"PCT-0001": "sent", "LCS-0002": "sent", "IHD-0003": "sent"}
    assert DrEventTarget.objects.get(device=world.ihd3).customer == world.bruno
    message = DrMessage.objects.get(message_id="MSG-EV-0001")
    assert (message.correlation_id, message.verb, message.noun) == (
        EVENT,
        "create",
        "EndDeviceControls",
    )
    assert message.origin == "02_event_dlc.xml"
    assert "<EndDeviceControl>" in message.payload


def test_acknowledgements_and_answers_move_each_device_along(world):
    for name in ("02_event_dlc.xml", "03_acks.xml", "04_opt_out.xml", "05_opt_in.xml"):
        assert receive_xml(fixture(name)).outcome == "applied", name

    assert states() == {"PCT-0001": "opted_out", "LCS-0002": "acknowledged", "IHD-0003": "opted_in"}
    pct = DrEventTarget.objects.get(device=world.pct1)
    assert pct.acknowledged_at.isoformat() == "2026-01-14T15:01:10+00:00"
    assert pct.answered_at.isoformat() == "2026-01-14T22:30:00+00:00"
    assert pct.answer_response.message.message_id == "MSG-OPT-0001"
    assert pct.ack_response.mrid == "ACK-PCT-0001"
    ihd = DrEventTarget.objects.get(device=world.ihd3)
    assert ihd.acknowledged_at is None  # answered without an acknowledgement first


def test_a_price_notification_is_kept_and_acknowledged_by_an_enrolled_device(world):
    assert receive_xml(fixture("01_price_cpp.xml")).outcome == "applied"
    assert receive_xml(fixture("06_price_ack.xml")).outcome == "applied"

    price = PriceNotification.objects.get(correlation_id=PRICE)
    assert price.program == world.cpp
    assert price.price_clp_kwh == Decimal("412.5")
    assert price.mrid == "PRECIO-CPP-2026-01-15"
    assert [ack.device for ack in price.acks.all()] == [world.ihd3]


def test_an_answer_to_a_price_notification_is_rejected_but_its_ack_is_kept(world):
    receive_xml(price_xml("P1"))
    result = receive_xml(
        responses_xml(
            "R1",
            [
                ("IHD-0003", "optIn", "2026-01-14T10:00:00-03:00"),
                ("IHD-0003", "acknowledged", "2026-01-14T10:00:00-03:00"),
            ],
            correlation_id=PRICE,
        )
    )

    assert result.outcome == "partial"
    [problem] = result.problems
    assert problem.where == (
        "EventMessage/Payload/EndDeviceEvents/EndDeviceEvent[1]/EndDeviceEventType"
    )
    assert "solo admite acuse de recibo" in problem.reason
    assert PriceNotification.objects.get().acks.count() == 1


def test_a_price_ack_from_a_customer_outside_the_program_is_rejected(world):
    receive_xml(price_xml("P1"))
    result = receive_xml(
        responses_xml(
            "R1", [("PCT-0009", "ack", "2026-01-14T10:00:00-03:00")], correlation_id=PRICE
        )
    )

    assert result.outcome == "rejected"
    assert "no está inscrito" in result.problems[0].reason


def test_a_message_without_header_is_refused_and_not_kept(world):
    result = receive_xml(malformed("no_header.xml"))

    assert result.outcome == "rejected"
    assert [(p.where, p.reason) for p in result.problems] == [("EventMessage", "falta Header")]
    assert not DrMessage.objects.exists()


def test_a_document_declaring_entities_is_refused_before_reading_it(world):
    receive_xml(fixture("02_event_dlc.xml"))

    result = receive_xml(malformed("doctype_entity.xml"))

    assert result.outcome == "rejected"
    assert "rechazado por seguridad" in result.problems[0].reason
    assert not DrMessage.objects.filter(message_id="MSG-ENTITY").exists()
    assert states()["PCT-0001"] == "sent"


def test_a_truncated_document_is_refused_as_malformed(world):
    result = receive_xml(malformed("truncated.xml"))

    assert result.outcome == "rejected"
    assert "XML mal formado" in result.problems[0].reason


def test_an_unknown_noun_is_rejected_and_kept_with_the_reason(world):
    result = receive_xml(malformed("unknown_noun.xml"))

    assert result.outcome == "rejected"
    [problem] = result.problems
    assert problem.where == "EventMessage/Header/Noun"
    assert "MeterServiceRequests" in problem.reason
    message = DrMessage.objects.get(message_id="MSG-BAD-NOUN")
    assert message.outcome == "rejected"
    assert message.problems == [problem.as_dict()]


def test_bad_timestamps_reject_their_element_and_keep_the_rest_of_the_message(world):
    receive_xml(fixture("02_event_dlc.xml"))

    result = receive_xml(malformed("bad_timestamp.xml"))

    assert result.outcome == "partial"
    prefix = "EventMessage/Payload/EndDeviceEvents/EndDeviceEvent"
    assert [(p.where, p.reason) for p in result.problems] == [
        (f"{prefix}[1]/createdDateTime", "fecha y hora inválida: '14/01/2026 12:02'"),
        (
            f"{prefix}[2]/createdDateTime",
            "fecha y hora sin zona horaria: '2026-01-14T12:02:00'",
        ),
    ]
    assert states()["IHD-0003"] == "acknowledged"


def test_an_unknown_device_rejects_its_element_and_keeps_the_others(world):
    receive_xml(fixture("02_event_dlc.xml"))

    result = receive_xml(malformed("unknown_device.xml"))

    assert result.outcome == "partial"
    [problem] = result.problems
    assert problem.where == (
        "EventMessage/Payload/EndDeviceEvents/EndDeviceEvent[1]/EndDevice/mRID"
    )
    assert problem.reason == "dispositivo desconocido: PCT-9999"
    assert states()["LCS-0002"] == "opted_in"


def test_an_event_keeps_its_valid_targets_and_reports_the_others(world):
    result = receive_xml(
        event_xml("E1", devices=("PCT-0001", "NO-EXISTE", "PCT-0009", "PCT-0001", ""))
    )

    assert result.outcome == "partial"
    prefix = "EventMessage/Payload/EndDeviceControls/EndDeviceControl[1]/EndDevices"
    assert [(p.where, p.reason) for p in result.problems] == [
        (f"{prefix}[2]/mRID", "dispositivo desconocido: NO-EXISTE"),
        (
            f"{prefix}[3]/mRID",
            "el cliente DR-1003 (dispositivo PCT-0009) no está inscrito en el programa "
            "DLC-RES el 15-01-2026",
        ),
        (f"{prefix}[5]/mRID", "falta el mRID del dispositivo"),
    ]
    assert states() == {"PCT-0001": "sent"}


def test_a_retired_device_is_not_sent_new_events(world):
    world.lcs2.active = False
    world.lcs2.save()

    result = receive_xml(event_xml("E1"))

    assert "LCS-0002 está retirado" in result.problems[0].reason
    assert set(states()) == {"PCT-0001", "IHD-0003"}


@pytest.mark.parametrize(
    ("kwargs", "where", "reason"),
    [
        (
            {"program": "NO-EXISTE"},
            "DemandResponseProgram/mRID",
            "programa desconocido: NO-EXISTE",
        ),
        (
            {"control": "criticalPeakPrice"},
            "EndDeviceControlType",
            "el programa DLC-RES es Control directo de carga (DLC); "
            "no admite una señal precio de punta crítica",
        ),
        ({"control": "reboot"}, "EndDeviceControlType", "tipo de control desconocido: 'reboot'"),
        (
            {"end": "2026-01-15T14:00:00-03:00"},
            "scheduledInterval",
            "el término no es posterior al inicio",
        ),
        ({"devices": ()}, "", "el evento no indica ningún EndDevices"),
    ],
)
def test_an_event_that_cannot_be_taken_is_rejected_with_where_and_why(world, kwargs, where, reason):
    result = receive_xml(event_xml("E1", **kwargs))

    assert result.outcome == "rejected"
    element = "EventMessage/Payload/EndDeviceControls/EndDeviceControl[1]"
    assert [(p.where, p.reason) for p in result.problems] == [
        (f"{element}/{where}".rstrip("/"), reason)
    ]
    assert not DrEvent.objects.exists()


def test_a_verb_the_noun_does_not_take_is_rejected(world):
    data = responses_xml("R1", [("PCT-0001", "ack", "2026-01-14T10:00:00-03:00")])
    result = receive_xml(data.replace(b"<Verb>created</Verb>", b"<Verb>delete</Verb>"))

    assert result.outcome == "rejected"
    assert result.problems[0].where == "EventMessage/Header/Verb"


def test_an_event_message_with_two_controls_takes_the_first_and_reports_the_second(world):
    data = event_xml("E1")
    control = data[data.index(b"<EndDeviceControl>") : data.index(b"</EndDeviceControls>")]
    data = data.replace(b"</EndDeviceControls>", control + b"</EndDeviceControls>")

    result = receive_xml(data)

    assert result.outcome == "partial"
    assert result.problems[0].where.endswith("EndDeviceControl[2]")
    assert DrEvent.objects.count() == 1


def test_an_event_answered_after_it_ended_keeps_its_state(world):
    receive_xml(event_xml("E1"))

    result = receive_xml(responses_xml("R1", [("PCT-0001", "optIn", "2026-01-15T18:00:01-03:00")]))

    assert result.outcome == "rejected"
    assert "posterior al término del evento (15-01-2026 18:00)" in result.problems[0].reason
    assert states()["PCT-0001"] == "sent"


def test_a_second_event_under_the_same_correlation_id_with_other_data_is_rejected(world):
    receive_xml(event_xml("E1"))

    result = receive_xml(event_xml("E2", end="2026-01-15T19:00:00-03:00"))

    assert result.outcome == "rejected"
    assert "ya existe el evento EV-2026-0001 con otros datos" in result.problems[0].reason
    assert DrEvent.objects.get().ends_at.isoformat() == "2026-01-15T21:00:00+00:00"


def test_a_copy_of_the_event_under_a_new_message_id_adds_the_devices_it_lacked(world):
    receive_xml(event_xml("E1", devices=("PCT-0001",)))
    receive_xml(responses_xml("R1", [("IHD-0003", "optIn", "2026-01-14T10:00:00-03:00")]))

    assert set(states()) == {"PCT-0001"}
    assert DrMessage.objects.get(message_id="R1").outcome == "pending"

    assert receive_xml(event_xml("E2")).outcome == "applied"

    assert states() == {"PCT-0001": "sent", "LCS-0002": "sent", "IHD-0003": "opted_in"}
    assert DrMessage.objects.get(message_id="R1").outcome == "applied"


def test_a_price_and_an_event_cannot_share_a_correlation_id(world):
    receive_xml(event_xml("E1"))

    result = receive_xml(price_xml("P1", correlation_id=EVENT))

    assert result.outcome == "rejected"
    assert "ya es de un evento DR" in result.problems[0].reason


def json_message(message_id: str, answers: list[dict]) -> dict:
    return {
        "header": {
            "verb": "created",
            "noun": "EndDeviceEvents",
            "messageId": message_id,
            "correlationId": EVENT,
            "timestamp": "2026-01-14T12:05:00-03:00",
            "source": "HES",
        },
        "payload": {"EndDeviceEvents": {"EndDeviceEvent": answers}},
    }


def test_a_json_message_is_read_by_the_same_rules_as_its_xml_twin(world):
    receive_xml(fixture("02_event_dlc.xml"))

    result = receive_json(
        json_message(
            "J1",
            [
                {
                    "mRID": "ACK-PCT-0001",
                    "createdDateTime": "2026-01-14T12:01:10-03:00",
                    "EndDeviceEventType": {"ref": "acknowledged"},
                    "EndDevice": {"mRID": "PCT-0001"},
                },
                {
                    "createdDateTime": "ayer",
                    "EndDeviceEventType": {"ref": "acknowledged"},
                    "EndDevice": {"mRID": "LCS-0002"},
                },
            ],
        ),
        origin="api:head-end",
    )

    assert result.outcome == "partial"
    assert [(p.where, p.reason) for p in result.problems] == [
        (
            "payload/EndDeviceEvents/EndDeviceEvent[2]/createdDateTime",
            "fecha y hora inválida: 'ayer'",
        )
    ]
    assert states()["PCT-0001"] == "acknowledged"
    message = DrMessage.objects.get(message_id="J1")
    assert message.channel == "json"
    assert message.origin == "api:head-end"


@pytest.mark.parametrize(
    ("data", "where", "reason"),
    [
        ([], "", "se esperaba un objeto JSON con header y payload"),
        ({"payload": {}}, "header", "falta header (un objeto)"),
        ({"header": {"verb": "created"}}, "payload", "falta payload (un objeto)"),
        (
            {"header": {"verb": "created", "noun": "EndDeviceEvents"}, "payload": {}},
            "header",
            "falta MessageID en el encabezado",
        ),
        (
            {
                "header": {"verb": "x", "noun": "n", "messageId": "m", "colour": "red"},
                "payload": {},
            },
            "header/colour",
            "campo desconocido en header",
        ),
    ],
)
def test_a_json_message_without_its_parts_is_refused(world, data, where, reason):
    result = receive_json(data)

    assert result.outcome == "rejected"
    assert [(p.where, p.reason) for p in result.problems] == [(where, reason)]
    assert not DrMessage.objects.exists()


def test_a_response_answers_with_the_header_time_when_the_device_gives_none(world):
    receive_xml(event_xml("E1"))
    data = responses_xml("R1", [("PCT-0001", "optOut", "")])

    receive_xml(data.replace(b"<createdDateTime></createdDateTime>", b""))

    target = DrEventTarget.objects.get(device=world.pct1)
    assert target.state == "opted_out"
    assert target.answered_at.isoformat() == "2026-01-14T12:00:00+00:00"


def test_response_type_names_are_matched_without_case_or_punctuation(world):
    receive_xml(event_xml("E1"))
    receive_xml(
        responses_xml(
            "R1",
            [
                ("PCT-0001", "OPT-IN", "2026-01-14T10:00:00-03:00"),
                ("LCS-0002", "opted_out", "2026-01-14T10:00:00-03:00"),
            ],
        )
    )

    assert states() == {"PCT-0001": "opted_in", "LCS-0002": "opted_out", "IHD-0003": "sent"}
    assert DeviceResponse.objects.filter(status="applied").count() == 2


def test_a_price_in_another_unit_is_rejected(world):
    result = receive_xml(price_xml("P1").replace(b"CLP/kWh", b"USD/MWh"))

    assert result.outcome == "rejected"
    assert result.problems[0].where == "EventMessage/Payload/PriceSignal[1]/price"
    assert "unidad de precio no admitida" in result.problems[0].reason
    assert not PriceNotification.objects.exists()


def test_an_event_sent_as_json_creates_the_event_and_its_targets(world):
    result = receive_json(
        {
            "header": {
                "verb": "create",
                "noun": "EndDeviceControls",
                "messageId": "J-EV",
                "correlationId": "EV-JSON",
                "timestamp": "2026-01-14T12:00:00-03:00",
            },
            "payload": {
                "EndDeviceControls": {
                    "EndDeviceControl": {
                        "EndDeviceControlType": {"ref": "criticalPeakPrice"},
                        "DemandResponseProgram": {"mRID": "CPP-RES"},
                        "drProgramMandatory": True,
                        "priceSignal": {"value": 412.5, "unit": "$/kWh"},
                        "scheduledInterval": {
                            "start": "2026-01-15T15:00:00-03:00",
                            "end": "2026-01-15T18:00:00-03:00",
                        },
                        "EndDevices": [{"mRID": "IHD-0003"}, {"mRID": "PCT-0001"}],
                    }
                }
            },
        }
    )

    assert result.outcome == "applied", result.problems
    event = DrEvent.objects.get(correlation_id="EV-JSON")
    assert (event.signal, event.mandatory, event.price_clp_kwh) == ("cpp", True, Decimal("412.5"))
    assert set(event.targets.values_list("device__mrid", flat=True)) == {"IHD-0003", "PCT-0001"}
