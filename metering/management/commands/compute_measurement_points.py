"""manage.py compute_measurement_points: virtual meters' values and main/backup comparisons."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metering.services import backup, virtual


class Command(BaseCommand):
    help = (
        "Calcula los valores de los medidores virtuales y compara cada medidor principal con "
        "su respaldo en los días indicados. Repetirlo no cambia el resultado."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--desde", type=date.fromisoformat, help="Primer día (AAAA-MM-DD); por omisión ayer."
        )
        parser.add_argument(
            "--hasta", type=date.fromisoformat, help="Último día (AAAA-MM-DD); por omisión --desde."
        )

    def handle(self, *args, desde, hasta, **options) -> None:
        first = desde or timezone.localdate() - timedelta(days=1)
        last = hasta or first
        if last < first:
            raise CommandError("--hasta es anterior a --desde")
        if (last - first).days > 366:
            raise CommandError("a lo más 367 días por vez")
        try:
            computed = virtual.compute(first, last)
        except virtual.DefinitionError as error:
            raise CommandError(str(error)) from None
        compared = backup.compare(first, last)
        self.stdout.write(
            self.style.SUCCESS(f"{first} a {last}: {computed.summary()}; {compared.summary()}")
        )
