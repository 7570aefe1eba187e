"""What waits for a CorrelationID: responses that came before their event or price, and
cancellations before their event, applied once it arrives; and the settling of each
target from the responses applied to it."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Q
from django.utils import timezone

from metering.models import (
    DeviceResponse,
    DrEvent,
    DrEventTarget,
    DrMessage,
    PriceNotification,
    ProgramEnrollment,
)
from metering.services.dr.outcomes import (
    CANCEL,
    CONTROLS,
    Outcome,
    Status,
    refresh_outcomes,
)
from metering.services.dr.reading import Problem


def apply_cancel(event: DrEvent, message: DrMessage) -> None:
    # The earliest cancellation counts, so two of them settle the same in either order.
    at = message.sent_at or message.received_at
    current = event.cancel_message
    if current is None or (at, message.message_id) < (
        event.canceled_at,
        current.message_id,
    ):
        event.canceled_at, event.cancel_message = at, message
        event.save(update_fields=["canceled_at", "cancel_message"])


def apply_responses(responses: list[DeviceResponse], correlation_id: str) -> set[int]:
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


def resolve_pending(correlation_id: str) -> None:
    """An event or price has just arrived (or gained devices): apply what was waiting for it."""
    pending = list(
        DeviceResponse.objects.select_related("device").filter(
            correlation_id=correlation_id, status=Status.PENDING
        )
    )
    refresh_outcomes(apply_responses(pending, correlation_id))
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
        apply_cancel(event, message)
        message.outcome = Outcome.APPLIED
        message.save(update_fields=["outcome"])
