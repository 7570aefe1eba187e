from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from regulator.cut import CutError, cut


class Command(BaseCommand):
    # Run by cron or beat every few minutes: the system checks belong to deploys (`check`),
    # not to each delivery (0.6 s of a run that otherwise takes a fraction of a second).
    requires_system_checks: list[str] = []
    help = (
        "Corta el próximo lote para la SEC (anexo §6): con --inicial, la carga inicial (lote 0) "
        "desde una instantánea; si no, el delta de todos los cambios confirmados desde el lote "
        "anterior. Escribe las páginas y el manifiesto en REGULATOR_BATCH_DIR. Código de salida "
        "0 si el lote quedó cortado, 1 si no."
    )

    def add_arguments(self, parser):
        parser.add_argument("--inicial", action="store_true", help="La carga inicial (lote 0).")

    def handle(self, *args, **options):
        try:
            batch = cut(initial=options["inicial"])
        except CutError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(
            f"Lote {batch.number} ({batch.get_kind_display()}): {batch.changes} cambios, "
            f"{batch.records} registros, {batch.bytes} bytes en {batch.seconds:.1f} s; "
            f"manifiesto {batch.manifest_sha256}."
        )
