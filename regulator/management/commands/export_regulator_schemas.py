from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from regulator.contract import SCHEMA_DIR, write_schemas


class Command(BaseCommand):
    help = (
        "Regenera los esquemas JSON del contrato con la SEC (regulator/schemas/) desde los "
        "tipos de registro; idempotente."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--dir",
            type=Path,
            default=SCHEMA_DIR,
            help=f"Directorio de destino (por omisión {SCHEMA_DIR}).",
        )

    def handle(self, *args, dir: Path, **options):  # noqa: A002
        written = write_schemas(dir)
        self.stdout.write(f"{len(written)} esquemas escritos en {dir}.")
