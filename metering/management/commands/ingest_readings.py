"""manage.py ingest_readings FILE…: AMI readings (IEC 61968-9 XML or CSV) into the store."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from metering.services.ingest import ingest_file, thousands

SUFFIXES = (".xml", ".csv")


class Command(BaseCommand):
    help = (
        "Carga lecturas del sistema de medición (MeterReadings IEC 61968-9 en XML, o CSV). "
        "Volver a cargar un archivo no cambia nada; los valores rechazados quedan en un "
        "informe CSV con su línea y el motivo."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "paths",
            nargs="+",
            type=Path,
            help="Archivos .xml o .csv, o carpetas (se cargan sus .xml y .csv en orden).",
        )
        parser.add_argument(
            "--report",
            type=Path,
            help="Ruta del informe de rechazos (solo con un archivo; por omisión uno por "
            "carga en METERING_REPORTS_DIR).",
        )
        parser.add_argument("--no-progress", action="store_true", help="Sin barra de progreso.")

    def handle(self, *args, paths: list[Path], report: Path | None, no_progress: bool, **options):
        files: list[Path] = []
        for path in paths:
            if path.is_dir():
                files += sorted(p for p in path.iterdir() if p.suffix.lower() in SUFFIXES)
            elif path.is_file():
                files.append(path)
            else:
                raise CommandError(f"No existe: {path}")
        if report and len(files) > 1:
            raise CommandError("--report se usa con un solo archivo")
        failed = 0
        totals = {"read": 0, "new": 0, "rejected": 0}
        for path in files:
            with tqdm(
                desc=path.name, unit=" valores", disable=no_progress or None, leave=False
            ) as bar:
                result = ingest_file(path, report_path=report, progress=bar.update)
            self.stdout.write(result.summary())
            for rejection in result.rejections[:10]:
                self.stdout.write(
                    f"  {rejection.where}: {rejection.field + ': ' if rejection.field else ''}"
                    f"{rejection.reason}" + (f" [{rejection.meter}]" if rejection.meter else "")
                )
            if result.rejected:
                self.stdout.write(f"  informe: {result.report_path}")
            failed += bool(result.fatal)
            totals["read"] += result.values_read
            totals["new"] += result.inserted + result.registers_inserted
            totals["rejected"] += result.rejected
        summary = (
            f"{len(files)} archivo(s): {thousands(totals['read'])} valores leídos, "
            f"{thousands(totals['new'])} nuevos, {thousands(totals['rejected'])} rechazados"
        )
        if failed:
            raise CommandError(f"{summary}; {failed} archivo(s) rechazado(s) completos")
        self.stdout.write(self.style.SUCCESS(summary))
