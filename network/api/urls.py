from django.urls import path  # noqa: F401

# REST API of the network model (see network/api).
urlpatterns: list = []
