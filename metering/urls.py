from django.urls import path

from metering import views

app_name = "metering"
urlpatterns = [
    path("balances/", views.MonitoringView.as_view(), name="monitoring"),
    path("curvas/medidor/", views.MeterCurvesView.as_view(), name="meter_curves"),
    path("curvas/grupo/", views.GroupCurvesView.as_view(), name="group_curves"),
]
