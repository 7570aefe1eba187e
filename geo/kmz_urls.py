from django.urls import path  # noqa: F401

# KMZ feeder plans: /red/alimentadores/<pk>/plano.kmz
urlpatterns: list = []
