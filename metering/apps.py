from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"
    verbose_name = "Medición"

    def ready(self) -> None:
        from core import jobs
        from metering import signals  # noqa: F401
        from metering.jobs import BILLING, READINGS

        jobs.register(READINGS)
        jobs.register(BILLING)
