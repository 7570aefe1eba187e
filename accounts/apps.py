from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Cuentas y perfiles"

    def ready(self) -> None:
        from accounts.services import ensure_groups

        # After every app's migrations: the group needs the permissions of apps that follow.
        post_migrate.connect(ensure_groups, dispatch_uid="accounts.ensure_groups")
