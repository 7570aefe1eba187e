from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from capacity.services.queue import (
    COLUMNS,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_REJECTED,
    QueueImportError,
    import_queue,
)

EXAMPLES = 20  # problems printed at verbosity 1; the CSV report has them all


class Command(BaseCommand):
    help = (
        "Importa la cola de solicitudes de conexión (PMGD) desde el CSV del registro de la "
        f"distribuidora (columnas {', '.join(COLUMNS)}; formato en docs/capacity.md). Crea o "
        "actualiza por id público, así que se puede volver a correr. Cada línea con error se "
        f"informa y el resto se guarda. Estado de salida: {EXIT_OK} si se aceptó todo; "
        f"{EXIT_REJECTED} si se rechazaron líneas (el resto quedó guardado); {EXIT_FAILED} si el "
        "archivo se rechazó completo."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, metavar="CSV")
        parser.add_argument(
            "--distributor",
            required=True,
            metavar="CODIGO",
            help="Código de la empresa distribuidora del registro.",
        )
        parser.add_argument(
            "--report",
            type=Path,
            metavar="CSV",
            help="Escribe todas las líneas rechazadas en este CSV (archivo, línea, campo, "
            "valor, motivo).",
        )

    def handle(self, *args, **options):
        report = options["report"]
        if report and not report.parent.is_dir():
            raise CommandError(f"{report.parent}: no existe; no hay dónde escribir el informe.")
        try:
            result = import_queue(options["file"], options["distributor"])
        except QueueImportError as exc:
            raise CommandError(
                f"{exc}. No se modificó la base de datos.", returncode=EXIT_FAILED
            ) from exc
        verbosity = options["verbosity"]
        limit = 0 if verbosity < 1 else EXAMPLES if verbosity < 2 else None
        shown = result.problems if limit is None else result.problems[:limit]
        for problem in shown:
            self.stdout.write(self.style.ERROR(str(problem)))
        if len(shown) < len(result.problems):
            where = f"en {report}" if report else "con --report o -v 2"
            self.stdout.write(f"… y {len(result.problems) - len(shown)} más ({where})")
        if report:
            result.write_report(report)
        self.stdout.write(result.summary())
        if result.exit_code != EXIT_OK:
            raise CommandError(
                f"Importación incompleta: {result.rejected} líneas rechazadas"
                + (f" (detalle en {report})" if report else "")
                + ".",
                returncode=result.exit_code,
            )
