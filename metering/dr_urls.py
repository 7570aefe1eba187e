"""Demand response JSON API (metering.api.dr)."""

from django.urls import path  # noqa: F401

app_name = "dr"
urlpatterns: list = []
