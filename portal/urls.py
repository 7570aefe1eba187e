from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from portal import views

admin.site.site_header = "Portal de información de la red de distribución"
admin.site.site_title = "Administración de la red"
admin.site.index_title = "Mantención del modelo de red"

network_patterns = (
    [
        path("buscar/", views.LocationSearchView.as_view(), name="search"),
        path("opciones/<str:level>/", views.cascade_options, name="options"),
        path("subestaciones/<int:pk>/", views.SubstationDetailView.as_view(), name="substation"),
        path("alimentadores/<int:pk>/", views.FeederDetailView.as_view(), name="feeder"),
        path(
            "transformadores/<int:pk>/",
            views.TransformerDetailView.as_view(),
            name="transformer",
        ),
        path("transformador/", views.TransformerSearchView.as_view(), name="transformer_search"),
        path("vnr/", views.VnrSearchView.as_view(), name="vnr"),
    ],
    "network",
)

handler404 = "portal.views.not_found"

urlpatterns = [
    path("", views.LandingView.as_view(), name="landing"),
    # Browsers ask for it on pages that name none (the admin's): the site's own icon.
    path(
        "favicon.ico",
        RedirectView.as_view(url=static("img/favicon.svg"), permanent=True),
        name="favicon",
    ),
    path("red/", include(network_patterns)),
    path("red/", include("maps.urls")),
    path("tiles/", include("maps.tiles.urls")),
    path("api/", include("network.api.urls")),
    path("api/rd/", include("metering.api.urls")),
    path("api/regulador/", include("regulator.api_urls")),
    path("api/capacidad/", include("capacity.api_urls")),
    path("medicion/", include("metering.urls")),
    path("calidad-de-servicio/", include("outages.urls")),
    path("", include("customers.urls")),
    path("regulador/", include("regulator.urls")),
    path("cuentas/", include("accounts.urls")),
    path("captcha/", include("captcha.urls")),
    path("admin/", admin.site.urls),
]
