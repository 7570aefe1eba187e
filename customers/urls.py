from django.urls import path

from customers import views

app_name = "customers"

account = [
    ("", views.HomeView, "home"),
    ("cuenta-explicada/", views.ExplainedView, "explained"),
    ("documentos/", views.DocumentsView, "documents"),
    ("inyecciones/", views.InjectionsView, "injections"),
    ("historial/", views.HistoryView, "history"),
    ("remanentes/", views.RemanentesView, "remanentes"),
    ("medidor/", views.MeterView, "meter"),
    ("contrato/", views.ContractView, "contract"),
    ("respuesta-demanda/", views.DemandResponseView, "demand_response"),
    ("mis-datos/", views.DataView, "data"),
]

urlpatterns = [
    path("mi-cuenta/", views.my_account, name="mine"),
    path("clientes/", views.CustomerSearchView.as_view(), name="search"),
    path("registro-de-accesos/", views.AccessLogView.as_view(), name="access_log"),
    *[path(f"clientes/<int:pk>/{p}", view.as_view(), name=name) for p, view, name in account],
    path(
        "clientes/<int:pk>/documentos/<int:document>/pdf/",
        views.DocumentPdf.as_view(),
        name="document_pdf",
    ),
    path(
        "clientes/<int:pk>/contrato/<slug:document>/pdf/",
        views.ContractPdf.as_view(),
        name="contract_pdf",
    ),
    path(
        "clientes/<int:pk>/mis-datos/lecturas.csv",
        views.DataDownload.as_view(fmt="readings"),
        name="data_readings",
    ),
    path(
        "clientes/<int:pk>/mis-datos/facturacion.csv",
        views.DataDownload.as_view(fmt="bills"),
        name="data_bills",
    ),
    path(
        "clientes/<int:pk>/mis-datos/green-button.xml",
        views.DataDownload.as_view(fmt="espi"),
        name="data_espi",
    ),
]
