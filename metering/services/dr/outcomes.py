"""The nouns and verbs a DR message may carry, the tally a handler keeps of one message, and
the outcome stored on the message from it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db.models import Count, Q

from metering.models import DeviceResponse, DrMessage
from metering.services.dr.reading import Problem

CONTROLS = "EndDeviceControls"
RESPONSES = "EndDeviceEvents"
PRICE = "PriceSignal"
CREATE = ("create", "created")
CANCEL = ("cancel", "canceled")
Outcome = DrMessage.Outcome
Status = DeviceResponse.Status


@dataclass
class Tally:
    applied: int = 0
    pending: int = 0
    problems: list[Problem] = field(default_factory=list)

    def reject(self, where: str, reason: str) -> Tally:
        self.problems.append(Problem(where, reason))
        return self


def outcome_of(applied: int, pending: int, problems: int) -> str:
    if not applied and not pending:
        return Outcome.REJECTED
    if pending:
        return Outcome.PENDING
    return Outcome.PARTIAL if problems else Outcome.APPLIED


def refresh_outcomes(message_ids: Iterable[int]) -> None:
    """The outcome of response messages, from what became of their responses."""
    ids = set(message_ids)
    if not ids:
        return
    messages = DrMessage.objects.filter(pk__in=ids).annotate(
        applied=Count("responses", filter=Q(responses__status=Status.APPLIED)),
        waiting=Count("responses", filter=Q(responses__status=Status.PENDING)),
    )
    for message in messages:
        outcome = outcome_of(message.applied, message.waiting, len(message.problems))
        if outcome != message.outcome:
            message.outcome = outcome
            message.save(update_fields=["outcome"])
