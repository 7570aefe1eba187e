from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from portal.services import SCALES, SeedRefused, demo_accounts, holds_demo_data, seed_demo


class Command(BaseCommand):
    help = (
        "Carga una distribuidora sintética y determinista (red MT, equipos, transformadores, "
        "clientes, códigos VNR y demandas mensuales) a escala de demostración o nacional."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", choices=sorted(SCALES), default="demo",
            help="demo: miles de postes; national: 2 millones de postes y 1 millón de clientes.",
        )  # fmt: skip
        parser.add_argument(
            "--seed", type=int, default=2026, help="Semilla: la misma semilla da la misma red."
        )
        parser.add_argument(
            "--as-of", type=date.fromisoformat, default=None,
            help="Fecha de actualización de los datos (AAAA-MM-DD); por omisión, hoy.",
        )  # fmt: skip
        parser.add_argument(
            "--force", action="store_true",
            help="Reemplaza también datos de red que no son de demostración (se pierden).",
        )  # fmt: skip
        parser.add_argument(
            "--keep-existing", action="store_true",
            help="No hace nada si ya hay datos de demostración cargados.",
        )  # fmt: skip
        parser.add_argument("--no-progress", action="store_true", help="Sin barra de progreso.")

    def handle(self, *args, **options):
        if options["keep_existing"] and holds_demo_data():
            self.stdout.write("Datos de demostración ya cargados; nada que hacer.")
            self._demo_accounts(options)
            return
        try:
            counts = seed_demo(
                options["scale"],
                seed=options["seed"],
                as_of=options["as_of"],
                force=options["force"],
                progress=not options["no_progress"] and options["verbosity"] > 0,
                log=self.stderr.write if options["verbosity"] > 0 else (lambda _: None),
            )
        except SeedRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Escala {options['scale']}: {counts['substations']:,} subestaciones, "
            f"{counts['feeder']:,} alimentadores, {counts['poles']:,} postes, "
            f"{counts['spans']:,} vanos, {counts['equipment']:,} equipos, "
            f"{counts['transformers']:,} transformadores, {counts['customers']:,} clientes, "
            f"{counts['demands']:,} demandas mensuales en {counts['seconds']} s."
        )
        self._demo_accounts(options)

    def _demo_accounts(self, options) -> None:
        for line in demo_accounts(options["scale"]):
            self.stdout.write(line)
