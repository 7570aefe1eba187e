"""The regulator's Celery tasks, run eagerly (no broker in the tests), and their beat schedule:
the daily cut at REGULATOR_CUT_HOUR, local time, and the pushes every 15 minutes."""

from __future__ import annotations

import logging
from datetime import timedelta

import psycopg
import pytest
from celery.schedules import crontab
from django.conf import settings
from django.db import connection

from regulator import cut, delivery, tasks
from regulator.models import Batch
from tests import factories as f

CUT = "Corte diario de lotes para la SEC"
PUSH = "Envío de lotes pendientes a la SEC"


@pytest.fixture
def pushes(monkeypatch):
    """push_pending replaced by a recorder: the numbers it would acknowledge, and its calls."""
    calls = []

    def push_pending():
        calls.append(Batch.objects.filter(acknowledged_at__isnull=True).count())
        return [4, 5]

    monkeypatch.setattr(delivery, "push_pending", push_pending)
    return calls


@pytest.fixture
def batch_dir(settings, tmp_path):
    settings.REGULATOR_BATCH_DIR = tmp_path / "lotes"
    return settings.REGULATOR_BATCH_DIR


@pytest.mark.django_db(transaction=True)
def test_the_daily_cut_waits_for_the_initial_load_then_cuts_and_pushes(
    batch_dir, reference_data, pushes, caplog
):
    with caplog.at_level(logging.WARNING, logger="regulator.tasks"):
        assert tasks.cut_daily_batch.delay().get() is None
    assert "falta la carga inicial (lote 0)" in caplog.text
    assert not Batch.objects.exists() and pushes == []

    cut.cut(initial=True)
    f.make_vnr()
    assert tasks.cut_daily_batch.delay().get() == 1
    assert Batch.objects.get(number=1).changes == 1
    assert pushes == [2]  # pushed right after the cut: batches 0 and 1 unacknowledged


@pytest.mark.django_db(transaction=True)
def test_the_daily_cut_skips_while_another_cut_runs_and_survives_a_push_not_queued(
    batch_dir, reference_data, pushes, monkeypatch, caplog
):
    cut.cut(initial=True)
    db = connection.settings_dict
    other = psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        password=db["PASSWORD"],
        host=db["HOST"],
        port=db["PORT"],
    )
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", [cut.LOCK_KEY])
        with caplog.at_level(logging.WARNING, logger="regulator.tasks"):
            assert tasks.cut_daily_batch.delay().get() is None
        assert "Otro corte está en curso" in caplog.text
    finally:
        other.close()  # and its lock with it
    assert list(Batch.objects.values_list("number", flat=True)) == [0] and pushes == []

    def broker_down():
        raise ConnectionRefusedError("sin broker")

    monkeypatch.setattr(tasks.push_batches, "delay", broker_down)
    caplog.clear()
    with caplog.at_level(logging.ERROR, logger="regulator.tasks"):
        assert tasks.cut_daily_batch.delay().get() == 1
    assert "Lote 1 cortado, pero no se pudo encolar su envío." in caplog.text


@pytest.mark.django_db
def test_other_cut_errors_are_not_hidden(batch_dir, monkeypatch):
    Batch.objects.create(
        number=0, kind=Batch.Kind.INITIAL, snapshot="1:1:", manifest_sha256="0" * 64
    )

    def refused():
        raise cut.CutError("Un corte es su propia transacción; no puede ir dentro de otra.")

    monkeypatch.setattr(tasks, "cut", refused)
    with pytest.raises(cut.CutError, match="su propia transacción"):
        tasks.cut_daily_batch.delay()


@pytest.mark.django_db
def test_push_batches_returns_what_push_pending_acknowledged(pushes):
    assert tasks.push_batches.delay().get() == [4, 5]


def test_push_batches_does_nothing_without_a_push_url(settings):
    settings.REGULATOR_PUSH_URL = ""
    assert tasks.push_batches.delay().get() == []


def test_the_beat_schedule_names_both_tasks():
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"
    assert settings.CELERY_TIMEZONE == settings.TIME_ZONE
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule[CUT]["task"] == tasks.cut_daily_batch.name == "regulator.tasks.cut_daily_batch"
    assert schedule[CUT]["schedule"] == crontab(hour=settings.REGULATOR_CUT_HOUR, minute=0)
    assert schedule[PUSH]["task"] == tasks.push_batches.name == "regulator.tasks.push_batches"
    assert schedule[PUSH]["schedule"] == timedelta(minutes=15)


@pytest.mark.django_db(transaction=True)  # beat closes a connection inside a transaction
def test_beat_writes_the_schedule_to_the_database(reference_data):
    from django_celery_beat.models import PeriodicTask
    from django_celery_beat.schedulers import DatabaseScheduler

    from portal.celery import app

    DatabaseScheduler(app=app)  # what beat does when it starts
    daily = PeriodicTask.objects.get(name=CUT)
    assert daily.task == "regulator.tasks.cut_daily_batch" and daily.enabled
    assert (daily.crontab.minute, daily.crontab.hour) == ("0", str(settings.REGULATOR_CUT_HOUR))
    assert (daily.crontab.day_of_week, daily.crontab.day_of_month) == ("*", "*")
    assert str(daily.crontab.timezone) == settings.TIME_ZONE == "America/Santiago"
    push = PeriodicTask.objects.get(name=PUSH)
    assert push.task == "regulator.tasks.push_batches" and push.enabled
    assert push.interval.schedule.run_every == timedelta(minutes=15)
