from django.apps import AppConfig


class CapacityConfig(AppConfig):
    name = "capacity"
    verbose_name = "Capacidad de conexión"

    def ready(self) -> None:
        from capacity import handlers  # noqa: F401
        from capacity.jobs import QUEUE
        from core import jobs

        jobs.register(QUEUE)
