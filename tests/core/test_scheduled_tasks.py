"""Scheduled tasks: every run recorded (status, duration, result or error), the metering
schedules as admin-editable beat rows, and the alarm when a task failed or is late."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import shared_task
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from core.models import TaskRun
from core.scheduled import alarm, task_states
from metering import tasks
from metering.models import ValidationDay

pytestmark = pytest.mark.django_db


@shared_task(name="tests.failing_task")
def failing_task() -> None:
    raise RuntimeError("el head-end no respondió")


def test_the_metering_schedules_are_beat_rows_planners_can_edit():
    daily = PeriodicTask.objects.get(name=tasks.DAILY)
    monthly = PeriodicTask.objects.get(name=tasks.MONTHLY)
    assert daily.task == "metering.tasks.daily_metering" and daily.enabled
    assert (daily.crontab.hour, daily.crontab.minute, daily.crontab.day_of_month) == (
        "4",
        "15",
        "*",
    )
    assert monthly.crontab.day_of_month == "1"
    reports = PeriodicTask.objects.get(name=tasks.REPORTS)
    assert (reports.task, reports.crontab.day_of_month) == ("metering.tasks.monthly_reports", "2")
    from accounts.services import planner_permissions

    codenames = set(planner_permissions().values_list("codename", flat=True))
    assert {"change_periodictask", "change_crontabschedule"} <= codenames


def test_a_run_is_recorded_with_its_status_duration_and_result():
    answer = tasks.daily_metering.delay("2026-03-10").get()
    run = TaskRun.objects.get(task="metering.tasks.daily_metering")
    assert run.status == TaskRun.Status.SUCCESS
    assert run.finished_at >= run.started_at and run.duration is not None
    assert run.result == answer[:300] and answer.startswith("2026-03-10: ")


def test_a_failed_run_is_recorded_and_raises_the_alarm():
    PeriodicTask.objects.create(
        name="Prueba que falla",
        task="tests.failing_task",
        crontab=CrontabSchedule.objects.create(minute="0", hour="*"),
    )
    with pytest.raises(RuntimeError):
        failing_task.delay()
    run = TaskRun.objects.get(task="tests.failing_task")
    assert run.status == TaskRun.Status.FAILED
    assert "el head-end no respondió" in run.error
    assert "fallaron Prueba que falla" in alarm()


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
def test_a_task_that_did_not_run_when_due_is_late():
    PeriodicTask.objects.filter(name=tasks.DAILY).update(
        date_changed=timezone.now() - timedelta(days=3)
    )
    states = {s.name: s for s in task_states()}
    assert states[tasks.DAILY].late and states[tasks.DAILY].status == "atrasada"
    assert tasks.DAILY in alarm()
    TaskRun.objects.create(
        task="metering.tasks.daily_metering", celery_id="x", started_at=timezone.now(),
        finished_at=timezone.now(), status="success",
    )  # fmt: skip
    states = {s.name: s for s in task_states()}
    assert not states[tasks.DAILY].late
    PeriodicTask.objects.filter(name=tasks.DAILY).update(enabled=False)
    PeriodicTask.objects.filter(name=tasks.MONTHLY).update(date_changed=timezone.now())
    assert alarm() is None


def test_the_daily_task_validates_computes_and_compares_the_day_before(tmp_path):
    from metering.services import ingest
    from tests.factories import make_meter, make_transformer
    from tests.metering.test_backup_meters import DAY, slot, write_csv

    transformer = make_transformer()
    main = make_meter("totalizer", serial="P", transformer=transformer)
    make_meter("totalizer", serial="R", transformer=transformer, backup_for=main)
    rows = [(s, slot(DAY, k), 1 + k / 500) for k in range(1, 97) for s in ("P", "R")]
    ingest.ingest_file(write_csv(tmp_path / "d.csv", rows))
    answer = tasks.daily_metering(str(DAY))
    assert ValidationDay.objects.filter(day=DAY).count() == 2
    assert main.channels.get().backup_comparisons.get(day=DAY).difference == pytest.approx(0)
    assert "comparados con su respaldo" in answer


def test_without_a_broker_a_schedule_nobody_runs_is_not_called_late():
    PeriodicTask.objects.filter(name=tasks.DAILY).update(
        date_changed=timezone.now() - timedelta(days=3)
    )
    assert not {s.name: s for s in task_states()}[tasks.DAILY].late
    assert alarm() is None


@override_settings(CELERY_BROKER_URL="redis://127.0.0.1:6379/0")
def test_the_tasks_page_shows_the_schedules_and_the_planners_see_the_alarm(client):
    from accounts.models import User

    PeriodicTask.objects.filter(name=tasks.DAILY).update(
        date_changed=timezone.now() - timedelta(days=3)
    )
    planner = User.objects.create_user("plan", password="x-y-z-123456", profile="planner")
    client.force_login(planner)
    page = client.get("/medicion/tareas/").content.decode()
    assert tasks.DAILY in page and tasks.MONTHLY in page and "Atrasada" in page
    assert "Alarma:" in page
    sec = User.objects.create_user("sec", password="x-y-z-123456", profile="sec")
    client.force_login(sec)
    page = client.get("/medicion/tareas/").content.decode()
    assert tasks.DAILY in page and "Alarma:" not in page


def test_the_outages_rebuild_is_scheduled_daily_for_this_month_and_the_last():
    from outages import tasks as outage_tasks

    daily = PeriodicTask.objects.get(name=outage_tasks.DAILY)
    assert (daily.task, daily.crontab.hour, daily.crontab.minute) == (
        "outages.tasks.rebuild_recent", "5", "0",
    )  # fmt: skip
    answer = outage_tasks.rebuild_recent.delay().get()
    this = timezone.localdate().replace(day=1)
    before = (this - timedelta(days=1)).replace(day=1)
    assert answer.startswith(f"{before:%Y-%m}: ") and f"; {this:%Y-%m}: " in answer
    assert TaskRun.objects.get(task="outages.tasks.rebuild_recent").status == "success"


def test_the_state_of_every_schedule_takes_two_queries(django_assert_num_queries):
    for n in range(3):
        TaskRun.objects.create(
            task="metering.tasks.daily_metering", celery_id=str(n), started_at=timezone.now()
        )
    with django_assert_num_queries(2):
        states = task_states()
    assert len(states) >= 4
