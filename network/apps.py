from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "network"
    verbose_name = "Red"

    def ready(self) -> None:
        from network import signals  # noqa: F401
