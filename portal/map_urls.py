from django.urls import path  # noqa: F401

# The map-first search page: /red/mapa/
urlpatterns: list = []
