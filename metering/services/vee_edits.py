"""The VEE on screen: one meter's day, interval by interval, and the planners' edits.

`day_channels(meter, day)` lists, per interval channel, the slots that need a look: a gap (no
reading), a suspect value (a VEE flag) and the estimate that stands in for it, if any. An
estimate can be accepted, or the slot given a manual value with a reason (`accept`,
`set_manual`): the value goes to EstimatedReading (accepted, so later VEE runs keep it), the
edit to VeeEdit with who, when and why; the raw readings are never touched. A slot holding a
valid reading is not edited: the reading stands.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from metering.models import Channel, EstimatedReading, Meter, Quality, VeeEdit
from metering.services.vee import VEE_BITS, period

FLAG_NAMES = [
    (Quality.SPIKE, "pico"),
    (Quality.NEGATIVE, "negativo"),
    (Quality.FLAT, "línea plana"),
    (Quality.CLOCK, "deriva de reloj"),
    (Quality.SOURCE, "marcado por el head-end"),
]


class EditError(ValueError):
    """An edit that cannot be made; the message says why."""


@dataclass
class Slot:
    ts: datetime
    raw: list[tuple[float, int]] = field(default_factory=list)  # (value, quality) as received
    estimate: float | None = None
    method: str = ""
    accepted_at: datetime | None = None

    @property
    def valid(self) -> bool:
        return any(quality & VEE_BITS == 0 for _, quality in self.raw)

    @property
    def missing(self) -> bool:
        return not self.raw

    @property
    def flags(self) -> list[str]:
        bits = 0
        for _, quality in self.raw:
            bits |= quality
        return [name for bit, name in FLAG_NAMES if bits & bit]

    @property
    def method_label(self) -> str:
        return EstimatedReading.Method(self.method).label if self.method else ""

    @property
    def editable(self) -> bool:
        return not self.valid


@dataclass
class ChannelDay:
    channel: Channel
    report: object | None  # the ValidationDay, when the VEE ran on this day
    slots: list[Slot]
    edits: list[VeeEdit]

    @property
    def pending(self) -> int:
        """Estimates not yet accepted."""
        return sum(1 for s in self.slots if s.estimate is not None and s.accepted_at is None)


SLOTS = """
    SELECT s.slot, r.value, r.quality, e.value, e.method, e.accepted_at
      FROM generate_series(%(start)s::timestamptz + make_interval(mins => %(minutes)s),
                           %(end)s::timestamptz, make_interval(mins => %(minutes)s)) AS s(slot)
      LEFT JOIN metering_intervalreading r
        ON r.channel_id = %(channel)s AND r.ts > s.slot - make_interval(mins => %(minutes)s)
       AND r.ts <= s.slot AND r.ts > %(start)s AND r.ts <= %(end)s
      LEFT JOIN metering_estimatedreading e ON e.channel_id = %(channel)s AND e.ts = s.slot
     ORDER BY s.slot, r.ts
"""


def day_channels(meter: Meter, day: date, *, only_problems: bool = True) -> list[ChannelDay]:
    """Each interval channel of `meter` on the local `day`, its slots that are missing, hold
    a suspect value or an estimate (every slot when not `only_problems`), and its edits."""
    start, end = period(day, day)
    channels = (
        Channel.objects.filter(meter=meter, reading_type__interval_minutes__gt=0)
        .select_related("reading_type")
        .order_by("reading_type__code")
    )
    result = []
    for channel in channels:
        slots: dict[datetime, Slot] = {}
        with connection.cursor() as cur:
            cur.execute(
                SLOTS,
                {
                    "start": start,
                    "end": end,
                    "minutes": meter.interval_minutes,
                    "channel": channel.pk,
                },
            )
            for ts, value, quality, estimate, method, accepted in cur.fetchall():
                slot = slots.setdefault(ts, Slot(ts))
                if value is not None:
                    slot.raw.append((value, quality))
                if estimate is not None:
                    slot.estimate, slot.method, slot.accepted_at = estimate, method, accepted
        shown = [
            s
            for s in slots.values()
            if not only_problems or s.missing or s.flags or s.estimate is not None
        ]
        edits = list(
            VeeEdit.objects.filter(channel=channel, ts__gt=start, ts__lte=end).select_related(
                "user"
            )
        )
        report = channel.validation_days.filter(day=day).first()
        result.append(ChannelDay(channel, report, shown, edits))
    return result


def _slot(channel: Channel, ts: datetime) -> datetime:
    step = channel.meter.interval_minutes * 60
    if int(ts.timestamp()) % step or ts.microsecond:
        raise EditError(f"{ts:%d/%m/%Y %H:%M} no es el fin de un intervalo de {step // 60} min")
    if ts > timezone.now() + timedelta(minutes=channel.meter.interval_minutes):
        raise EditError("no se editan intervalos futuros")
    return ts


def _has_valid_reading(channel: Channel, ts: datetime) -> bool:
    step = timedelta(minutes=channel.meter.interval_minutes)
    with connection.cursor() as cur:
        cur.execute(
            """SELECT EXISTS (SELECT FROM metering_intervalreading
                               WHERE channel_id = %s AND ts > %s AND ts <= %s
                                 AND quality & %s = 0)""",
            [channel.pk, ts - step, ts, int(VEE_BITS)],
        )
        return cur.fetchone()[0]


def _has_reading(channel: Channel, ts: datetime) -> bool:
    step = timedelta(minutes=channel.meter.interval_minutes)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT EXISTS (SELECT FROM metering_intervalreading "
            "WHERE channel_id = %s AND ts > %s AND ts <= %s)",
            [channel.pk, ts - step, ts],
        )
        return cur.fetchone()[0]


def _editable(channel: Channel, ts: datetime) -> None:
    if channel.meter.virtual:
        raise EditError("un medidor virtual se calcula de sus medidores: edite esos")
    if not (channel.reading_type.is_interval and channel.reading_type.is_energy):
        # The VEE estimates energy profiles only; it drops other estimates on its next run.
        raise EditError("solo se editan perfiles de energía")
    if _has_valid_reading(channel, ts):
        raise EditError(
            f"el intervalo {timezone.localtime(ts):%d/%m/%Y %H:%M} tiene una lectura válida: "
            "no se reemplaza"
        )


@transaction.atomic
def accept(channel: Channel, ts: datetime, user) -> VeeEdit:
    """Accept the estimate of a slot: later VEE runs keep it."""
    ts = _slot(channel, ts)
    _editable(channel, ts)
    estimate = EstimatedReading.objects.select_for_update().filter(channel=channel, ts=ts).first()
    if estimate is None:
        raise EditError("el intervalo no tiene una estimación que aceptar")
    if estimate.accepted_at is not None:
        raise EditError("la estimación ya estaba aceptada")
    estimate.accepted_at = timezone.now()
    estimate.save(update_fields=["accepted_at"])
    return VeeEdit.objects.create(
        channel=channel,
        ts=ts,
        action=VeeEdit.Action.ACCEPT,
        previous_value=estimate.value,
        previous_method=estimate.method,
        value=estimate.value,
        user=user,
    )


@transaction.atomic
def set_manual(channel: Channel, ts: datetime, value: float, reason: str, user) -> VeeEdit:
    """Give a slot a manual value, with the reason: it replaces the estimate (kept in the
    edit as the previous value) and is kept by later VEE runs."""
    reason = (reason or "").strip()
    if not reason:
        raise EditError("indique el motivo del valor manual")
    if len(reason) > 255:
        raise EditError("el motivo admite hasta 255 caracteres")
    if value is None or not math.isfinite(value):
        raise EditError("el valor debe ser un número")
    if channel.reading_type.is_energy and value < 0:
        raise EditError("una energía no puede ser negativa")
    ts = _slot(channel, ts)
    _editable(channel, ts)
    estimate = EstimatedReading.objects.select_for_update().filter(channel=channel, ts=ts).first()
    previous_value = estimate.value if estimate else None
    previous_method = estimate.method if estimate else ""
    now = timezone.now()
    EstimatedReading.objects.update_or_create(
        channel=channel,
        ts=ts,
        defaults={
            "value": value,
            "method": EstimatedReading.Method.MANUAL,
            "replaces_invalid": _has_reading(channel, ts),
            "accepted_at": now,
        },
    )
    return VeeEdit.objects.create(
        channel=channel,
        ts=ts,
        action=VeeEdit.Action.MANUAL,
        previous_value=previous_value,
        previous_method=previous_method,
        value=value,
        reason=reason,
        user=user,
    )


@transaction.atomic
def accept_day(channel: Channel, day: date, user) -> list[VeeEdit]:
    """Accept every estimate of the channel's local day not yet accepted (each edit kept)."""
    start, end = period(day, day)
    pending = EstimatedReading.objects.filter(
        channel=channel, ts__gt=start, ts__lte=end, accepted_at__isnull=True
    ).order_by("ts")
    if not pending.exists():
        raise EditError("no hay estimaciones por revisar en el día")
    return [accept(channel, estimate.ts, user) for estimate in pending]
