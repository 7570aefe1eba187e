from django.urls import path

from maps import views

app_name = "maps"
# Mounted at /red/: the map-first search page, its search box, and the feeders' KMZ plans.
urlpatterns = [
    path("mapa/", views.MapView.as_view(), name="map"),
    path("mapa/buscar/", views.map_search, name="search"),
    path("alimentadores/<int:pk>/plano.kmz", views.feeder_kmz, name="feeder_kmz"),
]
