from django.apps import AppConfig
from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_migrate, post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Cuentas y perfiles"

    def ready(self) -> None:
        from accounts.services import ensure_groups, revoke_api_tokens_on_password_change

        # After every app's migrations: the group needs the permissions of apps that follow.
        post_migrate.connect(ensure_groups, dispatch_uid="accounts.ensure_groups")
        user_logged_in.connect(_limit_session, dispatch_uid="accounts.limit_session")
        # On the model, not the password views: every way of setting a password revokes.
        post_save.connect(
            revoke_api_tokens_on_password_change,
            sender=settings.AUTH_USER_MODEL,
            dispatch_uid="accounts.revoke_api_tokens_on_password_change",
        )


def _limit_session(sender, request, user, **kwargs) -> None:
    """SEC, customer and staff sessions end with the browser and after the idle time
    (accounts.middleware); public sessions keep SESSION_COOKIE_AGE."""
    from accounts.middleware import idle_limited, start_idle_limit

    if request is not None and hasattr(request, "session") and idle_limited(user):
        start_idle_limit(request)
