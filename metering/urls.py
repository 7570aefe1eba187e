from django.urls import path

from metering import views

app_name = "metering"
urlpatterns = [path("balances/", views.MonitoringView.as_view(), name="monitoring")]
