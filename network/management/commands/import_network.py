from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from network.services.importing import (
    ERROR,
    EXIT_REFUSED,
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
        "tomar y valida la red. Todo o nada: con un error fatal, una capa fuera del territorio, "
        "un movimiento grande o alguna fila rechazada no modifica la base (salvo --parcial). "
        "Estado de salida: 0 todas las filas aceptadas; 1 rechazada, no se guardó nada; "
        "3 con --parcial, se guardaron las filas válidas y se rechazaron otras."
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
            help="Lee, valida e informa, pero no guarda nada (el estado de salida es el que "
            "tendría la importación).",
        )
        parser.add_argument(
            "--parcial",
            action="store_true",
            help="Guarda las filas válidas aunque otras se rechacen (por omisión, todo o nada); "
            "termina con estado 2 si rechazó alguna.",
        )
        parser.add_argument(
            "--permitir-movimientos",
            action="store_true",
            help="Permite que una actualización mueva activos guardados más de "
            "IMPORT_MAX_MOVE_M metros (por omisión, 500 m); cada uno queda como aviso.",
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
                partial=options["parcial"],
                allow_moves=options["permitir_movimientos"],
            )
        except NetworkImportError as exc:
            raise CommandError(
                f"{exc}. No se modificó la base de datos.", returncode=EXIT_REFUSED
            ) from exc

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
                    f"Importación terminada, pero el informe no se pudo escribir: {exc}",
                    returncode=EXIT_REFUSED,
                ) from exc
        self.stdout.write(result.summary())
        if result.failed:
            detail = f" (detalle en {report})" if report else ""
            if result.partial:
                message = (
                    f"Importación parcial: {result.skipped} filas omitidas{detail}; "
                    f"{'se guardarían' if result.dry_run else 'se guardaron'} "
                    f"{result.accepted} filas válidas."
                )
            else:
                message = (
                    f"Importación rechazada: {result.skipped} filas omitidas{detail}; no se "
                    "guardó nada (todo o nada). Corrija el archivo o use --parcial."
                )
            raise CommandError(message, returncode=result.exit_code)
