"""The state of each device in an event survives duplicates and any arrival order."""

from __future__ import annotations

from itertools import permutations

import pytest
from django.db import transaction

from metering.models import DeviceResponse, DrEvent, DrEventTarget, DrMessage
from metering.services.dr import receive_xml
from tests.metering.dr_factories import (
    EVENT,
    PRICE,
    World,
    cancel_xml,
    event_xml,
    fixture,
    make_world,
    price_xml,
    responses_xml,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world() -> World:
    return make_world()


def snapshot() -> dict:
    """Everything order could change: states, their times, which answer rules, the outcome of
    every message, the cancellation."""
    targets = {
        t.device.mrid: (
            t.state,
            t.acknowledged_at,
            t.answered_at,
            t.answer_response.message_key if t.answer_response else None,
        )
        for t in DrEventTarget.objects.select_related("device", "answer_response")
    }
    messages = dict(DrMessage.objects.values_list("message_id", "outcome"))
    events = list(DrEvent.objects.values_list("correlation_id", "canceled_at"))
    return {"targets": targets, "messages": messages, "events": events}


def replay(orders, messages: dict[str, bytes]) -> list[dict]:
    """The snapshot after receiving the messages in each order, each order from scratch."""
    results = []
    for order in orders:
        with transaction.atomic():
            for name in order:
                receive_xml(messages[name])
            results.append(snapshot())
            transaction.set_rollback(True)
    return results


MESSAGES = {
    "event": event_xml("E1"),
    "ack": responses_xml(
        "A1",
        [
            ("PCT-0001", "acknowledged", "2026-01-14T09:01:00-03:00"),
            ("LCS-0002", "acknowledged", "2026-01-14T09:02:00-03:00"),
        ],
    ),
    "opt_in": responses_xml("I1", [("PCT-0001", "optIn", "2026-01-14T10:00:00-03:00")]),
    # The customer changes their mind half an hour later.
    "opt_out": responses_xml("O1", [("PCT-0001", "optOut", "2026-01-14T10:30:00-03:00")]),
    "ihd": responses_xml("H1", [("IHD-0003", "optIn", "2026-01-14T11:00:00-03:00")]),
}


def test_every_arrival_order_of_an_event_and_its_answers_ends_in_the_same_state(world):
    results = replay(permutations(MESSAGES), MESSAGES)

    assert len(results) == 120
    first = results[0]
    assert all(result == first for result in results)
    assert {mrid: t[0] for mrid, t in first["targets"].items()} == {
        "PCT-0001": "opted_out",
        "LCS-0002": "acknowledged",
        "IHD-0003": "opted_in",
    }
    assert first["targets"]["PCT-0001"][3] == "O1"
    assert set(first["messages"].values()) == {"applied"}


def test_answers_that_arrive_before_their_event_wait_for_it(world):
    receive_xml(MESSAGES["opt_out"])
    receive_xml(MESSAGES["ack"])

    assert DrMessage.objects.get(message_id="O1").outcome == "pending"
    assert DeviceResponse.objects.filter(status="pending").count() == 3
    assert not DrEventTarget.objects.exists()

    receive_xml(MESSAGES["event"])

    assert dict(DrEventTarget.objects.values_list("device__mrid", "state")) == {
        "PCT-0001": "opted_out",
        "LCS-0002": "acknowledged",
        "IHD-0003": "sent",
    }
    assert not DeviceResponse.objects.filter(status="pending").exists()
    assert DrMessage.objects.get(message_id="O1").outcome == "applied"


def test_a_late_acknowledgement_does_not_undo_an_opt_out(world):
    receive_xml(MESSAGES["event"])
    receive_xml(MESSAGES["opt_out"])

    receive_xml(MESSAGES["ack"])

    target = DrEventTarget.objects.get(device=world.pct1)
    assert target.state == "opted_out"
    assert target.acknowledged_at is not None


def test_the_latest_answer_by_the_device_clock_wins_not_the_last_received(world):
    receive_xml(MESSAGES["event"])
    receive_xml(MESSAGES["opt_out"])  # 10:30
    receive_xml(MESSAGES["opt_in"])  # 10:00, received later

    assert DrEventTarget.objects.get(device=world.pct1).state == "opted_out"


def test_an_opt_out_wins_over_an_opt_in_at_the_same_instant(world):
    at = "2026-01-14T10:00:00-03:00"
    messages = {
        "event": event_xml("E1"),
        "in": responses_xml("Z-IN", [("PCT-0001", "optIn", at)]),
        "out": responses_xml("A-OUT", [("PCT-0001", "optOut", at)]),
    }

    results = replay(permutations(messages), messages)

    assert all(r == results[0] for r in results)
    assert results[0]["targets"]["PCT-0001"][0] == "opted_out"


def test_a_duplicate_message_changes_nothing(world):
    for name in ("02_event_dlc.xml", "03_acks.xml", "04_opt_out.xml"):
        receive_xml(fixture(name))
    before = snapshot()
    responses = DeviceResponse.objects.count()

    for name in ("02_event_dlc.xml", "03_acks.xml", "04_opt_out.xml"):
        result = receive_xml(fixture(name))
        assert result.outcome == "duplicate"
        assert result.previous == "aplicado"
        assert result.problems == []

    assert snapshot() == before
    assert DeviceResponse.objects.count() == responses


def test_a_message_id_resent_with_other_content_is_ignored_and_reported(world):
    receive_xml(MESSAGES["event"])
    receive_xml(MESSAGES["opt_in"])

    forged = responses_xml("I1", [("PCT-0001", "optOut", "2026-01-14T12:00:00-03:00")])
    result = receive_xml(forged)

    assert result.outcome == "duplicate"
    assert result.problems[0].where == "EventMessage/Header/MessageID"
    assert DrEventTarget.objects.get(device=world.pct1).state == "opted_in"


def test_a_wholly_rejected_message_is_read_afresh_when_sent_again(world):
    answer = responses_xml("R1", [("PCT-0042", "optIn", "2026-01-14T10:00:00-03:00")])
    receive_xml(MESSAGES["event"])
    assert receive_xml(answer).outcome == "rejected"
    assert receive_xml(answer).outcome == "rejected"  # the same again: nothing to apply

    from metering.models import HanDevice

    HanDevice.objects.filter(mrid="PCT-0001").update(mrid="PCT-0042")

    assert receive_xml(answer).outcome == "applied"
    assert DrEventTarget.objects.get(device__mrid="PCT-0042").state == "opted_in"
    assert DrMessage.objects.filter(message_id="R1").count() == 1


def test_a_cancellation_applies_whether_it_comes_before_or_after_its_event(world):
    messages = {
        "event": event_xml("E1"),
        "cancel": cancel_xml("C1"),
        "later_cancel": cancel_xml("C2").replace(b"09:00:00", b"09:30:00"),
        "answer": MESSAGES["opt_out"],
    }

    results = replay(permutations(messages), messages)

    assert all(r == results[0] for r in results)
    [(cid, canceled_at)] = results[0]["events"]
    assert (cid, canceled_at.isoformat()) == (EVENT, "2026-01-14T12:00:00+00:00")
    assert set(results[0]["messages"].values()) == {"applied"}
    assert DrEvent.objects.count() == 0  # every order was rolled back


def test_a_price_and_its_acknowledgement_end_the_same_in_either_order(world):
    messages = {
        "price": price_xml("P1"),
        "ack": responses_xml(
            "A1", [("IHD-0003", "ack", "2026-01-14T10:00:00-03:00")], correlation_id=PRICE
        ),
    }

    def acks():
        return list(DeviceResponse.objects.values_list("status", "notification__correlation_id"))

    for order in permutations(messages):
        with transaction.atomic():
            for name in order:
                receive_xml(messages[name])
            assert acks() == [("applied", PRICE)], order
            transaction.set_rollback(True)
