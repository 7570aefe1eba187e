"""manage.py compute_outages: a month's interruptions, outage events and SAIFI / SAIDI."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.months import add_months, month_start, parse_month, today
from outages.services.rebuild import rebuild_month


def month_arg(value: str) -> date:
    try:
        month = parse_month(value)
    except ValueError:
        raise CommandError(f"Mes inválido: {value!r} (use AAAA-MM, p. ej. 2026-03)") from None
    if month > month_start(today()):
        raise CommandError(f"Mes futuro: {value!r}; no hay interrupciones que calcular")
    return month


class Command(BaseCommand):
    help = (
        "Calcula para un mes las interrupciones de suministro por medidor (eventos de último "
        "suspiro y reposición, datos faltantes), los eventos por transformador y alimentador "
        "y el SAIFI y SAIDI por alimentador, comuna y empresa. Repetirlo reemplaza los "
        "resultados del mes. Estado de salida: 0 si terminó, 1 si no."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--mes",
            type=str,
            help="Mes a calcular (AAAA-MM); por omisión el mes anterior al actual.",
        )

    def handle(self, *args, mes: str | None, **options) -> None:
        month = month_arg(mes) if mes else add_months(month_start(today()), -1)
        try:
            result = rebuild_month(month)
        except DatabaseError as error:
            raise CommandError(f"No se pudo calcular {month:%Y-%m}: {error}") from error
        self.stdout.write(self.style.SUCCESS(result.summary()))
