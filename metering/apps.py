from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"
    verbose_name = "Medición"

    def ready(self) -> None:
        from metering import signals  # noqa: F401
