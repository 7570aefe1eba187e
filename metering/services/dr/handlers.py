"""One handler per noun: what an EndDeviceControls, PriceSignal or EndDeviceEvents message
does to the events, prices and responses stored."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from metering.cim import Header, MessageError
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
from metering.services.dr.outcomes import (
    CANCEL,
    CONTROLS,
    CREATE,
    PRICE,
    RESPONSES,
    Status,
    Tally,
)
from metering.services.dr.pending import apply_cancel, apply_responses, resolve_pending
from metering.services.dr.reading import (
    ControlItem,
    DeviceRef,
    PriceItem,
    Problem,
    container,
    items,
    read_control,
    read_price,
    read_response,
)

WAITING = "esperando el evento o la notificación de precio de su CorrelationID"


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
    resolve_pending(cid)
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
    apply_cancel(event, message)
    return Tally(applied=1)


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
    resolve_pending(cid)
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
    apply_responses(rows, message.correlation_id)
    message.refresh_from_db(fields=["problems"])
    tally.problems = [Problem(p["where"], p["reason"]) for p in message.problems]
    return tally


@dataclass(frozen=True)
class Handler:
    verbs: tuple[str, ...]
    apply: Callable[[DrMessage, Header, Any, str], Tally]


HANDLERS = {
    CONTROLS: Handler(CREATE + CANCEL, _controls),
    RESPONSES: Handler(CREATE, _responses),
    PRICE: Handler(CREATE, _price),
}
