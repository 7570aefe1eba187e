from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from accounts.issuance import IssueError, Site, issue_sec_account, split_name


class Command(BaseCommand):
    help = (
        "Emite la cuenta de un auditor SEC (perfil sec, sin acceso al admin). La cuenta se crea "
        "sin clave y el auditor recibe por correo un enlace para definirla; ninguna clave pasa "
        "por aquí. Se puede volver a correr: una cuenta SEC con ese usuario y ese correo no se "
        "emite de nuevo. Termina con error si rechaza la cuenta o el correo no sale."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "username",
            metavar="USUARIO",
            help="Nombre de usuario con el que ingresará: letras, números y @ . + - _.",
        )
        parser.add_argument(
            "email",
            metavar="CORREO",
            help="Correo del auditor: recibe el enlace. No puede ser el de otra cuenta.",
        )
        parser.add_argument(
            "--nombre",
            metavar="NOMBRE",
            default="",
            help='Nombre del auditor, p. ej. "Ana Pérez Soto": la primera palabra es el nombre '
            "y el resto los apellidos (se corrigen en el admin).",
        )
        parser.add_argument(
            "--reenviar",
            action="store_true",
            help="Si la cuenta ya existe y aún no define su clave, le vuelve a enviar el enlace.",
        )
        parser.add_argument(
            "--dominio",
            metavar="DOMINIO",
            help="Dominio del portal en el enlace, p. ej. portal.example.cl (https) o "
            "http://localhost:8000 (por omisión, el primero de ALLOWED_HOSTS; http solo con "
            "DEBUG).",
        )

    def handle(self, *args, **options):
        try:
            site = Site.parse(options["dominio"]) if options["dominio"] else Site.default()
        except ValueError as exc:
            raise CommandError(f"--dominio: {exc}") from exc
        first_name, last_name = split_name(options["nombre"])
        try:
            result = issue_sec_account(
                options["username"],
                options["email"],
                first_name=first_name,
                last_name=last_name,
                site=site,
                resend=options["reenviar"],
            )
        except IssueError as exc:
            raise CommandError(f"No se emitió la cuenta: {exc.message}") from exc

        user = result.user
        if result.mail_error:
            # The account stays; the status tells scripts the auditor has no link yet.
            raise CommandError(
                f"Cuenta SEC {user.username} "
                + ("emitida" if result.created else "ya emitida")
                + f", pero el correo no salió ({result.mail_error}). Reintente con --reenviar."
            )
        if result.created:
            self.stdout.write(
                f"Cuenta SEC {user.username} emitida: se envió a {user.email} el enlace para "
                "definir la clave."
            )
        elif result.mailed:
            self.stdout.write(
                f"Cuenta SEC {user.username} ya emitida: se reenvió a {user.email} el enlace "
                "para definir la clave."
            )
        elif not options["reenviar"]:
            self.stdout.write(
                f"Cuenta SEC {user.username} ya emitida con ese correo: no se emitió nada "
                "(--reenviar le manda otro enlace)."
            )
        elif not user.is_active:
            raise CommandError(
                f"La cuenta SEC {user.username} está desactivada: no se reenvió el enlace. "
                "Actívela en el admin primero."
            )
        else:
            self.stdout.write(
                f"Cuenta SEC {user.username} ya emitida y su clave ya está definida: no se "
                "reenvió el enlace (si la olvidó, «¿Olvidó su clave?» le manda uno)."
            )
