"""REST API of the network model, mounted at /api/ (namespace "api")."""

from __future__ import annotations

from django.urls import path
from rest_framework.routers import SimpleRouter

from network.api import views

app_name = "api"

router = SimpleRouter()
router.register("regions", views.RegionViewSet, basename="region")
router.register("comunas", views.ComunaViewSet, basename="comuna")
router.register("substations", views.SubstationViewSet, basename="substation")
router.register("feeders", views.FeederViewSet, basename="feeder")
router.register("spans", views.SpanViewSet, basename="span")
router.register("poles", views.PoleViewSet, basename="pole")
router.register("equipment", views.EquipmentViewSet, basename="equipment")
router.register("transformers", views.TransformerViewSet, basename="transformer")
router.register("demands", views.MonthlyDemandViewSet, basename="demand")
router.register("vnr-codes", views.VnrCodeViewSet, basename="vnr-code")
router.register("customers", views.CustomerViewSet, basename="customer")

urlpatterns = [
    path("grids/location/", views.LocationGridView.as_view(), name="grid-location"),
    path(
        "grids/feeders/<int:pk>/assets/",
        views.FeederAssetGridView.as_view(),
        name="grid-feeder-assets",
    ),
    path("token/", views.TokenView.as_view(), name="token"),
    path("schema/", views.SchemaView.as_view(), name="schema"),
    path("docs/", views.DocsView.as_view(), name="docs"),
    *router.urls,
]
