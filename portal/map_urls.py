from django.urls import path

from portal import views_map

# The map-first search page: /red/mapa/ and its search box's endpoint.
urlpatterns = [
    path("mapa/", views_map.MapView.as_view(), name="map"),
    path("mapa/buscar/", views_map.map_search, name="map_search"),
]
