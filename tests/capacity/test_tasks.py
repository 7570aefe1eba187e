"""The capacity's Celery tasks and schedules: the nightly catch-up takes what is stale or was
never computed, the weekly run takes everything, and both are in beat's schedule."""

from __future__ import annotations

import pytest
from celery.schedules import crontab
from django.conf import settings

from capacity import tasks
from capacity.models import FeederCapacity, Run
from tests import factories as f


def test_the_beat_schedule_names_the_catch_up_and_the_weekly_run():
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule[tasks.catch_up.name] == crontab(hour=settings.CAPACITY_CATCH_UP_HOUR, minute=30)
    assert schedule[tasks.recompute_all.name] == crontab(
        hour=settings.CAPACITY_CATCH_UP_HOUR, minute=0, day_of_week=settings.CAPACITY_FULL_WEEKDAY
    )


@pytest.mark.django_db
def test_the_catch_up_computes_the_stale_and_the_never_computed_feeders_only():
    fresh, stale, never = f.make_feeder(), f.make_feeder(), f.make_feeder()
    for feeder in (fresh, stale, never):
        f.make_pole(feeder=feeder)
    run = f.make_capacity_run()
    for feeder, is_stale in ((fresh, False), (stale, True)):
        f.make_feeder_capacity(feeder=feeder, run=run, stale=is_stale)

    pk = tasks.catch_up()

    latest = Run.objects.get(pk=pk)
    assert latest.scope == Run.Scope.CATCH_UP and latest.trigger == "programado (nocturno)"
    touched = set(FeederCapacity.objects.filter(run=latest).values_list("feeder", flat=True))
    assert {stale.pk, never.pk} <= touched and fresh.pk not in touched
    assert tasks.catch_up() is None  # nothing left to catch up


@pytest.mark.django_db
def test_the_weekly_run_recomputes_every_feeder():
    feeders = [f.make_feeder() for _ in range(2)]
    run = Run.objects.get(pk=tasks.recompute_all())
    assert run.scope == Run.Scope.ALL and run.status == Run.Status.DONE
    assert set(FeederCapacity.objects.filter(run=run).values_list("feeder", flat=True)) == {
        feeder.pk for feeder in feeders
    }
