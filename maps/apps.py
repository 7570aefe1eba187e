from django.apps import AppConfig


class MapsConfig(AppConfig):
    """The network drawn: vector tiles, KMZ plans, static and Leaflet maps, the map page."""

    name = "maps"
    verbose_name = "Mapas"

    def ready(self) -> None:
        from maps import handlers  # noqa: F401  (connects the topology receivers)
