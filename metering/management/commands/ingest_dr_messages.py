from __future__ import annotations

import csv
import sys
from collections import Counter
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.api.renderers import BOM
from metering.lib import EXIT_FAILED, EXIT_OK, EXIT_REJECTED
from metering.services.dr import DUPLICATE, MAX_MESSAGE_BYTES, OUTCOME_LABELS, Result, receive_xml
from metering.services.dr.reading import Problem

REPORT_HEADER = ["archivo", "message_id", "correlation_id", "resultado", "elemento", "motivo"]
ORDER = ["applied", "partial", "pending", DUPLICATE, "rejected"]


class Command(BaseCommand):
    help = (
        "Recibe mensajes CIM de respuesta a la demanda (un EventMessage por archivo): eventos "
        "DR, notificaciones de precio, acuses y respuestas de los dispositivos HAN. Informa "
        "cada mensaje o elemento rechazado con su archivo, elemento y motivo, y sigue con el "
        "resto. Un mensaje ya recibido no cambia nada: correrlo dos veces es inocuo. Formato de "
        "los mensajes en docs/dr_messages.md. Estado de salida: "
        f"{EXIT_OK} si se aplicó todo (o ya estaba); {EXIT_REJECTED} si se rechazaron "
        f"elementos de algún mensaje (el resto quedó aplicado); {EXIT_FAILED} si se rechazó "
        "algún mensaje completo."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "paths",
            nargs="+",
            type=Path,
            metavar="RUTA",
            help="Archivos XML, o directorios cuyos *.xml se leen (en orden de nombre).",
        )
        parser.add_argument(
            "--recursive",
            action="store_true",
            help="En los directorios, lee también los subdirectorios.",
        )
        parser.add_argument(
            "--report",
            type=Path,
            metavar="CSV",
            help="Escribe en este CSV cada problema (archivo, MessageID, CorrelationID, "
            "resultado, elemento, motivo).",
        )

    def handle(self, *args, **options):
        report = options["report"]
        if report and not report.parent.is_dir():
            raise CommandError(f"{report.parent}: no existe; no hay dónde escribir el informe.")
        files = self.files(options["paths"], options["recursive"])
        if not files:
            raise CommandError("No hay archivos XML que leer en las rutas indicadas.")
        verbosity = options["verbosity"]
        counts: Counter[str] = Counter()
        rows: list[list[str]] = []
        progress = verbosity >= 1 and sys.stderr.isatty()
        for path in tqdm(files, unit=" msj.", disable=not progress, mininterval=1.0):
            result = self.receive(path)
            counts[result.outcome] += 1
            for problem in result.problems:
                rows.append(
                    [
                        str(path),
                        result.message_id,
                        result.correlation_id,
                        result.label,
                        problem.where,
                        problem.reason,
                    ]
                )
                line = f"{path}: {problem.where or 'documento'}: {problem.reason}"
                if result.outcome == DUPLICATE:
                    self.stdout.write(self.style.WARNING(line))
                else:
                    self.stdout.write(self.style.ERROR(line))
            if result.outcome == "pending" and verbosity >= 1:
                self.stdout.write(
                    self.style.WARNING(
                        f"{path}: pendiente; se aplicará al llegar el evento o el precio "
                        f"{result.correlation_id}"
                    )
                )
            elif verbosity >= 2:
                self.stdout.write(f"{path}: {result.label}")
        if report:
            try:
                with report.open("w", encoding="utf-8", newline="") as out:
                    out.write(BOM)
                    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
                    writer.writerow(REPORT_HEADER)
                    writer.writerows(rows)
            except OSError as exc:
                raise CommandError(
                    f"Mensajes recibidos, pero el informe no se pudo escribir: {exc}"
                ) from exc
        parts = [f"{counts[o]} {OUTCOME_LABELS[o]}" for o in ORDER if counts[o]]
        self.stdout.write(f"{len(files)} mensajes: {', '.join(parts)}.")
        if counts["rejected"] or counts["partial"]:
            # The rest is committed; the status tells scripts it was not everything.
            raise CommandError(
                f"Mensajes rechazados: {counts['rejected']}; aplicados en parte: "
                f"{counts['partial']}. Detalle arriba" + (f" y en {report}." if report else "."),
                returncode=EXIT_FAILED if counts["rejected"] else EXIT_REJECTED,
            )

    @staticmethod
    def files(paths: list[Path], recursive: bool) -> list[Path]:
        found = []
        for path in paths:
            if path.is_dir():
                pattern = "**/*.xml" if recursive else "*.xml"
                found += sorted(p for p in path.glob(pattern) if p.is_file())
            elif path.is_file():
                found.append(path)
            else:
                raise CommandError(f"{path}: no existe.")
        return found

    @staticmethod
    def receive(path: Path) -> Result:
        try:
            if path.stat().st_size > MAX_MESSAGE_BYTES:
                limit = MAX_MESSAGE_BYTES // 2**20
                return Result(problems=[Problem("", f"archivo de más de {limit} MB")])
            data = path.read_bytes()
        except OSError as exc:
            return Result(problems=[Problem("", f"no se pudo leer: {exc.strerror}")])
        return receive_xml(data, origin=str(path))
