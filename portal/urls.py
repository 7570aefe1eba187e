from django.contrib import admin
from django.urls import path
from django.views.generic import TemplateView

admin.site.site_header = "Portal de información de la red de distribución"
admin.site.site_title = "Administración de la red"
admin.site.index_title = "Mantención del modelo de red"

urlpatterns = [
    path("", TemplateView.as_view(template_name="portal/landing.html"), name="landing"),
    path("admin/", admin.site.urls),
]
