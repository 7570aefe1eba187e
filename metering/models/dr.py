"""Demand response (use case 8): CPP and DLC programs, the customers enrolled in them and their
HAN devices, price notifications, DR events sent to devices and what each device answered.

Everything that comes from the DR application or the head-end arrives as a message
(`DrMessage`, kept whole). A message is recognised by its MessageID, so a resent one changes
nothing; messages about one event share its CorrelationID. Each acknowledgement or opt-in /
opt-out a device sends is a `DeviceResponse`; the state of a device in an event
(`DrEventTarget`) is computed from the responses applied to it, never stepped on arrival, so it
ends the same whatever order the messages came in (rules in `DrEventTarget.settle`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from core.models import Dated

__all__ = [
    "DeviceResponse",
    "DrEvent",
    "DrEventTarget",
    "DrMessage",
    "DrProgram",
    "HanDevice",
    "PriceNotification",
    "ProgramEnrollment",
]

PRICE = {"max_digits": 10, "decimal_places": 3}


class DrProgramQuerySet(models.QuerySet):
    def of_customer(self, customer, on: dt.date | None = None) -> DrProgramQuerySet:
        """Programs the customer is enrolled in on `on` (every program they ever joined when
        None)."""
        enrollments = ProgramEnrollment.objects.filter(customer=customer, program=OuterRef("pk"))
        if on is not None:
            enrollments = enrollments.active_on(on)
        return self.filter(Exists(enrollments))


class DrProgram(Dated):
    """A CPP or DLC program of the approved tariffs, as the DR application names it."""

    class Kind(models.TextChoices):
        CPP = "cpp", "Tarificación de punta crítica (CPP)"
        DLC = "dlc", "Control directo de carga (DLC)"

    code = models.CharField(
        "código", max_length=40, unique=True, help_text="mRID del programa en la aplicación DR."
    )
    name = models.CharField("nombre", max_length=150)
    kind = models.CharField("tipo", max_length=3, choices=Kind.choices)
    tariff = models.TextField(
        "tarifa", blank=True, help_text="Decreto o pliego tarifario que fija sus precios."
    )
    base_price_clp_kwh = models.DecimalField(
        "precio normal (CLP/kWh)", **PRICE, null=True, blank=True
    )
    critical_price_clp_kwh = models.DecimalField(
        "precio de punta crítica (CLP/kWh)", **PRICE, null=True, blank=True
    )
    incentive_clp_kwh = models.DecimalField(
        "incentivo por energía no consumida (CLP/kWh)",
        **PRICE,
        null=True,
        blank=True,
        help_text="DLC: lo que se abona por kWh reducido en un evento aceptado.",
    )

    objects = DrProgramQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = "programa de respuesta a la demanda"
        verbose_name_plural = "programas de respuesta a la demanda"
        constraints = [
            models.CheckConstraint(
                condition=(Q(base_price_clp_kwh__isnull=True) | Q(base_price_clp_kwh__gte=0))
                & (Q(critical_price_clp_kwh__isnull=True) | Q(critical_price_clp_kwh__gte=0))
                & (Q(incentive_clp_kwh__isnull=True) | Q(incentive_clp_kwh__gte=0)),
                name="drprogram_prices_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ProgramEnrollmentQuerySet(models.QuerySet):
    def active_on(self, day: dt.date) -> ProgramEnrollmentQuerySet:
        return self.filter(Q(valid_to__isnull=True) | Q(valid_to__gte=day), valid_from__lte=day)


class ProgramEnrollment(Dated):
    """A customer's subscription to a program, from one date to another (inclusive)."""

    customer = models.ForeignKey(
        "network.Customer",
        verbose_name="cliente",
        on_delete=models.PROTECT,
        related_name="dr_enrollments",
    )
    program = models.ForeignKey(
        DrProgram, verbose_name="programa", on_delete=models.PROTECT, related_name="enrollments"
    )
    valid_from = models.DateField("desde")
    valid_to = models.DateField("hasta", null=True, blank=True, help_text="Vacío: vigente.")

    objects = ProgramEnrollmentQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "program", "valid_from"]
        verbose_name = "inscripción en programa DR"
        verbose_name_plural = "inscripciones en programas DR"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "program", "valid_from"], name="programenrollment_unique"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="programenrollment_dates_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} en {self.program.code}"

    def clean(self) -> None:
        # Overlaps would need btree_gist for an exclusion constraint; the admin checks instead.
        if not (self.customer_id and self.program_id and self.valid_from):
            return
        overlapping = ProgramEnrollment.objects.filter(
            customer_id=self.customer_id, program_id=self.program_id
        ).exclude(pk=self.pk)
        overlapping = overlapping.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=self.valid_from)
        )
        if self.valid_to is not None:
            overlapping = overlapping.filter(valid_from__lte=self.valid_to)
        if overlapping.exists():
            raise ValidationError("El cliente ya está inscrito en el programa en esas fechas.")


class HanDevice(Dated):
    """A device of the customer's home area network that DR messages reach through the ESI."""

    class Kind(models.TextChoices):
        PCT = "pct", "Termostato programable (PCT)"
        LOAD_SWITCH = "interruptor", "Interruptor de control de carga"
        IHD = "ihd", "Visualizador interno (IHD)"
        METER_ESI = "medidor", "Medidor inteligente (ESI)"
        OTHER = "otro", "Otro"

    mrid = models.CharField(
        "identificador (mRID)", max_length=64, unique=True, help_text="EndDevice/mRID."
    )
    customer = models.ForeignKey(
        "network.Customer",
        verbose_name="cliente",
        on_delete=models.PROTECT,
        related_name="han_devices",
    )
    kind = models.CharField("tipo", max_length=12, choices=Kind.choices)
    active = models.BooleanField(
        "en servicio", default=True, help_text="Uno retirado ya no recibe eventos nuevos."
    )

    class Meta:
        ordering = ["mrid"]
        verbose_name = "dispositivo HAN"
        verbose_name_plural = "dispositivos HAN"

    def __str__(self) -> str:
        return self.mrid


class DrMessage(models.Model):
    """One message received from the DR application or the head-end, as it came.

    Wholly rejected messages are kept too (with why); one sent again under the same MessageID
    is read afresh, since nothing of it was applied. Any other resent MessageID is a duplicate.
    """

    class Channel(models.TextChoices):
        XML = "xml", "XML (CIM)"
        JSON = "json", "JSON (API)"

    class Outcome(models.TextChoices):
        APPLIED = "applied", "aplicado"
        PARTIAL = "partial", "aplicado en parte"
        PENDING = "pending", "pendiente"
        REJECTED = "rejected", "rechazado"

    message_id = models.CharField("MessageID", max_length=100, unique=True)
    correlation_id = models.CharField("CorrelationID", max_length=100, db_index=True)
    verb = models.CharField("verbo", max_length=20)
    noun = models.CharField("sustantivo", max_length=60)
    source = models.CharField("origen", max_length=100, blank=True)
    sent_at = models.DateTimeField("enviado", null=True, blank=True)
    received_at = models.DateTimeField("recibido", default=timezone.now, db_index=True)
    channel = models.CharField("canal", max_length=4, choices=Channel.choices)
    origin = models.CharField(
        "procedencia", max_length=255, blank=True, help_text="Archivo o usuario de la API."
    )
    payload = models.TextField("contenido")
    digest = models.CharField("SHA-256 del contenido", max_length=64)
    outcome = models.CharField("resultado", max_length=8, choices=Outcome.choices)
    problems = models.JSONField(
        "problemas", default=list, blank=True, help_text="Lista de {where, reason}."
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        verbose_name = "mensaje DR"
        verbose_name_plural = "mensajes DR"
        permissions = [
            ("ingest_dr_messages", "Puede enviar mensajes de respuesta a la demanda (API)"),
        ]
        indexes = [
            models.Index(
                fields=["correlation_id"],
                condition=Q(outcome="pending"),
                name="drmessage_pending",
            ),
        ]

    def __str__(self) -> str:
        return self.message_id


class PriceNotificationQuerySet(models.QuerySet):
    def for_customer(self, customer) -> PriceNotificationQuerySet:
        """Prices of the customer's programs that were in force while they were enrolled."""
        enrolled = ProgramEnrollment.objects.filter(
            Q(valid_to__isnull=True) | Q(valid_to__gte=OuterRef("starts_at__date")),
            customer=customer,
            program=OuterRef("program"),
            valid_from__lte=OuterRef("ends_at__date"),
        )
        return self.filter(Exists(enrolled))


class PriceNotification(models.Model):
    """A price of a program for a period, sent to the devices of the customers enrolled in it
    (use case 8, S1). Devices acknowledge it; nobody opts in or out of a price."""

    program = models.ForeignKey(
        DrProgram, verbose_name="programa", on_delete=models.PROTECT, related_name="prices"
    )
    correlation_id = models.CharField("CorrelationID", max_length=100, unique=True)
    mrid = models.CharField("mRID", max_length=100, blank=True)
    starts_at = models.DateTimeField("vigente desde")
    ends_at = models.DateTimeField("vigente hasta")
    price_clp_kwh = models.DecimalField("precio (CLP/kWh)", **PRICE)
    reason = models.CharField("motivo", max_length=200, blank=True)
    message = models.ForeignKey(
        DrMessage, verbose_name="mensaje", on_delete=models.PROTECT, related_name="+"
    )

    objects = PriceNotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = "notificación de precio"
        verbose_name_plural = "notificaciones de precio"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="pricenotification_period"
            ),
            models.CheckConstraint(
                condition=Q(price_clp_kwh__gte=0), name="pricenotification_price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program.code} {self.price_clp_kwh} CLP/kWh ({self.correlation_id})"


class DrEvent(models.Model):
    """A DR event (EndDeviceControl): a critical-peak price or a load-control order for a
    period, sent to a set of HAN devices. Its CorrelationID joins every answer to it."""

    class Signal(models.TextChoices):
        CRITICAL_PEAK = "cpp", "Precio de punta crítica"
        LOAD_CONTROL = "dlc", "Control de carga"

    program = models.ForeignKey(
        DrProgram, verbose_name="programa", on_delete=models.PROTECT, related_name="events"
    )
    correlation_id = models.CharField("CorrelationID", max_length=100, unique=True)
    mrid = models.CharField("mRID", max_length=100, blank=True)
    signal = models.CharField("señal", max_length=3, choices=Signal.choices)
    starts_at = models.DateTimeField("inicio", db_index=True)
    ends_at = models.DateTimeField("término")
    level = models.PositiveSmallIntegerField(
        "nivel", null=True, blank=True, help_text="drProgramLevel: intensidad del control."
    )
    mandatory = models.BooleanField("obligatorio", default=False)
    price_clp_kwh = models.DecimalField("precio de punta (CLP/kWh)", **PRICE, null=True, blank=True)
    reason = models.CharField("motivo", max_length=200, blank=True)
    issued_at = models.DateTimeField("emitido", null=True, blank=True)
    message = models.ForeignKey(
        DrMessage, verbose_name="mensaje", on_delete=models.PROTECT, related_name="+"
    )
    canceled_at = models.DateTimeField("cancelado", null=True, blank=True)
    cancel_message = models.ForeignKey(
        DrMessage,
        verbose_name="mensaje de cancelación",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-starts_at", "-id"]
        verbose_name = "evento DR"
        verbose_name_plural = "eventos DR"
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="drevent_period"),
            models.CheckConstraint(
                condition=Q(price_clp_kwh__isnull=True) | Q(price_clp_kwh__gte=0),
                name="drevent_price_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(canceled_at__isnull=True, cancel_message__isnull=True)
                | Q(canceled_at__isnull=False, cancel_message__isnull=False),
                name="drevent_cancel_has_message",
            ),
        ]

    def __str__(self) -> str:
        return self.correlation_id


class DrEventTargetQuerySet(models.QuerySet):
    def of_customer(self, customer) -> DrEventTargetQuerySet:
        return self.filter(customer=customer)


class DrEventTarget(models.Model):
    """One device an event was sent to, and where that device stands: sent → acknowledged →
    opted in / opted out. `customer` is the device's owner when the event was sent, the one
    the CIS bills."""

    class State(models.TextChoices):
        SENT = "sent", "enviado"
        ACKNOWLEDGED = "acknowledged", "recibido"
        OPTED_IN = "opted_in", "participa"
        OPTED_OUT = "opted_out", "se excluye"

    event = models.ForeignKey(
        DrEvent, verbose_name="evento", on_delete=models.PROTECT, related_name="targets"
    )
    device = models.ForeignKey(
        HanDevice, verbose_name="dispositivo", on_delete=models.PROTECT, related_name="targets"
    )
    customer = models.ForeignKey(
        "network.Customer",
        verbose_name="cliente",
        on_delete=models.PROTECT,
        related_name="dr_targets",
    )
    state = models.CharField("estado", max_length=12, choices=State.choices, default=State.SENT)
    acknowledged_at = models.DateTimeField("acuse de recibo", null=True, blank=True)
    answered_at = models.DateTimeField("respuesta", null=True, blank=True)
    ack_response = models.ForeignKey(
        "DeviceResponse",
        verbose_name="acuse",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    answer_response = models.ForeignKey(
        "DeviceResponse",
        verbose_name="respuesta que rige",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    updated_at = models.DateTimeField("actualizado", auto_now=True)

    objects = DrEventTargetQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        verbose_name = "estado de dispositivo en evento DR"
        verbose_name_plural = "estados de dispositivos en eventos DR"
        constraints = [
            models.UniqueConstraint(fields=["event", "device"], name="dreventtarget_unique"),
            models.CheckConstraint(
                condition=Q(state__in=["opted_in", "opted_out"], answered_at__isnull=False)
                | (~Q(state__in=["opted_in", "opted_out"]) & Q(answered_at__isnull=True)),
                name="dreventtarget_answer_has_time",
            ),
            models.CheckConstraint(
                condition=~Q(state="acknowledged") | Q(acknowledged_at__isnull=False),
                name="dreventtarget_ack_has_time",
            ),
        ]
        indexes = [models.Index(fields=["customer", "event"], name="dreventtarget_customer")]

    def __str__(self) -> str:
        return f"{self.event} / {self.device}: {self.get_state_display()}"

    def settle(self, responses: Iterable[DeviceResponse]) -> bool:
        """Set the state from every response applied to this target; True when it changed.

        The latest answer by the device's own clock wins (a customer may change their mind); on
        a tie, opting out wins, since the customer's refusal is the safe reading. An ack never
        undoes an answer; the first ack is the time of receipt. All of it is a function of the
        set of responses, not of their arrival order.
        """
        acks = [r for r in responses if r.kind == DeviceResponse.Kind.ACK]
        answers = [r for r in responses if r.kind != DeviceResponse.Kind.ACK]
        first_ack = min(acks, key=lambda r: (r.at, r.message_key, r.where), default=None)
        answer = max(answers, key=answer_rank, default=None)
        if answer is not None:
            state = (
                self.State.OPTED_OUT
                if answer.kind == DeviceResponse.Kind.OPT_OUT
                else self.State.OPTED_IN
            )
        else:
            state = self.State.ACKNOWLEDGED if first_ack else self.State.SENT
        new = {
            "state": state,
            "acknowledged_at": first_ack.at if first_ack else None,
            "ack_response_id": first_ack.pk if first_ack else None,
            "answered_at": answer.at if answer else None,
            "answer_response_id": answer.pk if answer else None,
        }
        changed = any(getattr(self, name) != value for name, value in new.items())
        for name, value in new.items():
            setattr(self, name, value)
        return changed


def answer_rank(response: DeviceResponse) -> tuple:
    """Order of answers: later wins, then opt-out over opt-in, then the MessageID (so that even
    two answers at the same instant settle the same way in every order)."""
    return (
        response.at,
        response.kind == DeviceResponse.Kind.OPT_OUT,
        response.message_key,
        response.where,
    )


class DeviceResponse(models.Model):
    """An EndDeviceEvent: a device acknowledged an event or a price, or its customer opted in
    or out of an event. Pending while its CorrelationID names nothing known yet (the event
    may arrive later); applied or rejected once it does."""

    class Kind(models.TextChoices):
        ACK = "ack", "acuse de recibo"
        OPT_IN = "opt_in", "acepta participar"
        OPT_OUT = "opt_out", "se excluye"

    class Status(models.TextChoices):
        PENDING = "pending", "pendiente"
        APPLIED = "applied", "aplicada"
        REJECTED = "rejected", "rechazada"

    message = models.ForeignKey(
        DrMessage, verbose_name="mensaje", on_delete=models.CASCADE, related_name="responses"
    )
    message_key = models.CharField("MessageID", max_length=100)
    where = models.CharField("elemento", max_length=200)
    correlation_id = models.CharField("CorrelationID", max_length=100)
    device = models.ForeignKey(
        HanDevice, verbose_name="dispositivo", on_delete=models.PROTECT, related_name="responses"
    )
    kind = models.CharField("tipo", max_length=7, choices=Kind.choices)
    at = models.DateTimeField("fecha y hora en el dispositivo")
    mrid = models.CharField("mRID", max_length=100, blank=True)
    status = models.CharField("estado", max_length=8, choices=Status.choices)
    reason = models.CharField("motivo del rechazo", max_length=300, blank=True)
    target = models.ForeignKey(
        DrEventTarget,
        verbose_name="evento y dispositivo",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="responses",
    )
    notification = models.ForeignKey(
        PriceNotification,
        verbose_name="notificación de precio",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="acks",
    )

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "respuesta de dispositivo HAN"
        verbose_name_plural = "respuestas de dispositivos HAN"
        constraints = [
            models.UniqueConstraint(fields=["message", "where"], name="deviceresponse_unique"),
            models.CheckConstraint(
                condition=(
                    Q(status="applied")
                    & (
                        Q(target__isnull=False, notification__isnull=True)
                        | Q(target__isnull=True, notification__isnull=False, kind="ack")
                    )
                )
                | (~Q(status="applied") & Q(target__isnull=True, notification__isnull=True)),
                name="deviceresponse_applied_to_one_thing",
            ),
        ]
        indexes = [
            models.Index(
                fields=["correlation_id"],
                condition=Q(status="pending"),
                name="deviceresponse_pending",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.device} {self.get_kind_display()} {self.correlation_id}"
