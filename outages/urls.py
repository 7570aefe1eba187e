from django.urls import path

from outages import views

app_name = "outages"
urlpatterns = [
    path("", views.IndicesView.as_view(), name="indices"),
    path("eventos/", views.EventListView.as_view(), name="events"),
    path("eventos/<int:pk>/", views.EventDetailView.as_view(), name="event"),
]
