"""API tokens (django-rest-knox): issued to a logged-in user, they expire, sooner for SEC, and
a new password revokes them, whichever way it was set."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.services import revoke_api_tokens
from tests.network.api_helpers import list_url, ok

pytestmark = pytest.mark.django_db

TOKEN = reverse("api:token")
PASSWORD = "clave-segura-123"  # the personas'
NEW_PASSWORD = "Subestacion-Norte-77"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def with_token(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def issue(client) -> tuple[str, timedelta]:
    body = ok(client.post(TOKEN))
    return body["token"], parse_datetime(body["expiry"]) - timezone.now()


def reads(key: str) -> bool:
    return with_token(key).get(list_url("regions")).status_code == 200


def test_rest_framework_authtoken_is_gone():
    assert "knox" in django_settings.INSTALLED_APPS
    assert "rest_framework.authtoken" not in django_settings.INSTALLED_APPS
    # The token first: its WWW-Authenticate header makes the refusals 401.
    assert django_settings.REST_FRAMEWORK["DEFAULT_AUTHENTICATION_CLASSES"] == [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]


def test_a_logged_in_user_gets_a_token_that_expires_after_api_token_hours(public_client):
    key, lifetime = issue(public_client)
    assert reads(key)
    assert timedelta(hours=10) - timedelta(minutes=1) < lifetime <= timedelta(hours=10)
    # Stored as a digest only: the key itself is nowhere in the database.
    assert not AuthToken.objects.filter(digest=key).exists()


def test_the_lifetimes_are_settings_and_sec_tokens_live_shorter(
    client, public_user, sec_user, settings
):
    settings.API_TOKEN_HOURS, settings.API_TOKEN_HOURS_SEC = 6, 1
    client.force_login(public_user)
    assert timedelta(hours=6) - timedelta(minutes=1) < issue(client)[1] <= timedelta(hours=6)
    client.force_login(sec_user)
    assert timedelta(minutes=59) < issue(client)[1] <= timedelta(hours=1)


def test_the_default_sec_lifetime_is_two_hours(client, sec_user):
    client.force_login(sec_user)
    assert timedelta(minutes=119) < issue(client)[1] <= timedelta(hours=2)


def test_an_expired_token_is_refused(public_client):
    key, _ = issue(public_client)
    AuthToken.objects.update(expiry=timezone.now() - timedelta(seconds=1))
    # 401 with the scheme to use: the client knows to get a new token (not "forbidden").
    response = with_token(key).get(list_url("regions"))
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"


def test_each_request_gets_a_new_token_and_the_old_ones_keep_working(public_client):
    first, second = issue(public_client)[0], issue(public_client)[0]
    assert first != second and reads(first) and reads(second)


def test_a_token_cannot_issue_another_token(public_client):
    key, _ = issue(public_client)
    response = with_token(key).post(TOKEN)
    assert response.status_code == 403
    assert "inicie sesión" in response.json()["detail"]
    assert AuthToken.objects.count() == 1


def test_anonymous_visitors_get_no_token(client):
    response = client.post(TOKEN)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Token"
    assert not AuthToken.objects.exists()


def test_delete_revokes_every_token_of_the_user(public_client, sec_user):
    mine = [issue(public_client)[0] for _ in range(2)]
    _, theirs = AuthToken.objects.create(user=sec_user)
    assert with_token(mine[0]).delete(TOKEN).status_code == 204
    assert not any(reads(key) for key in mine)
    assert reads(theirs)


def test_changing_the_password_on_its_page_revokes_the_tokens(public_client, public_user):
    key, _ = issue(public_client)
    response = public_client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response["Location"] == reverse("password_change_done")
    assert not reads(key)
    assert reads(issue(public_client)[0])  # the session stays, and can ask again


def test_resetting_the_password_by_email_revokes_the_tokens(client, public_user):
    _, key = AuthToken.objects.create(user=public_user)
    client.post(reverse("password_reset"), {"email": public_user.email})
    link = mail.outbox[0].body.split("http://testserver", 1)[1].split()[0]
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == reverse("password_reset_complete")
    assert not reads(key)


def test_a_password_set_anywhere_else_revokes_the_tokens_too(public_user):
    _, key = AuthToken.objects.create(user=public_user)
    public_user.set_password(NEW_PASSWORD)  # the admin, `changepassword`, customer service
    public_user.save()
    assert not reads(key)


def test_saving_the_user_without_a_new_password_keeps_the_tokens(public_user):
    _, key = AuthToken.objects.create(user=public_user)
    public_user.first_name = "Ana"
    public_user.save()
    assert reads(key)


def test_a_rehash_of_the_same_password_on_login_keeps_the_tokens(client, public_user, settings):
    _, key = AuthToken.objects.create(user=public_user)
    # Another hasher first: the login upgrades the stored hash, the password stays the same.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    login = {"username": public_user.username, "password": PASSWORD}
    assert client.post(reverse("login"), login).status_code == 302
    public_user.refresh_from_db()
    assert public_user.password.startswith("scrypt$")
    assert reads(key)


def test_revoke_api_tokens_says_how_many_it_deleted(public_user):
    AuthToken.objects.create(user=public_user)
    AuthToken.objects.create(user=public_user)
    assert revoke_api_tokens(public_user) == 2
    assert revoke_api_tokens(public_user) == 0


def test_the_schema_documents_the_token_and_its_expiry(tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    token_schema = text.split("    ApiToken:", 1)[1].split("\n    A", 1)[0]
    assert "token:" in token_schema and "expiry:" in token_schema
    assert "format: date-time" in token_schema
