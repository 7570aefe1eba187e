from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from regulator.delivery import push_pending
from regulator.models import Batch


class Command(BaseCommand):
    # Run by cron or beat every few minutes: the system checks belong to deploys (`check`),
    # not to each delivery (0.6 s of a run that otherwise takes a fraction of a second).
    requires_system_checks: list[str] = []
    help = (
        "Envía al receptor de la SEC (REGULATOR_PUSH_URL) los lotes sin acuse que corresponda "
        "intentar, en orden. Código de salida 0 si no quedan lotes sin acuse, 1 si quedan "
        "(el motivo queda en cada intento, visible en /regulador/entregas/)."
    )

    def handle(self, *args, **options):
        if not settings.REGULATOR_PUSH_URL:
            raise CommandError("No hay envío configurado (REGULATOR_PUSH_URL); la SEC descarga.")
        acknowledged = push_pending()
        for number in acknowledged:
            self.stdout.write(f"Lote {number} acusado por la SEC.")
        pending = Batch.objects.filter(acknowledged_at__isnull=True).order_by("number")
        if pending.exists():
            first = pending.first()
            raise CommandError(
                f"{pending.count()} lote(s) sin acuse; el {first.number}: "
                f"{first.last_error or 'aún no se intenta'}"
            )
        self.stdout.write("Todos los lotes tienen acuse.")
