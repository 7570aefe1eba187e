"""Login throttling by address: LOGIN_FAILURES_PER_ADDRESS failures from one address, with any
usernames, lock the address before any more passwords are hashed
(accounts.services.LoginThrottle)."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.hashers import MD5PasswordHasher
from django.utils.html import strip_tags

pytestmark = pytest.mark.django_db

LOGIN = "/cuentas/ingresar/"
PASSWORD = "clave-segura-123"  # the public_user fixture's
ATTACKER = "198.51.100.9"
ELSEWHERE = "203.0.113.7"


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def hashes():
    """Counts passwords hashed: ModelBackend hashes the typed password for an unknown username
    too (make_password), and MD5PasswordHasher.verify hashes through encode()."""
    with mock.patch.object(
        MD5PasswordHasher, "encode", autospec=True, side_effect=MD5PasswordHasher.encode
    ) as encode:
        yield encode


def attempt(client, username: str, password: str = "no-es-la-clave", address: str = ATTACKER):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address)


def burst(client, times: int) -> list[int]:
    return [attempt(client, f"usuario{n:02d}").status_code for n in range(times)]


def text(response) -> str:
    return " ".join(strip_tags(response.content.decode()).split())


def test_the_address_limit_is_a_setting_well_above_the_username_limit(settings):
    assert settings.LOGIN_FAILURES_PER_ADDRESS == 30
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_a_burst_of_usernames_from_one_address_stops_being_hashed_at_the_limit(client, hashes):
    statuses = burst(client, 50)
    # The 30th failure already answers with the lockout page, as a username's 5th does.
    assert statuses == [200] * 29 + [429] * 21
    assert hashes.call_count == 30


def test_the_address_lockout_page_is_in_spanish_and_names_no_username(client, hashes):
    burst(client, 30)
    response = attempt(client, "usuario99")
    assert response.status_code == 429
    assert "accounts/lockout.html" in [t.name for t in response.templates]
    page = text(response)
    assert "Ingreso bloqueado temporalmente" in page
    assert "Hubo 30 intentos fallidos de ingreso desde esta conexión." in page
    assert "usuario99" not in page
    assert "Podrá intentarlo nuevamente en 15 minutos." in page


def test_the_right_password_from_a_locked_address_is_refused_unhashed(client, public_user, hashes):
    burst(client, 30)
    hashes.reset_mock()
    response = attempt(client, public_user.username, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert hashes.call_count == 0


def test_logins_from_another_address_still_work(client, public_user):
    burst(client, 50)
    response = attempt(client, public_user.username, PASSWORD, address=ELSEWHERE)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(public_user.pk)


def test_below_the_limit_a_real_user_from_the_same_address_logs_in(client, public_user):
    burst(client, 29)
    assert attempt(client, public_user.username, PASSWORD).status_code == 302


def test_the_address_is_free_again_after_the_cool_off(client, public_user, settings):
    burst(client, 30)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get(username="usuario00").attempt_time
        - settings.AXES_COOLOFF_TIME
        - timedelta(seconds=1)
    )
    assert attempt(client, public_user.username, PASSWORD).status_code == 302


def test_the_address_limit_follows_its_setting(client, settings, hashes):
    settings.LOGIN_FAILURES_PER_ADDRESS = 8
    assert burst(client, 12) == [200] * 7 + [429] * 5
    assert hashes.call_count == 8


def test_the_username_lockout_page_still_names_the_username(client, public_user):
    statuses = [attempt(client, public_user.username).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    page = text(attempt(client, public_user.username, PASSWORD))
    assert f"Hubo 5 intentos fallidos de ingreso con el usuario «{public_user.username}»" in page
