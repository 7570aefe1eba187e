"""manage.py ingest_readings FILE…: AMI readings (IEC 61968-9 XML or CSV) into the store."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from metering.lib import DECIMALS, EXIT_FAILED, EXIT_OK, EXIT_REJECTED
from metering.services.ingest import ingest_file, thousands

SUFFIXES = (".xml", ".csv")


class Command(BaseCommand):
    help = (
        "Carga lecturas del sistema de medición (MeterReadings IEC 61968-9 en XML, o CSV). "
        "Volver a cargar un archivo no cambia nada: un valor ya guardado se conserva, salvo en "
        "una corrección (--correccion, o un mensaje CIM con el verbo 'changed'). Los valores "
        "rechazados quedan en un informe CSV con su línea y el motivo. Estado de salida: "
        f"{EXIT_OK} si se aceptó todo; {EXIT_REJECTED} si se rechazaron valores o líneas (el "
        f"resto quedó guardado); {EXIT_FAILED} si un archivo se rechazó completo o la carga no "
        "pudo empezar."
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
        parser.add_argument(
            "--decimal",
            choices=DECIMALS,
            help="Separador decimal de los CSV ('.' o ','), como la primera línea "
            "'#decimal=,' del archivo. Sin declararlo es el punto, y en un CSV separado por "
            "';' solo se aceptan números enteros. En XML es siempre el punto.",
        )
        parser.add_argument(
            "--correccion",
            metavar="MOTIVO",
            help="Corrección: los valores del archivo reemplazan a los guardados que difieren; "
            "el valor anterior queda en 'correcciones de lecturas' con este motivo, y se "
            "recalculan la VEE, la demanda mensual y los balances de los días tocados.",
        )
        parser.add_argument("--no-progress", action="store_true", help="Sin barra de progreso.")

    def handle(
        self,
        *args,
        paths: list[Path],
        report: Path | None,
        no_progress: bool,
        decimal: str | None,
        correccion: str | None,
        **options,
    ):
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
        if correccion is not None:
            correccion = correccion.strip()
            if not correccion:
                raise CommandError("--correccion necesita un motivo", returncode=EXIT_FAILED)
        correccion = correccion or ""
        failed = 0
        totals = {"read": 0, "new": 0, "present": 0, "corrected": 0, "rejected": 0}
        for path in files:
            with tqdm(
                desc=path.name, unit=" valores", disable=no_progress or None, leave=False
            ) as bar:
                result = ingest_file(
                    path,
                    report_path=report,
                    progress=bar.update,
                    correction=correccion,
                    decimal=decimal,
                )
            for pk in result.interrupted:
                self.stdout.write(
                    self.style.WARNING(f"La carga {pk} había quedado en curso: interrumpida.")
                )
            self.stdout.write(result.summary())
            for rejection in result.rejections[:10]:
                self.stdout.write(
                    f"  {rejection.where}: {rejection.field + ': ' if rejection.field else ''}"
                    f"{rejection.reason}" + (f" [{rejection.meter}]" if rejection.meter else "")
                )
            if result.rejected:
                self.stdout.write(f"  informe: {result.report_path}")
            if result.recomputed:
                done = result.recomputed
                self.stdout.write(
                    f"  recalculado: {done['vee_days']} días de VEE, {done['demands']} demandas "
                    f"mensuales, {done['balances']} balances"
                )
            failed += bool(result.fatal)
            totals["read"] += result.values_read
            totals["new"] += result.inserted + result.registers_inserted
            totals["present"] += result.already_present
            totals["corrected"] += result.corrected
            totals["rejected"] += result.rejected
        summary = (
            f"{len(files)} archivo(s): {thousands(totals['read'])} valores leídos, "
            f"{thousands(totals['new'])} nuevos, {thousands(totals['present'])} ya cargados, "
            + (
                f"{thousands(totals['corrected'])} corregidos, "
                if correccion or totals["corrected"]
                else ""
            )
            + f"{thousands(totals['rejected'])} rechazados"
        )
        if failed:
            raise CommandError(
                f"{summary}; {failed} archivo(s) rechazado(s) completos", returncode=EXIT_FAILED
            )
        if totals["rejected"]:
            # What was accepted is stored; the status tells scripts it was not everything.
            self.stdout.write(summary)
            raise CommandError(
                f"{thousands(totals['rejected'])} valores o líneas rechazados (detalle en el "
                "informe)",
                returncode=EXIT_REJECTED,
            )
        self.stdout.write(self.style.SUCCESS(summary))
