from django.apps import AppConfig


class RegulatorConfig(AppConfig):
    """The regulator data service (annex §6): what SEC receives, captured, cut into numbered
    batches and delivered exactly once."""

    name = "regulator"
    verbose_name = "Servicio de datos para la SEC"
