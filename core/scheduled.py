"""The scheduled tasks' record and their state: every Celery task run is written to
core.TaskRun from Celery's signals (start, success, failure), in eager mode too; the
schedules are django-celery-beat's PeriodicTask rows, which planners see and change in the
admin. A task is *late* when its schedule was due more than TASKS_LATE_GRACE_MINUTES ago and
it has not run since (only with a broker: without one, no beat runs schedules); *failed* when
its last run failed. Either raises the planners' alarm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from celery import Task, signals
from django.conf import settings
from django.db import DatabaseError
from django.utils import timezone

log = logging.getLogger(__name__)


def _task_name(sender=None, task=None) -> str:
    found = task or sender
    return getattr(found, "name", None) or str(found)


def _started(sender=None, task_id=None, task=None, **kwargs) -> None:
    from core.models import TaskRun

    try:
        TaskRun.objects.create(
            task=_task_name(sender, task), celery_id=task_id or "", started_at=timezone.now()
        )
    except DatabaseError:  # the record must never stop the task itself
        log.exception("TaskRun no registrado")


def _ended(sender=None, task_id=None, task=None, state=None, retval=None, **kwargs) -> None:
    from core.models import TaskRun

    status = TaskRun.Status.SUCCESS if state == "SUCCESS" else TaskRun.Status.FAILED
    fields = {"finished_at": timezone.now(), "status": status}
    if status == TaskRun.Status.SUCCESS:
        fields["result"] = "" if retval is None else str(retval)[:300]
    elif isinstance(retval, BaseException):
        fields["error"] = f"{type(retval).__name__}: {retval}"[:2000]
    try:
        TaskRun.objects.filter(celery_id=task_id or "", task=_task_name(sender, task)).update(
            **fields
        )
    except DatabaseError:
        log.exception("TaskRun no actualizado")


def _failed(task_name: str, task_id: str | None, exception: BaseException) -> None:
    from core.models import TaskRun

    try:
        TaskRun.objects.filter(celery_id=task_id or "", task=task_name).update(
            status=TaskRun.Status.FAILED, error=f"{type(exception).__name__}: {exception}"[:2000]
        )
    except DatabaseError:
        log.exception("TaskRun no actualizado")


class RecordedTask(Task):
    """The portal's task class: its error goes to the run's record. (A worker sends
    task_failure; an eager run that propagates its error sends none, so it is caught here.)"""

    def __call__(self, *args, **kwargs):
        try:
            return super().__call__(*args, **kwargs)
        except Exception as error:
            _failed(self.name, self.request.id, error)
            raise


def connect() -> None:
    signals.task_prerun.connect(_started, weak=False, dispatch_uid="core.taskrun.start")
    signals.task_postrun.connect(_ended, weak=False, dispatch_uid="core.taskrun.end")


@dataclass
class TaskState:
    name: str  # the schedule's name (PeriodicTask.name)
    task: str
    schedule: str
    enabled: bool
    last: object | None  # the last TaskRun
    due: datetime | None  # when it was last due (or first due, if it never ran)
    late: bool
    failed: bool

    @property
    def status(self) -> str:
        if not self.enabled:
            return "desactivada"
        if self.failed:
            return "fallida"
        if self.late:
            return "atrasada"
        if self.last is None:
            return "sin ejecuciones"
        return self.last.get_status_display()


def _describe(periodic) -> str:
    if periodic.crontab_id:
        c = periodic.crontab
        return f"cron {c.minute} {c.hour} {c.day_of_month} {c.month_of_year} {c.day_of_week}"
    if periodic.interval_id:
        i = periodic.interval
        return f"cada {i.every} {i.get_period_display().lower()}"
    return str(periodic.clocked or periodic.solar or "")


def beat_runs() -> bool:
    """Whether a broker is configured, so that a Celery beat runs the schedules."""
    return bool(settings.CELERY_BROKER_URL)


def task_states(now: datetime | None = None) -> list[TaskState]:
    from django_celery_beat.models import PeriodicTask

    from core.models import TaskRun

    now = now or timezone.now()
    grace = timedelta(minutes=settings.TASKS_LATE_GRACE_MINUTES)
    states = []
    periodic_tasks = PeriodicTask.objects.exclude(task="celery.backend_cleanup").select_related(
        "crontab", "interval", "clocked", "solar"
    )
    periodic_tasks = list(periodic_tasks.order_by("name"))
    # The last run of each scheduled task, in one query (DISTINCT ON over the index).
    latest = {
        run.task: run
        for run in TaskRun.objects.filter(task__in={p.task for p in periodic_tasks})
        .order_by("task", "-started_at")
        .distinct("task")
    }
    for periodic in periodic_tasks:
        last = latest.get(periodic.task)
        since = last.started_at if last else periodic.date_changed
        due = None
        try:
            # Celery's estimate is relative to now: the time left (negative when overdue)
            # until the first run due after `since`.
            due = now + periodic.schedule.remaining_estimate(since)
        except (AttributeError, TypeError, ValueError):  # a clocked or solar schedule
            due = None
        running = last is not None and last.status == TaskRun.Status.RUNNING
        # Without a broker nothing runs the schedules (tasks run eagerly where they are
        # called): a schedule is late only where a beat is meant to run it.
        late = bool(beat_runs() and periodic.enabled and due and due + grace < now and not running)
        failed = bool(periodic.enabled and last and last.status == TaskRun.Status.FAILED)
        states.append(
            TaskState(
                periodic.name,
                periodic.task,
                _describe(periodic),
                periodic.enabled,
                last,
                due,
                late,
                failed,
            )  # fmt: skip
        )
    return states


def alarm(now: datetime | None = None) -> str | None:
    """The alarm's text when a scheduled task failed or is late; None otherwise."""
    states = task_states(now)
    failed = [s.name for s in states if s.failed]
    late = [s.name for s in states if s.late]
    parts = []
    if failed:
        parts.append("fallaron " + ", ".join(failed))
    if late:
        parts.append("atrasadas " + ", ".join(late))
    return "Tareas programadas: " + "; ".join(parts) + "." if parts else None
