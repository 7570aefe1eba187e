"""Demand response JSON API (metering.api.dr), mounted at /api/rd/ (namespace "dr")."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from metering.api import dr

app_name = "dr"

router = SimpleRouter()
router.register("programas", dr.ProgramViewSet, basename="program")
router.register("eventos", dr.EventViewSet, basename="event")
router.register("estados", dr.TargetViewSet, basename="target")
router.register("mensajes", dr.MessageViewSet, basename="message")

urlpatterns = [
    path("participacion/", dr.ParticipationView.as_view(), name="participation"),
    *router.urls,
]
