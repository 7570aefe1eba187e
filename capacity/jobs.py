"""The connection queue's CSV as an import of the admin (core.ImportJob), like the command
import_connection_requests: the check is a dry run, rolled back."""

from __future__ import annotations

from pathlib import Path

from django import forms

from core import jobs


def queue_fields() -> dict[str, forms.Field]:
    from network.forms import distributor_field

    return {"distribuidora": distributor_field()}


def _queue(job, progress, checking: bool) -> jobs.Outcome:
    from capacity.services.queue import EXIT_OK, REPORT_HEADER, QueueImportError, import_queue

    distributor = (job.options or {}).get("distribuidora") or ""
    progress(0.1, "Importando la cola de conexión")
    path = Path(job.file.path)
    try:
        if checking:
            result = jobs.dry_run(lambda: import_queue(path, distributor))
        else:
            result = import_queue(path, distributor)
    except QueueImportError as exc:
        return jobs.Outcome(False, f"Rechazado, no se guardó nada: {exc}", written=False)
    return jobs.Outcome(
        ok=True if checking else result.exit_code == EXIT_OK,
        summary=result.summary() + (" (simulación: no se guardó nada)" if checking else ""),
        header=REPORT_HEADER,
        rows=[problem.row() for problem in result.problems],
    )


def check_queue(job, progress) -> jobs.Outcome:
    return _queue(job, progress, checking=True)


def apply_queue(job, progress) -> jobs.Outcome:
    return _queue(job, progress, checking=False)


QUEUE = jobs.JobKind(
    code="cola_conexion",
    label="Solicitudes de conexión (cola PMGD)",
    permission="capacity.add_connectionrequest",
    extensions=(".csv",),
    check=check_queue,
    apply=apply_queue,
    option_fields=queue_fields,
    help="el CSV del registro de solicitudes (id_publico, estado, fecha_solicitud, "
    "potencia_mw, poste, alimentador, tecnologia), como import_connection_requests",
)
