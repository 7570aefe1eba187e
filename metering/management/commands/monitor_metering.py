"""manage.py monitor_metering: a month's demand, energy balances and alarms from the readings."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from core.months import add_months, month_start, parse_month, today
from metering.services.monitoring import monitor


def month_arg(value: str) -> date:
    try:
        return parse_month(value)
    except ValueError:
        raise CommandError(f"Mes inválido: {value!r} (use AAAA-MM)") from None


class Command(BaseCommand):
    help = (
        "Calcula para un mes, desde las lecturas validadas: la demanda máxima y mínima de los "
        "transformadores monitoreados y de las cabeceras de alimentador (sin los traspasos de "
        "carga), el balance de energía de cada transformador con totalizador y las alarmas. "
        "Repetirlo reemplaza los resultados del mes."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--mes", type=month_arg, help="Mes (AAAA-MM); por omisión el mes anterior."
        )

    def handle(self, *args, mes: date | None, **options) -> None:
        if mes is None:
            mes = add_months(month_start(today()), -1)
        result = monitor(mes)
        self.stdout.write(self.style.SUCCESS(f"{mes:%Y-%m}: {result.summary()}"))
