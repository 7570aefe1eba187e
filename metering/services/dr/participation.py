"""Participation in DR events per customer: what the CIS bills, and what a customer sees.

A customer may have several devices in one event. Their answer is the customer's, sent from
whichever device: so the customer's state follows the same rule as a device's, over all of
their devices (the latest answer wins, opting out on a tie; otherwise acknowledged if any
device acknowledged). Each device's own state is listed next to it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from itertools import groupby
from typing import TextIO

from django.db.models import QuerySet
from django.utils import timezone

from core.api.renderers import BOM, csv_value
from metering.models import (
    DrEventTarget,
    DrProgram,
    PriceNotification,
    ProgramEnrollment,
)

State = DrEventTarget.State

# Only these columns are read: never the customer's name, RUT, e-mail or phone.
COLUMNS = (
    "event_id",
    "event__correlation_id",
    "event__signal",
    "event__starts_at",
    "event__ends_at",
    "event__canceled_at",
    "event__program__code",
    "event__program__kind",
    "customer_id",
    "customer__number",
    "customer__distributor__code",
    "device__mrid",
    "device__kind",
    "state",
    "acknowledged_at",
    "answered_at",
)


@dataclass(frozen=True)
class DeviceState:
    mrid: str
    kind: str
    state: str
    acknowledged_at: datetime | None
    answered_at: datetime | None

    @property
    def state_label(self) -> str:
        return State(self.state).label


@dataclass(frozen=True)
class Participation:
    """One customer in one event."""

    distributor: str
    customer_id: int
    customer_number: str
    program: str
    program_kind: str
    event_id: int
    correlation_id: str
    signal: str
    starts_at: datetime
    ends_at: datetime
    canceled_at: datetime | None
    devices: tuple[DeviceState, ...]
    state: str
    acknowledged_at: datetime | None
    answered_at: datetime | None

    @property
    def state_label(self) -> str:
        return State(self.state).label

    @property
    def program_kind_label(self) -> str:
        return DrProgram.Kind(self.program_kind).label


def _customer_state(devices: Iterable[DeviceState]) -> tuple[str, datetime | None, datetime | None]:
    devices = list(devices)
    answered = [d for d in devices if d.answered_at is not None]
    acks = [d.acknowledged_at for d in devices if d.acknowledged_at is not None]
    first_ack = min(acks, default=None)
    if answered:
        last = max(answered, key=lambda d: (d.answered_at, d.state == State.OPTED_OUT, d.mrid))
        return last.state, first_ack, last.answered_at
    return (State.ACKNOWLEDGED if first_ack else State.SENT), first_ack, None


def participations(targets: QuerySet[DrEventTarget]) -> Iterator[Participation]:
    """Per (event, customer), in event start order; reads the targets in chunks."""
    rows = (
        targets.order_by(
            "event__starts_at", "event_id", "customer__number", "customer_id", "device__mrid"
        )
        .values(*COLUMNS)
        .iterator(chunk_size=2000)
    )
    for (_, _), group in groupby(rows, key=lambda r: (r["event_id"], r["customer_id"])):
        group = list(group)
        first = group[0]
        devices = tuple(
            DeviceState(
                r["device__mrid"],
                r["device__kind"],
                r["state"],
                r["acknowledged_at"],
                r["answered_at"],
            )
            for r in group
        )
        state, acknowledged_at, answered_at = _customer_state(devices)
        yield Participation(
            distributor=first["customer__distributor__code"],
            customer_id=first["customer_id"],
            customer_number=first["customer__number"],
            program=first["event__program__code"],
            program_kind=first["event__program__kind"],
            event_id=first["event_id"],
            correlation_id=first["event__correlation_id"],
            signal=first["event__signal"],
            starts_at=first["event__starts_at"],
            ends_at=first["event__ends_at"],
            canceled_at=first["event__canceled_at"],
            devices=devices,
            state=state,
            acknowledged_at=acknowledged_at,
            answered_at=answered_at,
        )


def participation_targets(
    program: str | None = None, since: date | None = None, until: date | None = None
) -> QuerySet[DrEventTarget]:
    """Targets of the events of `program` (a code) starting between `since` and `until`
    (local dates, both included)."""
    targets = DrEventTarget.objects.all()
    if program:
        targets = targets.filter(event__program__code=program)
    if since:
        targets = targets.filter(event__starts_at__date__gte=since)
    if until:
        targets = targets.filter(event__starts_at__date__lte=until)
    return targets


CSV_HEADER = [
    "distribuidora",
    "numero_cliente",
    "programa",
    "tipo_programa",
    "evento_correlation_id",
    "inicio",
    "termino",
    "cancelado",
    "dispositivos",
    "estado",
    "estado_codigo",
    "acuse_recibo",
    "respuesta",
    "detalle_dispositivos",
]


def _moment(value: datetime | None) -> str:
    # ISO 8601 with the offset: the hour the clocks go back happens twice, and a bill must
    # know which.
    return timezone.localtime(value).isoformat(timespec="seconds") if value else ""


def write_participation_csv(out: TextIO, participations: Iterable[Participation]) -> int:
    """The CIS export: UTF-8 with BOM, ';' between columns, one row per customer and event.
    Returns the rows written."""
    out.write(BOM)
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    count = 0
    for p in participations:
        detail = "; ".join(
            f"{d.mrid}: {d.state_label}" + (f" {_moment(d.answered_at)}" if d.answered_at else "")
            for d in p.devices
        )
        writer.writerow(
            [
                csv_value(p.distributor),
                csv_value(p.customer_number),
                csv_value(p.program),
                p.program_kind.upper(),
                csv_value(p.correlation_id),
                _moment(p.starts_at),
                _moment(p.ends_at),
                _moment(p.canceled_at),
                csv_value(", ".join(d.mrid for d in p.devices)),
                p.state_label,
                p.state,
                _moment(p.acknowledged_at),
                _moment(p.answered_at),
                csv_value(detail),
            ]
        )
        count += 1
    return count


@dataclass(frozen=True)
class CustomerDemandResponse:
    """What a customer sees of DR: their programs, the prices of those programs while they were
    enrolled, and the events sent to their devices with how they answered."""

    enrollments: list[ProgramEnrollment]
    prices: list[PriceNotification]
    events: list[Participation]


def customer_demand_response(customer, *, since: date | None = None) -> CustomerDemandResponse:
    """Everything a customer's DR page shows (three queries). `since` leaves out prices and
    events that ended before that local date."""
    enrollments = list(
        ProgramEnrollment.objects.filter(customer=customer)
        .select_related("program")
        .order_by("program__code", "-valid_from")
    )
    prices = PriceNotification.objects.for_customer(customer).select_related("program")
    targets = DrEventTarget.objects.of_customer(customer)
    if since:
        prices = prices.filter(ends_at__date__gte=since)
        targets = targets.filter(event__ends_at__date__gte=since)
    events = sorted(participations(targets), key=lambda p: (p.starts_at, p.event_id), reverse=True)
    return CustomerDemandResponse(
        enrollments=enrollments, prices=list(prices.order_by("-starts_at", "-id")), events=events
    )
