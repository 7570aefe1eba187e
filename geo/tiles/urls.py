from django.urls import path  # noqa: F401

# Vector tiles: /tiles/<layer>/<z>/<x>/<y>.mvt (see geo/tiles).
urlpatterns: list = []
