from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from network.services.importing import (
    ERROR,
    INFO,
    WARNING,
    NetworkImportError,
    import_network,
)
from network.services.importing.report import ENTITY_LABELS

EXAMPLES = 3  # findings of one kind shown on the console at verbosity 1; the CSV has them all


class Command(BaseCommand):
    help = (
        "Importa la exportación SIG de una distribuidora (GeoJSON, GeoPackage, Shapefile, KMZ) "
        "según un archivo de mapeo de columnas: crea o actualiza por id, informa lo que no pudo "
        "tomar y valida la red. Un error fatal no modifica la base; si omitió filas, termina con "
        "error después de guardar el resto."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "mapping",
            type=Path,
            metavar="MAPEO",
            help="Archivo de mapeo TOML (formato en docs/import_network.md).",
        )
        parser.add_argument(
            "--source",
            type=Path,
            metavar="DIRECTORIO",
            help="Directorio de los archivos del mapeo (por omisión, source_dir del mapeo o el "
            "directorio del mapeo).",
        )
        parser.add_argument(
            "--file",
            action="append",
            default=[],
            metavar="SECCION=ARCHIVO",
            help="Lee una sección de otro archivo, p. ej. poles=postes.gpkg (repetible).",
        )
        parser.add_argument(
            "--report",
            type=Path,
            metavar="CSV",
            help="Escribe todos los hallazgos en este CSV (archivo, entidad, feature, id, "
            "gravedad, control, motivo, resultado).",
        )
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            metavar="AAAA-MM-DD",
            help="Fecha de actualización de las filas creadas o cambiadas (por omisión, hoy).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Lee, valida e informa, pero no guarda nada.",
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        report = options["report"]
        if report and not report.parent.is_dir():
            raise CommandError(f"{report.parent}: no existe; no hay dónde escribir el informe.")
        files = {}
        for item in options["file"]:
            section, sep, path = item.partition("=")
            if not sep or section not in ENTITY_LABELS:
                raise CommandError(
                    f"--file {item}: use SECCION=ARCHIVO con SECCION en {', '.join(ENTITY_LABELS)}"
                )
            files[section] = Path(path)
        try:
            result = import_network(
                options["mapping"],
                source=options["source"],
                files=files,
                as_of=options["as_of"],
                dry_run=options["dry_run"],
                progress=verbosity >= 1 and sys.stderr.isatty(),
            )
        except NetworkImportError as exc:
            raise CommandError(f"{exc}. No se modificó la base de datos.") from exc

        for problem in result.problems:
            if problem.severity == ERROR:
                self.stdout.write(self.style.ERROR(str(problem)))
        for severity, style in ((WARNING, self.style.WARNING), (INFO, str)):
            if verbosity < 1 or (severity == INFO and verbosity < 2):
                continue
            for entity, check, count, members in result.grouped(severity):
                shown = members if verbosity >= 2 else members[:EXAMPLES]
                label = ENTITY_LABELS.get(entity, entity)
                self.stdout.write(style(f"{severity} {label} / {check}: {count}"))
                for problem in shown:
                    self.stdout.write(style(f"  {problem}"))
                if len(shown) < count:
                    self.stdout.write(style(f"  … y {count - len(shown)} más (ver el informe CSV)"))
        if report:
            try:
                result.write_report(report)
            except OSError as exc:
                raise CommandError(
                    f"Importación terminada, pero el informe no se pudo escribir: {exc}"
                ) from exc
        self.stdout.write(result.summary())
        if result.failed:
            # What loaded is committed; the status tells scripts that it was not everything.
            raise CommandError(
                f"Importación incompleta: {result.skipped} filas omitidas"
                + (f" (detalle en {report})" if report else "")
                + "."
            )
