from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from metering.lib import EXIT_FAILED, EXIT_OK, EXIT_REJECTED
from metering.services.billing import (
    ERROR,
    FILES,
    BillingImportError,
    import_billing,
)

EXAMPLES = 20  # row findings printed at verbosity 1; the CSV report has them all


class Command(BaseCommand):
    help = (
        "Importa la exportación de facturación del CIS de una distribuidora (consumos, "
        "documentos con sus PDF, remanentes y contratos EG; formato en docs/import_billing.md). "
        "Crea o actualiza por clave natural y no toca lo que no cambió, así que se puede volver "
        "a correr. Cada línea con error se informa y el resto del archivo se guarda. Estado de "
        f"salida: {EXIT_OK} si se aceptó todo; {EXIT_REJECTED} si se rechazaron líneas (el resto "
        f"quedó guardado); {EXIT_FAILED} si un archivo se rechazó completo o la importación no "
        "pudo empezar."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "directory",
            type=Path,
            metavar="DIRECTORIO",
            help=(
                "Directorio de la exportación: "
                + ", ".join(spec.name for spec in FILES)
                + " (los que haya) y la carpeta pdf/ con los documentos."
            ),
        )
        parser.add_argument(
            "--distributor",
            required=True,
            metavar="CODIGO",
            help="Código de la empresa distribuidora dueña de los clientes de la exportación.",
        )
        parser.add_argument(
            "--report",
            type=Path,
            metavar="CSV",
            help="Escribe todos los hallazgos en este CSV (archivo, línea, campo, valor, "
            "gravedad, motivo).",
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            metavar="AAAA-MM-DD",
            help="Fecha de actualización de las filas creadas o cambiadas (por omisión, hoy).",
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        report = options["report"]
        if report and not report.parent.is_dir():
            raise CommandError(f"{report.parent}: no existe; no hay dónde escribir el informe.")
        try:
            result = import_billing(
                options["directory"],
                options["distributor"],
                as_of=options["as_of"],
                progress=verbosity >= 1 and sys.stderr.isatty(),
            )
        except BillingImportError as exc:
            raise CommandError(
                f"{exc}. No se modificó la base de datos.", returncode=EXIT_FAILED
            ) from exc

        # A whole file refused is always shown; line findings up to EXAMPLES (all with -v 2).
        limit = 0 if verbosity < 1 else EXAMPLES if verbosity < 2 else None
        lines = [p for p in result.problems if p.line is not None]
        shown = lines if limit is None else lines[:limit]
        for problem in [p for p in result.problems if p.line is None] + shown:
            style = self.style.ERROR if problem.severity == ERROR else self.style.WARNING
            self.stdout.write(style(str(problem)))
        if len(shown) < len(lines):
            where = f"en {report}" if report else "con --report o -v 2"
            self.stdout.write(f"… y {len(lines) - len(shown)} hallazgos más ({where})")
        if report:
            try:
                result.write_report(report)
            except OSError as exc:
                raise CommandError(
                    f"Importación terminada, pero el informe no se pudo escribir: {exc}"
                ) from exc
        self.stdout.write(result.summary())
        if result.exit_code != EXIT_OK:
            # What loaded is committed; the status tells scripts that it was not everything.
            raise CommandError(
                f"Importación incompleta: {result.errors} errores"
                + (f" (detalle en {report})" if report else "")
                + ".",
                returncode=result.exit_code,
            )
