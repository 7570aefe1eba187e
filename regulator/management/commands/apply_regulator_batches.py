from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from regulator.receiver import Mirror, Refused


class Command(BaseCommand):
    help = (
        "Receptor de referencia (lo que corre la SEC): aplica a un espejo SQLite, en orden, los "
        "lotes de un directorio que aún no tiene. Rechaza un lote duplicado, un hueco o un lote "
        "alterado (cadena sha256). Código de salida 0 si aplicó todo, 1 si rechazó un lote."
    )

    def add_arguments(self, parser):
        parser.add_argument("lotes", type=Path, help="Directorio con los lotes (00000000, ...).")
        parser.add_argument("espejo", type=Path, help="Archivo SQLite del espejo.")

    def handle(self, *args, **options):
        mirror = Mirror(options["espejo"])
        try:
            for applied in mirror.apply_all(options["lotes"]):
                self.stdout.write(
                    f"Lote {applied.batch} aplicado: {applied.lines} líneas "
                    f"({applied.skipped} sin efecto por versión)."
                )
        except Refused as error:
            raise CommandError(f"Lote rechazado ({error.reason}): {error.detail}") from None
        finally:
            last = mirror.last_applied()
            mirror.close()
        self.stdout.write(f"Último lote aplicado: {last[0] if last else 'ninguno'}.")
