"""The payloads of the DR messages, read into plain items (no database).

One reader serves both channels: a JSON message is turned into the same element tree a CIM
XML message is (`json_element`), so both are read, and rejected, by the same rules. The
accepted shapes are in docs/dr_messages.md. Every problem names the element it is about as a
path ("EventMessage/Payload/EndDeviceEvents/EndDeviceEvent[2]/createdDateTime").
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.etree.ElementTree import Element

from core.middleware import UNSTORABLE_CHARACTER, unstorable
from metering.cim import (
    DEPTH_REASON,
    MAX_DEPTH,
    MessageError,
    child,
    children,
    local,
    parse_timestamp,
    text,
)

# EndDeviceControlType and EndDeviceEventType references, compared without case or
# punctuation ("optIn", "opt-in", "OPT_IN"). These names are the agreement with the aggregator;
# numeric IEC 61968-9 Annex E codes a head-end uses go into these tables as they are agreed.
CONTROL_TYPES = {
    "criticalpeakprice": "cpp",
    "criticalpeakpricing": "cpp",
    "cpp": "cpp",
    "loadcontrol": "dlc",
    "directloadcontrol": "dlc",
    "loadshed": "dlc",
    "dlc": "dlc",
}
RESPONSE_TYPES = {
    "acknowledged": "ack",
    "acknowledge": "ack",
    "ack": "ack",
    "received": "ack",
    "optin": "opt_in",
    "optedin": "opt_in",
    "accepted": "opt_in",
    "optout": "opt_out",
    "optedout": "opt_out",
    "declined": "opt_out",
}
PRICE_UNITS = {"clp/kwh", "$/kwh"}  # compared lower-cased, without spaces
MAX_TEXT = 100  # identifiers (mRID, codes)


@dataclass(frozen=True)
class Problem:
    """Something not taken: where it was (an element path) and why, in Spanish."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "reason": self.reason}


@dataclass(frozen=True)
class DeviceRef:
    mrid: str
    where: str


@dataclass(frozen=True)
class ControlItem:
    """An EndDeviceControl: a DR event and the devices it goes to."""

    where: str
    mrid: str
    program: str
    signal: str
    starts_at: datetime
    ends_at: datetime
    level: int | None
    mandatory: bool
    price: Decimal | None
    reason: str
    devices: tuple[DeviceRef, ...]


@dataclass(frozen=True)
class PriceItem:
    """A PriceSignal: a program's price for a period."""

    where: str
    mrid: str
    program: str
    starts_at: datetime
    ends_at: datetime
    price: Decimal
    reason: str


@dataclass(frozen=True)
class ResponseItem:
    """An EndDeviceEvent: an acknowledgement or an opt-in / opt-out from one device."""

    where: str
    mrid: str
    device: str
    device_where: str
    kind: str
    at: datetime


def _key(value: str) -> str:
    return re.sub(r"[^a-z0-9]", "", value.lower())


def _required(element: Any, name: str, where: str) -> str:
    value = text(element, name)
    if not value:
        raise MessageError(f"falta {name}", where)
    if len(value) > MAX_TEXT:
        raise MessageError(f"{name} demasiado largo (máximo {MAX_TEXT})", f"{where}/{name}")
    return value


def _mrid_of(element: Any, name: str, where: str) -> str:
    """The mRID of the child `name` (`<name><mRID>…</mRID></name>`)."""
    found = child(element, name)
    if found is None:
        raise MessageError(f"falta {name}", where)
    return _required(found, "mRID", f"{where}/{name}")


def _ref(element: Any, name: str, where: str) -> str:
    # CIM XML writes a reference as an attribute (<EndDeviceEventType ref="…"/>); the JSON
    # form has no attributes, so a "ref" child or the element's own text do as well.
    found = child(element, name)
    if found is None:
        raise MessageError(f"falta {name}", where)
    value = (found.get("ref") or text(found, "ref") or (found.text or "")).strip()
    if not value:
        raise MessageError(f"{name} sin ref", f"{where}/{name}")
    return value


def _interval(element: Any, name: str, where: str) -> tuple[datetime, datetime]:
    found = child(element, name)
    if found is None:
        raise MessageError(f"falta {name}", where)
    here = f"{where}/{name}"
    start = parse_timestamp(_required(found, "start", here), f"{here}/start")
    end = parse_timestamp(_required(found, "end", here), f"{here}/end")
    if end <= start:
        raise MessageError("el término no es posterior al inicio", here)
    return start, end


def _decimal(value: str, where: str) -> Decimal:
    try:
        number = Decimal(value.strip())
    except InvalidOperation:
        raise MessageError(f"número inválido: {value[:30]!r}", where) from None
    if not number.is_finite() or number < 0:
        raise MessageError(f"precio inválido: {value[:30]!r}", where)
    return number


def _price(element: Any, name: str, where: str, required: bool) -> Decimal | None:
    found = child(element, name)
    if found is None:
        if required:
            raise MessageError(f"falta {name}", where)
        return None
    here = f"{where}/{name}"
    unit = text(found, "unit")
    if unit and re.sub(r"\s", "", unit.lower()) not in PRICE_UNITS:
        raise MessageError(f"unidad de precio no admitida: {unit[:20]!r} (use CLP/kWh)", here)
    return _decimal(_required(found, "value", here), f"{here}/value")


def read_control(element: Any, where: str) -> ControlItem:
    kind = _ref(element, "EndDeviceControlType", where)
    signal = CONTROL_TYPES.get(_key(kind))
    if signal is None:
        raise MessageError(
            f"tipo de control desconocido: {kind[:40]!r}", f"{where}/EndDeviceControlType"
        )
    starts_at, ends_at = _interval(element, "scheduledInterval", where)
    level_text = text(element, "drProgramLevel")
    level = None
    if level_text:
        if not level_text.isdigit() or int(level_text) > 32767:
            raise MessageError(f"nivel inválido: {level_text[:20]!r}", f"{where}/drProgramLevel")
        level = int(level_text)
    mandatory_text = text(element, "drProgramMandatory").lower()
    if mandatory_text not in ("", "true", "false", "1", "0"):
        raise MessageError(
            "drProgramMandatory debe ser true o false", f"{where}/drProgramMandatory"
        )
    devices = []
    for n, device in enumerate(children(element, "EndDevices"), 1):
        here = f"{where}/EndDevices[{n}]"
        mrid = text(device, "mRID")
        devices.append(DeviceRef(mrid, f"{here}/mRID"))
    if not devices:
        raise MessageError("el evento no indica ningún EndDevices", where)
    return ControlItem(
        where=where,
        mrid=text(element, "mRID")[:MAX_TEXT],
        program=_mrid_of(element, "DemandResponseProgram", where),
        signal=signal,
        starts_at=starts_at,
        ends_at=ends_at,
        level=level,
        mandatory=mandatory_text in ("true", "1"),
        price=_price(element, "priceSignal", where, required=False),
        reason=text(element, "reason")[:200],
        devices=tuple(devices),
    )


def read_price(element: Any, where: str) -> PriceItem:
    starts_at, ends_at = _interval(element, "validityInterval", where)
    return PriceItem(
        where=where,
        mrid=text(element, "mRID")[:MAX_TEXT],
        program=_mrid_of(element, "DemandResponseProgram", where),
        starts_at=starts_at,
        ends_at=ends_at,
        price=_price(element, "price", where, required=True),
        reason=text(element, "reason")[:200],
    )


def read_response(element: Any, where: str, sent_at: datetime | None) -> ResponseItem:
    kind = _ref(element, "EndDeviceEventType", where)
    response = RESPONSE_TYPES.get(_key(kind))
    if response is None:
        raise MessageError(
            f"tipo de evento desconocido: {kind[:40]!r}", f"{where}/EndDeviceEventType"
        )
    # Older 61968-9 payloads name the device under Assets, newer ones under EndDevice.
    holder = "EndDevice" if child(element, "EndDevice") is not None else "Assets"
    if child(element, holder) is None:
        raise MessageError("falta EndDevice", where)
    device = _mrid_of(element, holder, where)
    created = text(element, "createdDateTime")
    if created:
        at = parse_timestamp(created, f"{where}/createdDateTime")
    elif sent_at is not None:
        at = sent_at  # the device's own time is missing: the header's is the next best
    else:
        raise MessageError("falta createdDateTime (y el encabezado no trae Timestamp)", where)
    return ResponseItem(
        where=where,
        mrid=text(element, "mRID")[:MAX_TEXT],
        device=device,
        device_where=f"{where}/{holder}/mRID",
        kind=response,
        at=at,
    )


def items(container: Any, name: str, where: str) -> Iterator[tuple[Any, str]]:
    """(element, path) of each child `name`, numbered from 1 as XPath does."""
    for n, element in enumerate(children(container, name), 1):
        yield element, f"{where}/{name}[{n}]"


def container(payload: Any, name: str, where: str) -> Any:
    found = child(payload, name)
    if found is None:
        inside = [local(sub.tag) for sub in payload][:3]
        found_names = f" (trae {', '.join(inside)})" if inside else " (está vacío)"
        raise MessageError(f"falta {name}{found_names}", where)
    return found


def check_json(value: Any) -> None:
    """Refuse a decoded JSON message that nests deeper than MAX_DEPTH (objects and arrays) or
    holds a text PostgreSQL cannot store (NUL, a lone surrogate from a "\\ud800" escape).
    Without recursion: the value may be as deep as the JSON parser let it be."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise MessageError(f"JSON con {DEPTH_REASON}")
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                item = item.values()
            stack.extend((sub, depth + 1) for sub in item)
        elif isinstance(item, str) and unstorable(item):
            raise MessageError(f"texto con {UNSTORABLE_CHARACTER}")


def json_element(name: str, value: Any, depth: int = 1) -> Element:
    """A JSON value as the element CIM XML would carry: keys are child elements, lists are
    repeated elements, scalars are text."""
    if depth > MAX_DEPTH:  # check_json has refused it already, for a whole message
        raise MessageError(f"JSON con {DEPTH_REASON}", name)
    element = Element(name)
    if isinstance(value, dict):
        for key, item in value.items():
            key = str(key)
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.-]*", key):
                raise MessageError(f"nombre de campo inválido: {key[:30]!r}", name)
            for one in item if isinstance(item, list) else [item]:
                element.append(json_element(key, one, depth + 1))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        if isinstance(value, list):
            raise MessageError("una lista dentro de otra no tiene equivalente en CIM", name)
        element.text = str(value)
    return element
