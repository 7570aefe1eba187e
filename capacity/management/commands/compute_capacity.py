from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from capacity.models import Run
from capacity.services.compute import compute
from network.models import Feeder


class Command(BaseCommand):
    help = (
        "Calcula el cortocircuito (IEC 60909) y la capacidad indicativa de conexión en cada "
        "poste: toda la red, o las subestaciones de los alimentadores indicados (método en "
        "docs/capacity.md). Estado de salida: 0 si el cálculo terminó (los alimentadores sin "
        "datos suficientes se cuentan, no son un error); 1 si falló."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--feeder",
            action="append",
            default=[],
            metavar="CODIGO",
            help="Código de alimentador (se puede repetir); por omisión, toda la red.",
        )

    def handle(self, *args, **options):
        codes = options["feeder"]
        ids = None
        if codes:
            found = dict(Feeder.objects.filter(code__in=codes).values_list("code", "pk"))
            unknown = sorted(set(codes) - set(found))
            if unknown:
                raise CommandError(f"alimentadores desconocidos: {', '.join(unknown)}")
            ids = list(found.values())
        tty = options["verbosity"] >= 1 and sys.stderr.isatty()

        def progress(done: int, total: int) -> None:
            if tty:
                sys.stderr.write(f"\r{done}/{total} subestaciones")
                sys.stderr.flush()

        scope = Run.Scope.FEEDERS if ids else Run.Scope.ALL
        try:
            run = compute(ids, scope=scope, trigger="manage.py compute_capacity", progress=progress)
        except Exception as exc:
            failed = Run.objects.order_by("-pk").first()
            raise CommandError(
                f"el cálculo {failed.pk if failed else ''} falló: {type(exc).__name__}: {exc}"
            ) from exc
        if tty:
            sys.stderr.write("\n")
        self.stdout.write(
            f"Cálculo {run.pk}: {run.feeders} alimentadores, {run.poles} postes, "
            f"{run.without_data} sin datos suficientes, {run.seconds:.1f} s."
        )
