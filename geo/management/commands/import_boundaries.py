from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from geo.services.boundaries import (
    ERROR,
    WARNING,
    BoundaryImportError,
    Fields,
    import_boundaries,
)


class Command(BaseCommand):
    help = (
        "Carga los límites de regiones y comunas desde GeoJSON, Shapefile o GeoPackage, "
        "por código CUT. Informa cada feature que no pudo tomar y termina con error si omitió "
        "alguna, después de guardar el resto."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--regiones",
            type=Path,
            metavar="ARCHIVO",
            help="Archivo con los límites de las regiones.",
        )
        parser.add_argument(
            "--comunas",
            type=Path,
            metavar="ARCHIVO",
            help="Archivo con los límites de las comunas.",
        )
        parser.add_argument(
            "--cut-table",
            type=Path,
            metavar="DIRECTORIO",
            help=(
                "Directorio con la tabla CUT (*regions.csv, *provinces.csv, *communes.csv). "
                "Si se indica, manda en códigos, nombres, provincias y regiones; los archivos "
                "solo aportan la geometría."
            ),
        )
        parser.add_argument(
            "--regiones-layer",
            metavar="CAPA",
            help="Capa del archivo de regiones (si tiene varias).",
        )
        parser.add_argument(
            "--comunas-layer", metavar="CAPA", help="Capa del archivo de comunas (si tiene varias)."
        )
        parser.add_argument(
            "--region-code-field",
            metavar="CAMPO",
            default="codregion",
            help="Campo con el código CUT de la región (por omisión: codregion).",
        )
        parser.add_argument(
            "--region-name-field",
            metavar="CAMPO",
            default="Region",
            help="Campo con el nombre de la región (por omisión: Region).",
        )
        parser.add_argument(
            "--comuna-code-field",
            metavar="CAMPO",
            default="cod_comuna",
            help="Campo con el código CUT de la comuna (por omisión: cod_comuna).",
        )
        parser.add_argument(
            "--comuna-name-field",
            metavar="CAMPO",
            default="Comuna",
            help="Campo con el nombre de la comuna (por omisión: Comuna).",
        )
        parser.add_argument(
            "--comuna-province-field",
            metavar="CAMPO",
            default="Provincia",
            help="Campo con la provincia, usado sin tabla CUT (por omisión: Provincia).",
        )
        parser.add_argument(
            "--report",
            type=Path,
            metavar="CSV",
            help="Escribe los problemas encontrados en este CSV.",
        )

    def handle(self, *args, **options):
        verbosity = options["verbosity"]
        report = options["report"]
        if report and not report.parent.is_dir():
            raise CommandError(f"{report.parent}: no existe; no hay dónde escribir el informe.")
        try:
            result = import_boundaries(
                regiones=options["regiones"],
                comunas=options["comunas"],
                cut_table=options["cut_table"],
                regiones_layer=options["regiones_layer"],
                comunas_layer=options["comunas_layer"],
                region_fields=Fields(options["region_code_field"], options["region_name_field"]),
                comuna_fields=Fields(
                    options["comuna_code_field"],
                    options["comuna_name_field"],
                    options["comuna_province_field"],
                ),
                progress=verbosity >= 1 and sys.stderr.isatty(),
            )
        except BoundaryImportError as exc:
            raise CommandError(f"{exc}. No se modificó la base de datos.") from exc

        for problem in result.problems:
            if problem.severity == ERROR:
                self.stdout.write(self.style.ERROR(str(problem)))
            elif problem.severity == WARNING and verbosity >= 1:
                self.stdout.write(self.style.WARNING(str(problem)))
            elif verbosity >= 1:
                self.stdout.write(str(problem))
        if report:
            try:
                result.write_report(report)
            except OSError as exc:
                raise CommandError(
                    f"Datos cargados, pero el informe no se pudo escribir: {exc}"
                ) from exc
        self.stdout.write(result.summary())
        if result.failed:
            # What loaded is already committed; the status tells scripts it was not everything.
            raise CommandError(
                f"Importación incompleta: {result.skipped} features omitidas, "
                f"{result.without_boundary} entradas del CUT sin geometría en los archivos."
            )
