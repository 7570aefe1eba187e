from django.apps import AppConfig


class NetworkConfig(AppConfig):
    name = "network"
    verbose_name = "Red"

    def ready(self) -> None:
        from core import jobs
        from network import handlers  # noqa: F401  (connects the receivers)
        from network.jobs import KIND

        jobs.register(KIND)
