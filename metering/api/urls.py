"""Demand response JSON API (metering.api.views), mounted at /api/rd/ (namespace "dr")."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from metering.api import views

app_name = "dr"

router = SimpleRouter()
router.register("programas", views.ProgramViewSet, basename="program")
router.register("eventos", views.EventViewSet, basename="event")
router.register("estados", views.TargetViewSet, basename="target")
router.register("mensajes", views.MessageViewSet, basename="message")

urlpatterns = [
    path("participacion/", views.ParticipationView.as_view(), name="participation"),
    *router.urls,
]
