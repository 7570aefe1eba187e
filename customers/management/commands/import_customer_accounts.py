from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from accounts.issuance import Site
from customers.services.issuance import COLUMNS, CustomerFileError, issue_from_csv
from network.models import Distributor


class Command(BaseCommand):
    help = (
        "Emite las cuentas de clientes y clientes EG de la lista del CIS (CSV con encabezado "
        f"{','.join(COLUMNS)}; separado por , o ;). Cada cuenta nueva recibe por correo un "
        "enlace para definir su clave; ninguna clave pasa por el archivo. Se puede volver a "
        "correr: lo ya emitido no se repite. Las líneas rechazadas se informan y el resto se "
        "emite; termina con error si rechazó alguna."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file",
            type=Path,
            metavar="ARCHIVO",
            help="Lista de clientes del CIS: numero_cliente,email,perfil (perfil cliente o eg), "
            "UTF-8 con o sin BOM.",
        )
        parser.add_argument(
            "--reenviar",
            action="store_true",
            help="Vuelve a enviar el enlace a las cuentas ya emitidas que aún no definen su clave.",
        )
        parser.add_argument(
            "--dominio",
            metavar="DOMINIO",
            help="Dominio del portal en los enlaces, p. ej. portal.example.cl (https) o "
            "http://localhost:8000 (por omisión, el primero de ALLOWED_HOSTS; http solo con "
            "DEBUG).",
        )
        parser.add_argument(
            "--distribuidora",
            metavar="CODIGO",
            help="Código de la empresa distribuidora de los clientes; necesario si un número "
            "de cliente existe en más de una.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Revisa el archivo e informa lo que haría, sin crear cuentas ni enviar correos.",
        )

    def handle(self, *args, **options):
        path: Path = options["file"]
        try:
            site = Site.parse(options["dominio"]) if options["dominio"] else Site.default()
        except ValueError as exc:
            raise CommandError(f"--dominio: {exc}") from exc
        distributor = None
        if code := options["distribuidora"]:
            distributor = Distributor.objects.filter(code=code).first()
            if distributor is None:
                raise CommandError(f"--distribuidora: no existe la empresa distribuidora «{code}».")
        show_progress = options["verbosity"] >= 1 and sys.stderr.isatty()
        try:
            report = issue_from_csv(
                path,
                distributor=distributor,
                site=site,
                resend=options["reenviar"],
                dry_run=options["dry_run"],
                progress=lambda rows: (
                    tqdm(rows, desc=path.name, unit=" líneas") if show_progress else rows
                ),
            )
        except FileNotFoundError as exc:
            raise CommandError(f"{path}: no existe.") from exc
        except OSError as exc:
            raise CommandError(f"{path}: no se puede leer ({exc.strerror or exc}).") from exc
        except CustomerFileError as exc:
            raise CommandError(f"{path}: {exc}. No se emitió ninguna cuenta.") from exc

        for problem in report.problems():
            self.stdout.write(self.style.ERROR(problem))
        self.stdout.write(report.summary())
        if report.failed:
            # The accepted lines are committed; the status tells scripts it was not everything.
            raise CommandError(
                f"{len(report.refused)} línea(s) rechazada(s)"
                + (f", {len(report.unsent)} correo(s) sin enviar" if report.unsent else "")
                + "."
            )
