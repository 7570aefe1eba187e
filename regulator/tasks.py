"""Celery tasks of the regulator data service (§6): the daily cut and the pushes to SEC.

Celery beat runs them (settings.CELERY_BEAT_SCHEDULE): the cut once a day at
REGULATOR_CUT_HOUR, local time, and the pushes every 15 minutes. Without a broker they run
eagerly, in the caller's process.
"""

from __future__ import annotations

import logging

from celery import shared_task

from regulator.cut import CutError, cut
from regulator.models import Batch

log = logging.getLogger(__name__)

# The CutError messages that mean "not now" rather than a fault (regulator/cut.py).
NO_INITIAL_LOAD = "Falta la carga inicial"
CUT_RUNNING = "Otro corte está en curso"


@shared_task(ignore_result=True)
def cut_daily_batch() -> int | None:
    """Cut the daily delta and queue a push of it; returns the batch's number.

    Returns None, without raising, when there is nothing to cut yet (no initial load, batch 0)
    or another cut holds the lock: the next run of the schedule tries again. A day with no
    change still gives a batch (an empty delta)."""
    if not Batch.objects.exists():
        log.warning(
            "Corte diario omitido: falta la carga inicial (lote 0); "
            "ejecute manage.py cut_regulator_batch --inicial."
        )
        return None
    try:
        batch = cut()
    except CutError as error:
        message = str(error)
        if not message.startswith((NO_INITIAL_LOAD, CUT_RUNNING)):
            raise
        log.warning("Corte diario omitido: %s", message)
        return None
    try:
        push_batches.delay()
    except Exception:  # the batch is cut; the next scheduled push sends it
        log.exception("Lote %s cortado, pero no se pudo encolar su envío.", batch.number)
    return batch.number


@shared_task(ignore_result=True)
def push_batches() -> list[int]:
    """Push the unacknowledged batches that are due (regulator.delivery.push_pending): nothing
    when REGULATOR_PUSH_URL is empty (SEC pulls), and a batch whose last push failed only once
    its next_push_at has come. Returns the numbers SEC acknowledged."""
    from regulator.delivery import push_pending

    acknowledged = push_pending()
    if acknowledged:
        log.info("Lotes acusados por la SEC: %s", ", ".join(map(str, acknowledged)))
    return acknowledged
