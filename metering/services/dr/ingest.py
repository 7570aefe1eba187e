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
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from xml.etree.ElementTree import Element

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q
from django.utils import timezone

from metering.cim import Header, MessageError, parse_message, read_header
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
from metering.services.dr.reading import (
    ControlItem,
    DeviceRef,
    PriceItem,
    Problem,
    container,
    items,
    json_element,
    read_control,
    read_price,
    read_response,
)

CONTROLS = "EndDeviceControls"
RESPONSES = "EndDeviceEvents"
PRICE = "PriceSignal"
CREATE = ("create", "created")
CANCEL = ("cancel", "canceled")
MAX_MESSAGE_BYTES = 10 * 1024 * 1024  # an event for ~100 000 devices
XML_PREFIX = "EventMessage/Payload"
JSON_PREFIX = "payload"
XML_HEADER = "EventMessage/Header"
JSON_HEADER = "header"
WAITING = "esperando el evento o la notificación de precio de su CorrelationID"

DUPLICATE = "duplicate"
OUTCOME_LABELS = {**dict(DrMessage.Outcome.choices), DUPLICATE: "duplicado"}
Outcome = DrMessage.Outcome
Status = DeviceResponse.Status


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


@dataclass
class Tally:
    applied: int = 0
    pending: int = 0
    problems: list[Problem] = field(default_factory=list)

    def reject(self, where: str, reason: str) -> Tally:
        self.problems.append(Problem(where, reason))
        return self


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
            _refresh_outcomes([message.pk])
            message.refresh_from_db(fields=["outcome", "problems"])
        else:
            message.outcome = _outcome(tally.applied, tally.pending, len(tally.problems))
            message.save(update_fields=["outcome", "problems"])
    result.outcome = message.outcome
    result.problems = [Problem(p["where"], p["reason"]) for p in message.problems]
    return result


def _outcome(applied: int, pending: int, problems: int) -> str:
    if not applied and not pending:
        return Outcome.REJECTED
    if pending:
        return Outcome.PENDING
    return Outcome.PARTIAL if problems else Outcome.APPLIED


# EndDeviceControls: DR events --------------------------------------------------------------


def _controls(message: DrMessage, header: Header, payload: Any, prefix: str) -> Tally:
    if header.verb in CANCEL:
        return _cancel(message)
    where = f"{prefix}/{CONTROLS}"
    found = list(items(container(payload, CONTROLS, prefix), "EndDeviceControl", where))
    tally = Tally()
    if not found:
        return tally.reject(where, "no trae ningún EndDeviceControl")
    for _, extra in found[1:]:
        tally.reject(
            extra, "un mensaje lleva un solo EndDeviceControl (su CorrelationID es el evento)"
        )
    element, here = found[0]
    try:
        item = read_control(element, here)
    except MessageError as error:
        return tally.reject(error.where, error.reason)
    return _create_event(message, item, tally)


def _create_event(message: DrMessage, item: ControlItem, tally: Tally) -> Tally:
    cid = message.correlation_id
    program = DrProgram.objects.filter(code=item.program).first()
    if program is None:
        return tally.reject(
            f"{item.where}/DemandResponseProgram/mRID", f"programa desconocido: {item.program}"
        )
    if program.kind != item.signal:
        return tally.reject(
            f"{item.where}/EndDeviceControlType",
            f"el programa {program.code} es {program.get_kind_display()}; "
            f"no admite una señal {DrEvent.Signal(item.signal).label.lower()}",
        )
    if PriceNotification.objects.filter(correlation_id=cid).exists():
        return tally.reject(
            f"{item.where}", f"el CorrelationID {cid} ya es de una notificación de precio"
        )
    facts = {
        "program": program,
        "signal": item.signal,
        "starts_at": item.starts_at,
        "ends_at": item.ends_at,
        "level": item.level,
        "mandatory": item.mandatory,
        "price_clp_kwh": item.price,
    }
    event = DrEvent.objects.filter(correlation_id=cid).first()
    if event is None:
        event = DrEvent.objects.create(
            correlation_id=cid,
            mrid=item.mrid,
            reason=item.reason,
            issued_at=message.sent_at,
            message=message,
            **facts,
        )
    elif any(getattr(event, name) != value for name, value in facts.items()):
        return tally.reject(
            item.where,
            f"ya existe el evento {cid} con otros datos (programa, señal, periodo, nivel o "
            "precio); para cambiarlo, cancélelo y envíe uno nuevo",
        )
    # A copy of the event under another MessageID may bring devices the first one lacked.
    _add_targets(event, item.devices, tally)
    tally.applied += 1
    _resolve_pending(cid)
    return tally


def _add_targets(event: DrEvent, refs: Iterable[DeviceRef], tally: Tally) -> None:
    refs = list(refs)
    devices = {
        d.mrid: d
        for d in HanDevice.objects.filter(mrid__in={r.mrid for r in refs if r.mrid})
        .select_related("customer")
        .only("mrid", "active", "customer_id", "customer__number")
    }
    day = timezone.localdate(event.starts_at)
    enrolled = set(
        ProgramEnrollment.objects.active_on(day)
        .filter(program=event.program, customer_id__in={d.customer_id for d in devices.values()})
        .values_list("customer_id", flat=True)
    )
    existing = set(event.targets.values_list("device_id", flat=True))
    new, seen = [], set()
    for ref in refs:
        if not ref.mrid:
            tally.reject(ref.where, "falta el mRID del dispositivo")
            continue
        if ref.mrid in seen:
            continue
        seen.add(ref.mrid)
        device = devices.get(ref.mrid)
        if device is None:
            tally.reject(ref.where, f"dispositivo desconocido: {ref.mrid}")
        elif not device.active:
            tally.reject(ref.where, f"el dispositivo {ref.mrid} está retirado")
        elif device.customer_id not in enrolled:
            tally.reject(
                ref.where,
                f"el cliente {device.customer.number} (dispositivo {ref.mrid}) no está inscrito "
                f"en el programa {event.program.code} el {day:%d-%m-%Y}",
            )
        elif device.pk not in existing:
            new.append(DrEventTarget(event=event, device=device, customer_id=device.customer_id))
    DrEventTarget.objects.bulk_create(new)


def _cancel(message: DrMessage) -> Tally:
    event = (
        DrEvent.objects.select_related("cancel_message")
        .filter(correlation_id=message.correlation_id)
        .first()
    )
    if event is None:
        return Tally(pending=1)  # applied when the event arrives
    _apply_cancel(event, message)
    return Tally(applied=1)


def _apply_cancel(event: DrEvent, message: DrMessage) -> None:
    # The earliest cancellation counts, so two of them settle the same in either order.
    at = message.sent_at or message.received_at
    current = event.cancel_message
    if current is None or (at, message.message_id) < (
        event.canceled_at,
        current.message_id,
    ):
        event.canceled_at, event.cancel_message = at, message
        event.save(update_fields=["canceled_at", "cancel_message"])


# PriceSignal: price notifications --------------------------------------------------------


def _price(message: DrMessage, header: Header, payload: Any, prefix: str) -> Tally:
    found = list(items(payload, PRICE, prefix))
    tally = Tally()
    if not found:
        container(payload, PRICE, prefix)  # raises with what the payload holds instead
    for _, extra in found[1:]:
        tally.reject(extra, "un mensaje lleva un solo PriceSignal: su CorrelationID es el precio")
    element, here = found[0]
    try:
        item = read_price(element, here)
    except MessageError as error:
        return tally.reject(error.where, error.reason)
    return _create_price(message, item, tally)


def _create_price(message: DrMessage, item: PriceItem, tally: Tally) -> Tally:
    cid = message.correlation_id
    program = DrProgram.objects.filter(code=item.program).first()
    if program is None:
        return tally.reject(
            f"{item.where}/DemandResponseProgram/mRID", f"programa desconocido: {item.program}"
        )
    if DrEvent.objects.filter(correlation_id=cid).exists():
        return tally.reject(item.where, f"el CorrelationID {cid} ya es de un evento DR")
    facts = {
        "program": program,
        "starts_at": item.starts_at,
        "ends_at": item.ends_at,
        "price_clp_kwh": item.price,
    }
    notification = PriceNotification.objects.filter(correlation_id=cid).first()
    if notification is None:
        PriceNotification.objects.create(
            correlation_id=cid, mrid=item.mrid, reason=item.reason, message=message, **facts
        )
    elif any(getattr(notification, name) != value for name, value in facts.items()):
        return tally.reject(item.where, f"ya existe el precio {cid} con otros datos")
    tally.applied += 1
    _resolve_pending(cid)
    return tally


# EndDeviceEvents: acknowledgements and opt-in / opt-out ----------------------------------


def _responses(message: DrMessage, header: Header, payload: Any, prefix: str) -> Tally:
    where = f"{prefix}/{RESPONSES}"
    found = list(items(container(payload, RESPONSES, prefix), "EndDeviceEvent", where))
    tally = Tally()
    if not found:
        return tally.reject(where, "no trae ningún EndDeviceEvent")
    parsed = []
    for element, here in found:
        try:
            parsed.append(read_response(element, here, header.timestamp))
        except MessageError as error:
            tally.reject(error.where, error.reason)
    devices = {
        d.mrid: d
        for d in HanDevice.objects.filter(mrid__in={item.device for item in parsed}).only(
            "mrid", "customer_id"
        )
    }
    rows = []
    for item in parsed:
        device = devices.get(item.device)
        if device is None:
            tally.reject(item.device_where, f"dispositivo desconocido: {item.device}")
            continue
        rows.append(
            DeviceResponse(
                message=message,
                message_key=message.message_id,
                where=item.where[:200],
                correlation_id=message.correlation_id,
                device=device,
                kind=item.kind,
                at=item.at,
                mrid=item.mrid,
                status=Status.PENDING,
                reason=WAITING,
            )
        )
    DeviceResponse.objects.bulk_create(rows)
    # Problems found now go on the message before the responses' own are added to it.
    message.problems = [p.as_dict() for p in tally.problems]
    message.save(update_fields=["problems"])
    _apply_responses(rows, message.correlation_id)
    message.refresh_from_db(fields=["problems"])
    tally.problems = [Problem(p["where"], p["reason"]) for p in message.problems]
    return tally


def _apply_responses(responses: list[DeviceResponse], correlation_id: str) -> set[int]:
    """Apply the pending responses of one CorrelationID to its event or price, if known yet.
    Returns the messages whose responses changed."""
    if not responses:
        return set()
    event = DrEvent.objects.select_related("program").filter(correlation_id=correlation_id).first()
    notification = None
    if event is None:
        notification = (
            PriceNotification.objects.select_related("program")
            .filter(correlation_id=correlation_id)
            .first()
        )
        if notification is None:
            return set()
    rejected: dict[int, list[Problem]] = defaultdict(list)
    changed = []

    def reject(response: DeviceResponse, where: str, reason: str) -> None:
        response.status, response.reason = Status.REJECTED, reason[:300]
        rejected[response.message_id].append(Problem(where, reason))
        changed.append(response)

    if event is not None:
        targets = {
            t.device_id: t
            for t in event.targets.filter(device_id__in={r.device_id for r in responses})
        }
        for response in responses:
            target = targets.get(response.device_id)
            if target is None:
                reason = (
                    f"el dispositivo {response.device.mrid} no es destinatario del evento "
                    f"{correlation_id}; queda pendiente por si una copia del evento lo agrega"
                )
                if response.reason != reason:
                    response.reason = reason
                    changed.append(response)
            elif response.kind != DeviceResponse.Kind.ACK and response.at > event.ends_at:
                end = timezone.localtime(event.ends_at)
                reject(
                    response,
                    f"{response.where}/createdDateTime",
                    f"respuesta posterior al término del evento ({end:%d-%m-%Y %H:%M})",
                )
            else:
                response.status, response.target, response.reason = Status.APPLIED, target, ""
                changed.append(response)
    else:
        enrolled = set(
            ProgramEnrollment.objects.filter(
                Q(valid_to__isnull=True)
                | Q(valid_to__gte=timezone.localdate(notification.starts_at)),
                program=notification.program,
                valid_from__lte=timezone.localdate(notification.ends_at),
                customer_id__in={r.device.customer_id for r in responses},
            ).values_list("customer_id", flat=True)
        )
        for response in responses:
            if response.kind != DeviceResponse.Kind.ACK:
                reject(
                    response,
                    f"{response.where}/EndDeviceEventType",
                    "una notificación de precio solo admite acuse de recibo",
                )
            elif response.device.customer_id not in enrolled:
                reject(
                    response,
                    f"{response.where}/EndDevice/mRID",
                    f"el cliente del dispositivo {response.device.mrid} no está inscrito en el "
                    f"programa {notification.program.code} en el periodo del precio",
                )
            else:
                response.status, response.notification, response.reason = (
                    Status.APPLIED,
                    notification,
                    "",
                )
                changed.append(response)
    DeviceResponse.objects.bulk_update(changed, ["status", "reason", "target", "notification"])
    if rejected:
        for message in DrMessage.objects.filter(pk__in=rejected):
            message.problems = message.problems + [p.as_dict() for p in rejected[message.pk]]
            message.save(update_fields=["problems"])
    _settle({r.target_id for r in changed if r.target_id})
    return {r.message_id for r in changed}


def _settle(target_ids: set[int]) -> None:
    if not target_ids:
        return
    by_target = defaultdict(list)
    for response in DeviceResponse.objects.filter(target_id__in=target_ids, status=Status.APPLIED):
        by_target[response.target_id].append(response)
    now = timezone.now()
    changed = []
    for target in DrEventTarget.objects.filter(pk__in=target_ids):
        if target.settle(by_target[target.pk]):
            target.updated_at = now
            changed.append(target)
    DrEventTarget.objects.bulk_update(
        changed,
        [
            "state",
            "acknowledged_at",
            "answered_at",
            "ack_response",
            "answer_response",
            "updated_at",
        ],
    )


def _resolve_pending(correlation_id: str) -> None:
    """An event or price has just arrived (or gained devices): apply what was waiting for it."""
    pending = list(
        DeviceResponse.objects.select_related("device").filter(
            correlation_id=correlation_id, status=Status.PENDING
        )
    )
    _refresh_outcomes(_apply_responses(pending, correlation_id))
    cancels = DrMessage.objects.filter(
        correlation_id=correlation_id, outcome=Outcome.PENDING, noun=CONTROLS, verb__in=CANCEL
    )
    event = (
        DrEvent.objects.select_related("cancel_message")
        .filter(correlation_id=correlation_id)
        .first()
    )
    if event is None:
        return
    for message in cancels:
        _apply_cancel(event, message)
        message.outcome = Outcome.APPLIED
        message.save(update_fields=["outcome"])


def _refresh_outcomes(message_ids: Iterable[int]) -> None:
    """The outcome of response messages, from what became of their responses."""
    ids = set(message_ids)
    if not ids:
        return
    messages = DrMessage.objects.filter(pk__in=ids).annotate(
        applied=Count("responses", filter=Q(responses__status=Status.APPLIED)),
        waiting=Count("responses", filter=Q(responses__status=Status.PENDING)),
    )
    for message in messages:
        outcome = _outcome(message.applied, message.waiting, len(message.problems))
        if outcome != message.outcome:
            message.outcome = outcome
            message.save(update_fields=["outcome"])


@dataclass(frozen=True)
class Handler:
    verbs: tuple[str, ...]
    apply: Callable[[DrMessage, Header, Any, str], Tally]


HANDLERS = {
    CONTROLS: Handler(CREATE + CANCEL, _controls),
    RESPONSES: Handler(CREATE, _responses),
    PRICE: Handler(CREATE, _price),
}
