from django.apps import AppConfig


class VnrConfig(AppConfig):
    name = "vnr"
    verbose_name = "Códigos VNR"
