"""The life of an IngestRun: each run holds a session-level advisory lock of its own from
before its row is visible until it ends. A run found `running` whose lock is free belongs to
a process that died (killed, machine restarted): the next run marks it interrupted. Its rows
never stayed (one transaction per file), so nothing else is to be undone."""

from __future__ import annotations

from pathlib import Path

from django.db import connection, transaction
from django.utils import timezone

from metering.models import IngestRun

# The first key of the two-key advisory locks of ingest runs; the second is the run's id.
LOCK_CLASS = 61968

INTERRUPTED_ERROR = (
    "interrumpida: el proceso terminó sin cerrar la carga (nada de ella quedó guardado); "
    "detectado al iniciar la carga {run}"
)


def mark_interrupted(by: int | None = None) -> list[int]:
    """Mark interrupted every run left `running` by a process that is gone; their ids."""
    marked = []
    stale = (
        IngestRun.objects.filter(status=IngestRun.Status.RUNNING)
        .exclude(pk=by)
        .values_list("pk", flat=True)
    )
    with connection.cursor() as cur:
        for pk in list(stale):
            cur.execute("SELECT pg_try_advisory_lock(%s, %s)", [LOCK_CLASS, pk])
            if not cur.fetchone()[0]:
                continue  # its process still holds it: a run going on
            try:
                updated = IngestRun.objects.filter(pk=pk, status=IngestRun.Status.RUNNING).update(
                    status=IngestRun.Status.INTERRUPTED,
                    finished_at=timezone.now(),
                    error=INTERRUPTED_ERROR.format(run=by or "siguiente"),
                )
            finally:
                cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, pk])
            if updated:
                marked.append(pk)
    return marked


def start_run(path: Path, sha256: str, correction: str = "") -> tuple[IngestRun, list[int]]:
    """A new run, locked by this session before anyone can see it, and the stale runs marked
    interrupted on the way."""
    with transaction.atomic():
        run = IngestRun.objects.create(
            file_name=path.name, sha256=sha256, file_format="?", correction=correction[:255]
        )
        with connection.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_CLASS, run.pk])
    return run, mark_interrupted(by=run.pk)


def end_run(run: IngestRun) -> None:
    """Release the run's lock (its row says how it ended)."""
    with connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_unlock(%s, %s)", [LOCK_CLASS, run.pk])
