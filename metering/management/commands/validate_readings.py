"""manage.py validate_readings: the VEE over some days (checks, estimates, daily report)."""

from __future__ import annotations

from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from metering.models import Meter
from metering.services.vee import validate


class Command(BaseCommand):
    help = (
        "Valida las lecturas de intervalo de los días indicados (huecos, duplicados, picos, "
        "negativos, línea plana, deriva de reloj), estima los intervalos faltantes o inválidos "
        "y deja un informe por canal y día. Repetirlo no cambia el resultado."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--desde", type=date.fromisoformat, help="Primer día (AAAA-MM-DD); por omisión ayer."
        )
        parser.add_argument(
            "--hasta", type=date.fromisoformat, help="Último día (AAAA-MM-DD); por omisión --desde."
        )
        parser.add_argument(
            "--medidor", action="append", default=[], help="Solo este medidor (repetible)."
        )

    def handle(self, *args, desde, hasta, medidor, **options) -> None:
        first = desde or timezone.localdate() - timedelta(days=1)
        last = hasta or first
        if last < first:
            raise CommandError("--hasta es anterior a --desde")
        meter_ids = None
        if medidor:
            found = dict(Meter.objects.filter(serial__in=medidor).values_list("serial", "pk"))
            unknown = sorted(set(medidor) - found.keys())
            if unknown:
                raise CommandError(f"Medidores desconocidos: {', '.join(unknown)}")
            meter_ids = list(found.values())
        result = validate(first, last, meter_ids)
        self.stdout.write(self.style.SUCCESS(f"{first} a {last}: {result.summary()}"))
