from __future__ import annotations

from django.urls import path

from geo import views_kmz

# KMZ feeder plans: /red/alimentadores/<pk>/plano.kmz
urlpatterns = [
    path("alimentadores/<int:pk>/plano.kmz", views_kmz.feeder_kmz, name="feeder_kmz"),
]
