from django.urls import path

from regulator import views

app_name = "regulator"
urlpatterns = [
    path("volumen/", views.VolumeView.as_view(), name="volume"),
    path("entregas/", views.DeliveriesView.as_view(), name="deliveries"),
    path("esquemas/v1/", views.schemas, name="schemas"),
    path("esquemas/v1/<slug:name>.schema.json", views.schema, name="schema"),
]
