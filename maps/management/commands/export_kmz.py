from __future__ import annotations

import sys
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from maps.kmz import is_stale, write_kmz
from network.models import Feeder


class Command(BaseCommand):
    help = (
        "Escribe el plano KMZ de los alimentadores indicados en KMZ_DIR "
        "(<id alimentador>.kmz), reemplazando el anterior."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--feeder",
            action="append",
            default=[],
            metavar="CÓDIGO",
            help="Id del alimentador (se puede repetir).",
        )
        parser.add_argument(
            "--all", action="store_true", help="Todos los alimentadores de la base de datos."
        )
        parser.add_argument(
            "--stale-only",
            action="store_true",
            help="Sólo los planos que faltan o son anteriores a los datos del alimentador.",
        )

    def handle(self, *args, **options):
        codes = options["feeder"]
        if not codes and not options["all"]:
            raise CommandError("Indique --feeder CÓDIGO (una o más veces) o --all.")
        feeders = Feeder.objects.only("pk", "code").order_by("code", "pk")
        if not options["all"]:
            feeders = feeders.filter(code__in=codes)
            unknown = sorted(set(codes) - {f.code for f in feeders})
            if unknown:
                raise CommandError(f"Alimentadores desconocidos: {', '.join(unknown)}.")
        started = time.monotonic()
        written = skipped = 0
        bar = tqdm(
            list(feeders),
            unit=" alim.",
            disable=options["verbosity"] < 1 or not sys.stderr.isatty(),
        )
        for feeder in bar:
            if options["stale_only"] and not is_stale(feeder):
                skipped += 1
                continue
            write_kmz(feeder)
            written += 1
        bar.close()
        self.stdout.write(
            f"Planos KMZ: {written} escritos, {skipped} al día sin cambios, "
            f"en {time.monotonic() - started:.1f} s ({settings.KMZ_DIR})."
        )
