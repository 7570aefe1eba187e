"""The Celery tasks of the admin's imports (core.ImportJob): check, then apply.

Each task takes the job, marks it running (committed at once, so the admin's page sees it),
runs its kind's step and stores the outcome. An error nobody foresaw fails the job with its
message; the kind's own transaction has left the database as it was.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.utils import timezone

from core import jobs
from core.models import ImportJob

log = logging.getLogger(__name__)


def _run(job_id: int, step: str) -> str:
    job = ImportJob.objects.get(pk=job_id)
    kind = jobs.KINDS.get(job.kind)
    checking = step == "revision"
    job.status = ImportJob.Status.CHECKING if checking else ImportJob.Status.APPLYING
    job.started_at = timezone.now()
    job.save(update_fields=["status", "started_at"])
    progress = jobs.ProgressFile(job)
    progress(0.0, "Empezando")
    try:
        if kind is None:
            raise LookupError(f"tipo de importación desconocido: {job.kind}")
        outcome = kind.check(job, progress) if checking else kind.apply(job, progress)
    except Exception as exc:  # reported on the job, never lost in a worker's log only
        log.exception("import job %s (%s) failed", job.pk, step)
        outcome = jobs.Outcome(False, f"Error inesperado: {type(exc).__name__}: {exc}")
        job.status = ImportJob.Status.FAILED
    else:
        if checking:
            job.status = ImportJob.Status.CHECKED if outcome.ok else ImportJob.Status.REFUSED
        elif not outcome.written:
            job.status = ImportJob.Status.FAILED
        else:
            job.status = (
                ImportJob.Status.APPLIED if outcome.ok else ImportJob.Status.APPLIED_WITH_ERRORS
            )
    job.summary = outcome.summary
    job.counts = outcome.counts
    job.report = str(jobs.write_report(job, outcome, step))
    now = timezone.now()
    if checking:
        job.checked_at = now
    elif job.status != ImportJob.Status.FAILED:
        job.applied_at = now
    job.save()
    progress.clear()
    return job.status


@shared_task(ignore_result=True)
def check_import(job_id: int) -> str:
    return _run(job_id, "revision")


@shared_task(ignore_result=True)
def apply_import(job_id: int) -> str:
    return _run(job_id, "aplicacion")
