"""Receiving DR messages (CIM XML files, the JSON API): one path for both, idempotent, and
indifferent to the order messages arrive in.

- A MessageID already received is a duplicate and changes nothing. A message rejected whole
  may be sent again under its MessageID (nothing of it was applied), and is read afresh.
- A message is taken element by element: a bad EndDeviceEvent or target device is reported
  with its path and reason, and the rest of the message is applied.
- A response whose CorrelationID names no known event or price yet is kept pending and applied
  when that event or price arrives; so is a cancellation. A response from a device the event
  does not target stays pending too (a later copy of the event may add the device).
- Messages about one CorrelationID are applied one at a time (a PostgreSQL advisory lock), so
  an event and its first responses arriving together cannot miss each other.

What wins when answers disagree is `DrEventTarget.settle`: the latest by the device's clock.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from django.db import IntegrityError, connection, transaction

from metering.cim import Header, MessageError, parse_message, read_header
from metering.models import DrMessage
from metering.services.dr.handlers import HANDLERS
from metering.services.dr.outcomes import (
    RESPONSES,
    Outcome,
    Tally,
    outcome_of,
    refresh_outcomes,
)
from metering.services.dr.reading import Problem, check_json, json_element

MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # an event for ~100 000 devices
XML_PREFIX = "EventMessage/Payload"
JSON_PREFIX = "payload"
XML_HEADER = "EventMessage/Header"
JSON_HEADER = "header"

DUPLICATE = "duplicate"
OUTCOME_LABELS = {**dict(DrMessage.Outcome.choices), DUPLICATE: "duplicado"}


@dataclass
class Result:
    """What became of one message."""

    message_id: str = ""
    correlation_id: str = ""
    outcome: str = Outcome.REJECTED
    problems: list[Problem] = field(default_factory=list)
    previous: str = ""  # a duplicate: the outcome the first copy had

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self.outcome]

    def as_dict(self) -> dict[str, Any]:
        return {
            "messageId": self.message_id,
            "correlationId": self.correlation_id,
            "outcome": self.outcome,
            "outcomeLabel": self.label,
            "previousOutcome": self.previous or None,
            "problems": [p.as_dict() for p in self.problems],
        }


def receive_xml(data: bytes, *, origin: str = "") -> Result:
    """Take one CIM EventMessage (bytes of an XML document)."""
    if len(data) > MAX_MESSAGE_BYTES:
        return _refused("documento", f"mensaje de más de {MAX_MESSAGE_BYTES // 2**20} MB")
    try:
        header, payload = parse_message(data)
    except MessageError as error:
        return _refused(error.where or "documento", error.reason)
    return _receive(
        header,
        payload,
        channel=DrMessage.Channel.XML,
        raw=data.decode("utf-8", errors="replace"),
        digest=hashlib.sha256(data).hexdigest(),
        origin=origin,
        where=(XML_HEADER, XML_PREFIX),
    )


# The JSON header's keys, lower-cased, and the CIM Header element each stands for.
JSON_HEADER_KEYS = {
    "verb": "Verb",
    "noun": "Noun",
    "messageid": "MessageID",
    "correlationid": "CorrelationID",
    "timestamp": "Timestamp",
    "source": "Source",
}


def receive_json(data: Any, *, origin: str = "") -> Result:
    """Take one message as JSON: {"header": {verb, noun, messageId, correlationId, timestamp,
    source}, "payload": {<Noun>: …}}, the payload shaped as the CIM XML one."""
    try:
        check_json(data)
    except MessageError as error:
        return _refused("", error.reason)
    if not isinstance(data, dict):
        return _refused("", "se esperaba un objeto JSON con header y payload")
    header_data, payload_data = data.get("header"), data.get("payload")
    if not isinstance(header_data, dict):
        return _refused(JSON_HEADER, "falta header (un objeto)")
    if not isinstance(payload_data, dict):
        return _refused(JSON_PREFIX, "falta payload (un objeto)")
    header_element = Element("Header")
    for key, value in header_data.items():
        name = JSON_HEADER_KEYS.get(str(key).lower())
        if name is None:
            return _refused(f"{JSON_HEADER}/{key}"[:200], "campo desconocido en header")
        if value is not None:
            sub = Element(name)
            sub.text = str(value)
            header_element.append(sub)
    try:
        header = read_header(header_element, JSON_HEADER)
        payload = json_element(JSON_PREFIX, payload_data)
    except MessageError as error:
        return _refused(error.where, error.reason)
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return _receive(
        header,
        payload,
        channel=DrMessage.Channel.JSON,
        raw=raw,
        digest=hashlib.sha256(raw.encode()).hexdigest(),
        origin=origin,
        where=(JSON_HEADER, JSON_PREFIX),
    )


def _refused(where: str, reason: str) -> Result:
    # Unreadable: no MessageID to keep it under, so it is only reported.
    return Result(problems=[Problem(where, reason)])


def _check_header(header: Header, where: str) -> Problem | None:
    for name, value, size in (
        ("MessageID", header.message_id, 100),
        ("CorrelationID", header.correlation_id, 100),
        ("Noun", header.noun, 60),
        ("Source", header.source, 100),
    ):
        if len(value) > size:
            return Problem(f"{where}/{name}", f"{name} demasiado largo (máximo {size})")
    return None


def _lock(correlation_id: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", ["dr:" + correlation_id]
        )


def _receive(
    header: Header,
    payload: Any,
    *,
    channel: str,
    raw: str,
    digest: str,
    origin: str,
    where: tuple[str, str],
) -> Result:
    header_where, prefix = where
    result = Result(header.message_id, header.correlation_id)
    problem = _check_header(header, header_where)
    if problem is not None:
        result.problems.append(problem)
        return result
    with transaction.atomic():
        _lock(header.correlation_id)
        previous = DrMessage.objects.filter(message_id=header.message_id).first()
        if previous is not None and previous.outcome != Outcome.REJECTED:
            result.outcome, result.previous = DUPLICATE, previous.get_outcome_display()
            if previous.digest != digest and previous.channel == channel:
                result.problems.append(
                    Problem(
                        f"{header_where}/MessageID",
                        "MessageID ya recibido con otro contenido; no se aplicó",
                    )
                )
            return result
        fields = {
            "correlation_id": header.correlation_id,
            "verb": header.verb,
            "noun": header.noun,
            "source": header.source,
            "sent_at": header.timestamp,
            "channel": channel,
            "origin": origin[:255],
            "payload": raw,
            "digest": digest,
            "outcome": Outcome.PENDING,
            "problems": [],
        }
        if previous is not None:
            # Rejected whole before: nothing of it applies, so it is read again in its own row
            # (kept with its first reception time; the same rejection leaves it as it was).
            previous.responses.all().delete()
            for name, value in fields.items():
                setattr(previous, name, value)
            previous.save()
            message = previous
        else:
            try:
                with transaction.atomic():
                    message = DrMessage.objects.create(message_id=header.message_id, **fields)
            except IntegrityError:
                # The same MessageID under another CorrelationID, stored a moment ago.
                result.outcome = DUPLICATE
                return result
        handler = HANDLERS.get(header.noun)
        if handler is None:
            tally = Tally().reject(
                f"{header_where}/Noun",
                f"sustantivo no admitido: {header.noun[:40]!r} (se aceptan {', '.join(HANDLERS)})",
            )
        elif header.verb not in handler.verbs:
            tally = Tally().reject(
                f"{header_where}/Verb",
                f"verbo {header.verb!r} no admitido para {header.noun} "
                f"(se aceptan {', '.join(handler.verbs)})",
            )
        else:
            try:
                tally = handler.apply(message, header, payload, prefix)
            except MessageError as error:
                tally = Tally().reject(error.where, error.reason)
        message.problems = [p.as_dict() for p in tally.problems]
        if header.noun == RESPONSES and handler is not None and header.verb in handler.verbs:
            message.save(update_fields=["problems"])
            refresh_outcomes([message.pk])
            message.refresh_from_db(fields=["outcome", "problems"])
        else:
            message.outcome = outcome_of(tally.applied, tally.pending, len(tally.problems))
            message.save(update_fields=["outcome", "problems"])
    result.outcome = message.outcome
    result.problems = [Problem(p["where"], p["reason"]) for p in message.problems]
    return result
