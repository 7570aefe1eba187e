"""SEC, customer and staff sessions end with the browser and after SESSION_IDLE_MINUTES of
inactivity; public sessions keep the two-week cookie."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session

from accounts.middleware import IDLE_KEY

pytestmark = pytest.mark.django_db

LOGIN = "/cuentas/ingresar/"
PAGE = "/red/buscar/"
PASSWORD = "clave-segura-123"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def log_in(client, user):
    user.set_password(PASSWORD)
    user.save()
    response = client.post(LOGIN, {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return response.cookies[settings.SESSION_COOKIE_NAME]


def age_session(client, seconds: int) -> None:
    session = client.session
    session[IDLE_KEY] -= seconds
    session.save()


@pytest.mark.parametrize("persona", ["sec_user", "planner"])
def test_a_sec_or_staff_login_gets_a_browser_session_cookie(client, persona, request):
    cookie = log_in(client, request.getfixturevalue(persona))
    assert cookie["expires"] == "" and cookie["max-age"] == ""
    assert client.session.get_expire_at_browser_close()
    assert client.session[IDLE_KEY] == pytest.approx(time.time(), abs=5)


def test_customer_logins_get_a_browser_session_cookie(client, client_user, eg_user):
    for user in (client_user, eg_user):
        client.logout()
        cookie = log_in(client, user)
        assert cookie["max-age"] == ""
        assert IDLE_KEY in client.session


def test_a_public_login_keeps_the_two_week_cookie(client, public_user, settings):
    cookie = log_in(client, public_user)
    assert cookie["max-age"] == settings.SESSION_COOKIE_AGE == 14 * 24 * 3600
    assert IDLE_KEY not in client.session
    assert not client.session.get_expire_at_browser_close()


def test_an_idle_sec_session_is_logged_out_and_sent_to_the_login_page(client, sec_user, settings):
    settings.SESSION_IDLE_MINUTES = 30
    log_in(client, sec_user)
    age_session(client, 31 * 60)

    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert SESSION_KEY not in client.session
    follow = client.get(response["Location"])
    assert "Su sesión terminó por inactividad" in follow.content.decode()


def test_activity_within_the_idle_time_keeps_the_session(client, sec_user, settings):
    settings.SESSION_IDLE_MINUTES = 30
    log_in(client, sec_user)
    age_session(client, 29 * 60)
    assert client.get(PAGE).status_code == 200
    # The request refreshed the clock: another 29 minutes later the session still lives.
    assert client.session[IDLE_KEY] == pytest.approx(time.time(), abs=5)
    age_session(client, 29 * 60)
    assert client.get(PAGE).status_code == 200


def test_the_clock_is_written_at_most_once_a_minute(client, sec_user):
    log_in(client, sec_user)
    key = client.session.session_key
    stored = Session.objects.get(pk=key).session_data
    for _ in range(3):
        assert client.get(PAGE).status_code == 200
    assert Session.objects.get(pk=key).session_data == stored  # no write per request

    age_session(client, 61)
    stored = Session.objects.get(pk=key).session_data
    client.get(PAGE)
    assert Session.objects.get(pk=key).session_data != stored


def test_an_idle_public_session_is_not_logged_out(client, public_user, monkeypatch):
    log_in(client, public_user)
    later = time.time() + 24 * 3600
    monkeypatch.setattr("accounts.middleware.time", type("Clock", (), {"time": lambda: later}))
    response = client.get(PAGE)
    assert response.status_code == 200
    assert int(client.session[SESSION_KEY]) == public_user.pk


def test_the_api_answers_an_idle_session_as_unauthenticated(client, sec_user):
    log_in(client, sec_user)
    age_session(client, 31 * 60)
    response = client.get("/api/substations/")
    assert response.status_code in (401, 403)
