"""Celery tasks of the maps app (eager, in the caller's process, when no broker is configured)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import shared_task
from django.db import transaction

from maps.kmz import write_kmz
from network.models import Feeder

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def regenerate_kmz(feeder_ids: list[int]) -> list[str]:
    """Rewrite the KMZ plans of these feeders; return the codes written.

    Feeders deleted since the task was queued are skipped; one feeder that fails is logged and
    does not keep the others from being written.
    """
    written = []
    for feeder in Feeder.objects.filter(pk__in=feeder_ids).order_by("pk"):
        try:
            write_kmz(feeder)
        except Exception:
            log.exception("KMZ plan of feeder %s (%s) not written", feeder.code, feeder.pk)
        else:
            written.append(feeder.code)
    return written


def regenerate_later(feeder_ids: Iterable[int]) -> None:
    """Rewrite these feeders' plans once the current transaction commits (a Celery task)."""
    ids = sorted({int(pk) for pk in feeder_ids if pk is not None})
    if not ids:
        return
    # robust: a plan that cannot be written must not fail the edit that was just committed.
    transaction.on_commit(lambda: regenerate_kmz.delay(ids), robust=True)
