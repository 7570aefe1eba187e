"""The pull API for SEC (regulator/api.py), mounted at /api/regulador/."""

from django.urls import path, re_path

from regulator import api

app_name = "regulator-api"
urlpatterns = [
    path("lotes/", api.BatchListView.as_view(), name="batches"),
    path("lotes/<int:number>/manifiesto", api.ManifestView.as_view(), name="manifest"),
    re_path(
        r"^lotes/(?P<number>\d+)/archivos/(?P<name>[a-z_]+-[0-9-]+\.(?:jsonl|csv)\.gz)$",
        api.FileView.as_view(),
        name="file",
    ),
    path("lotes/<int:number>/acuse", api.AcknowledgementView.as_view(), name="acknowledge"),
]
