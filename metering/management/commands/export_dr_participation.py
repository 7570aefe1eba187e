from __future__ import annotations

from datetime import date
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from metering.models import DrProgram
from metering.services.dr import participation_targets, participations, write_participation_csv


class Command(BaseCommand):
    help = (
        "Exporta para el CIS la participación en eventos DR por cliente y evento: CSV UTF-8 "
        "con BOM, separado por «;», fechas ISO 8601 con su desfase horario."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            "-o",
            type=Path,
            metavar="CSV",
            help="Archivo de salida (por omisión, la salida estándar).",
        )
        parser.add_argument(
            "--programa", metavar="CODIGO", help="Solo los eventos de este programa."
        )
        parser.add_argument(
            "--desde",
            type=date.fromisoformat,
            metavar="AAAA-MM-DD",
            help="Solo los eventos que comienzan desde esta fecha (hora de Chile).",
        )
        parser.add_argument(
            "--hasta",
            type=date.fromisoformat,
            metavar="AAAA-MM-DD",
            help="Solo los eventos que comienzan hasta esta fecha, inclusive.",
        )

    def handle(self, *args, **options):
        program = options["programa"]
        if program and not DrProgram.objects.filter(code=program).exists():
            raise CommandError(f"No existe el programa {program}.")
        if options["desde"] and options["hasta"] and options["desde"] > options["hasta"]:
            raise CommandError("--desde es posterior a --hasta.")
        rows = participations(participation_targets(program, options["desde"], options["hasta"]))
        output = options["output"]
        if output is None:
            # The CSV writes its own line ends (and a BOM that must not get one).
            self.stdout.ending = ""
            count = write_participation_csv(self.stdout, rows)
            self.stderr.write(f"{count} filas (cliente y evento).")
            return
        try:
            with output.open("w", encoding="utf-8", newline="") as out:
                count = write_participation_csv(out, rows)
        except OSError as exc:
            raise CommandError(f"No se pudo escribir {output}: {exc}") from exc
        self.stdout.write(f"{count} filas (cliente y evento) en {output}.")
