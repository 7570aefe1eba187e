"""manage.py import_virtual_meters: dated definitions of virtual meters from a CSV."""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from metering.services import virtual


class Command(BaseCommand):
    help = (
        "Carga definiciones de medidores virtuales desde un CSV separado por ';' con las "
        "columnas " + ";".join(virtual.COLUMNS) + " (fórmula: +SERIE -SERIE …). Cada línea se "
        "revisa por separado: una línea con error se informa con su número y las demás se "
        "cargan. Estado de salida: 0 todo cargado, 3 con líneas rechazadas, 1 nada cargado."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("archivo", type=Path, help="El CSV de definiciones.")
        parser.add_argument(
            "--simulacion",
            action="store_true",
            help="Revisa el archivo sin guardar nada (informa lo que cargaría).",
        )

    def handle(self, *args, archivo: Path, simulacion: bool, **options) -> None:
        if not archivo.is_file():
            raise CommandError(f"{archivo}: no existe")
        result = virtual.import_definitions(archivo, dry_run=simulacion)
        for error in result.errors:
            self.stderr.write(error)
        verb = "se cargarían" if simulacion else "cargadas"
        self.stdout.write(
            f"{archivo.name}: {result.defined} definiciones {verb}, {result.unchanged} sin "
            f"cambios, {len(result.errors)} líneas rechazadas"
        )
        if result.exit_status:
            sys.exit(result.exit_status)
