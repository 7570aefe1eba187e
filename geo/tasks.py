"""Celery tasks of the geo app (eager, in the caller's process, when no broker is configured)."""

from __future__ import annotations

import logging

from celery import shared_task

from geo.kmz import write_kmz
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
