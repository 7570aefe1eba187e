from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

# No namespace: Django's auth views and settings.LOGIN_URL reverse these plain names.
urlpatterns = [
    path("ingresar/", views.LoginView.as_view(), name="login"),
    path("salir/", auth_views.LogoutView.as_view(), name="logout"),
    path("registro/", views.RegisterView.as_view(), name="register"),
    path("registro/enviado/", views.RegisterDoneView.as_view(), name="register_done"),
    path("activar/<uidb64>/<token>/", views.ActivateView.as_view(), name="activate"),
    path("clave/olvido/", views.PasswordResetView.as_view(), name="password_reset"),
    path(
        "clave/olvido/enviado/",
        views.PasswordResetDoneView.as_view(),
        name="password_reset_done",
    ),
    path(
        "clave/restablecer/<uidb64>/<token>/",
        views.PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path(
        "clave/restablecida/",
        views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path("clave/cambiar/", views.PasswordChangeView.as_view(), name="password_change"),
    path(
        "clave/cambiada/",
        views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
]
