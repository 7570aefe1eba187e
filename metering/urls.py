from django.urls import path

from metering import curve_views, views

app_name = "metering"
urlpatterns = [
    path("balances/", views.MonitoringView.as_view(), name="monitoring"),
    path("vee/", views.VeeListView.as_view(), name="vee"),
    path("vee/<str:serial>/<str:day>/", views.VeeDayView.as_view(), name="vee_day"),
    path("respaldo/", views.BackupView.as_view(), name="backup"),
    path("virtuales/", views.VirtualMetersView.as_view(), name="virtual"),
    path("tareas/", views.TasksView.as_view(), name="tasks"),
    path("cargas/", views.IngestRunsView.as_view(), name="ingest_runs"),
    path("cargas/<int:pk>/", views.IngestRunView.as_view(), name="ingest_run"),
    path("cargas/<int:pk>/informe.csv", views.ingest_report, name="ingest_report"),
    path("mensajes-dr/", views.DrMessagesView.as_view(), name="dr_messages"),
    path("reportes/", views.ReportsView.as_view(), name="reports"),
    path("reportes/esquema.xsd", views.report_schema, name="report_schema"),
    path("reportes/<int:pk>/", views.ReportView.as_view(), name="report"),
    path(
        "reportes/<int:pk>/reporte.<str:extension>",
        views.report_download,
        name="report_download",
    ),
    path("curvas/medidor/", curve_views.MeterCurvesView.as_view(), name="meter_curves"),
    path("curvas/grupo/", curve_views.GroupCurvesView.as_view(), name="group_curves"),
]
