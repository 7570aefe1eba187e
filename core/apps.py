from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Shared plumbing at the ground floor: it imports no other app of ours."""

    name = "core"
    verbose_name = "Carga de archivos"

    def ready(self) -> None:
        from core import scheduled

        scheduled.connect()
