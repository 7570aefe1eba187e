"""Celery tasks of the capacity app: the recompute after a topology change, the nightly
catch-up and the weekly full run (schedules in settings.CELERY_BEAT_SCHEDULE)."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import shared_task
from django.db import transaction

from capacity.models import FeederCapacity, Run
from capacity.services.compute import compute
from network.models import Feeder

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def recompute_feeders(feeder_ids: list[int], trigger: str = "cambio de topología") -> int | None:
    """Recompute the substations of these feeders (their subfeeders and siblings with them)."""
    try:
        return compute(feeder_ids, scope=Run.Scope.FEEDERS, trigger=trigger).pk
    except Exception:
        # The run is recorded as failed, which the planners' alarm shows.
        log.exception("capacity recompute of feeders %s failed", feeder_ids)
        return None


@shared_task(ignore_result=True)
def catch_up() -> int | None:
    """Every feeder that is stale or has never been computed."""
    ids = list(Feeder.objects.exclude(capacity__stale=False).values_list("pk", flat=True))
    if not ids:
        return None
    try:
        return compute(ids, scope=Run.Scope.CATCH_UP, trigger="programado (nocturno)").pk
    except Exception:
        log.exception("capacity catch-up failed")
        return None


@shared_task(ignore_result=True)
def recompute_all() -> int | None:
    try:
        return compute(None, scope=Run.Scope.ALL, trigger="programado (semanal)").pk
    except Exception:
        log.exception("capacity full recompute failed")
        return None


def mark_stale(feeder_ids: Iterable[int]) -> None:
    """These feeders' results (and their substations') no longer match the topology."""
    ids = sorted({int(pk) for pk in feeder_ids if pk is not None})
    if not ids:
        return
    subs = Feeder.objects.filter(pk__in=ids).values("substation_id")
    FeederCapacity.objects.filter(feeder__substation_id__in=subs).update(stale=True)


def recompute_later(feeder_ids: Iterable[int], trigger: str = "cambio de topología") -> None:
    """Recompute these feeders once the current transaction commits."""
    ids = sorted({int(pk) for pk in feeder_ids if pk is not None})
    if ids:
        transaction.on_commit(lambda: _send(ids, trigger), robust=True)


def _send(ids: list[int], trigger: str) -> None:
    recompute_feeders.delay(ids, trigger)
