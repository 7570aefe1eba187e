"""The capacity API, mounted at /api/capacidad/ (namespace "capacity-api")."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from capacity import api

app_name = "capacity-api"

router = SimpleRouter()
router.register("postes", api.PoleCapacityViewSet, basename="pole")

urlpatterns = [
    path("alimentadores/<int:pk>/", api.FeederCapacityView.as_view(), name="feeder"),
    path("descarga/", api.CapacityDownloadView.as_view(), name="download"),
    *router.urls,
]
