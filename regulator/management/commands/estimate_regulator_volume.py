from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from regulator.volume import DEFAULT_SAMPLE, estimate_volume


def _int(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _size(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            text = f"{n:.0f}" if unit == "B" else f"{n:.1f}"
            return f"{text.replace('.', ',')} {unit}"
        n /= 1000
    raise AssertionError  # pragma: no cover


class Command(BaseCommand):
    help = (
        "Estima el volumen de la carga inicial para la SEC (anexo §6.1): por entidad, la "
        "cantidad de registros y los bytes (JSON Lines y gzip), medidos sobre una muestra "
        "serializada como la carga los escribe. No modifica la base."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--muestra",
            type=int,
            default=DEFAULT_SAMPLE,
            metavar="N",
            help=f"Registros de muestra por entidad (por omisión {DEFAULT_SAMPLE}); una entidad "
            "con N registros o menos se serializa completa.",
        )
        parser.add_argument(
            "--semilla", type=int, default=0, help="Semilla de la muestra (reproducible)."
        )
        parser.add_argument(
            "--json", action="store_true", help="Escribe el resultado como JSON, sin tabla."
        )

    def handle(self, *args, muestra, semilla, json: bool, **options):  # noqa: A002
        if muestra < 1:
            raise CommandError("--muestra debe ser al menos 1.")
        result = estimate_volume(sample=muestra, seed=semilla)
        if json:
            self.stdout.write(_dumps(result.as_dict()))
            return
        header = ("Entidad", "Registros", "Conteo", "Muestra", "JSON", "gzip", "gzip/registro")
        rows = [
            (
                e.entity,
                _int(e.records),
                "exacto" if e.exact_count else "estimado",
                _int(e.sample),
                _size(e.json_bytes),
                _size(e.gzip_bytes),
                _size(e.gzip_per_record),
            )
            for e in result.entities
        ]
        rows += [
            (
                f"lecturas de 15 min {p.month}",
                _int(p.records),
                "exacto" if p.exact_count else "estimado",
                _int(p.sample),
                _size(p.csv_bytes),
                _size(p.gzip_bytes),
                _size(p.gzip_bytes / p.records if p.records else 0),
            )
            for p in result.partitions
        ]
        total = ("Total", _int(result.records), "", "", _size(result.json_bytes))
        rows.append((*total, _size(result.gzip_bytes), ""))
        widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
        line = "  ".join("-" * w for w in widths)

        def fmt(row):
            return "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )

        self.stdout.write(fmt(header))
        self.stdout.write(line)
        for row in rows[:-1]:
            self.stdout.write(fmt(row))
        self.stdout.write(line)
        self.stdout.write(fmt(rows[-1]))
        self.stdout.write(
            f"Carga inicial estimada: {_int(result.records)} registros, "
            f"{_size(result.gzip_bytes)} comprimidos ({_size(result.json_bytes)} sin comprimir), "
            f"con {len(result.partitions)} partición(es) mensual(es) de lecturas de 15 minutos "
            "como archivos CSV."
        )


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
