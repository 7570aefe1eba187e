from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils.html import strip_tags

pytestmark = pytest.mark.django_db

LOGIN = "/cuentas/ingresar/"
PASSWORD = "clave-segura-123"  # the public_user fixture's


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    # Dozens of logins per test: the production hasher's cost would only slow the suite.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def attempt(client, username: str, password: str, **extra):
    return client.post(LOGIN, {"username": username, "password": password}, **extra)


def text(response) -> str:
    return " ".join(strip_tags(response.content.decode()).split())


def test_login_page_has_the_annex_labels_button_note_and_links(client):
    response = client.get(LOGIN)
    assert response.status_code == 200
    content = response.content.decode()
    assert '<label for="id_username">Nombre de usuario</label>' in content
    assert '<label for="id_password">Clave</label>' in content
    assert ">INGRESAR</button>" in content
    assert (
        "* En caso de no contar con usuario debe registrarse para acceder a la información "
        "general." in text(response)
    )
    assert f'href="{reverse("register")}"' in content
    assert f'<a href="{reverse("password_reset")}">¿Olvidó su clave?</a>' in content


def test_login_urls_are_the_settings_login_url_under_cuentas(settings):
    assert reverse(settings.LOGIN_URL) == LOGIN
    assert reverse("logout") == "/cuentas/salir/"


def test_a_registered_user_logs_in_and_lands_on_the_search(client, public_user):
    response = attempt(client, public_user.username, PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == reverse("network:search")
    assert client.session["_auth_user_id"] == str(public_user.pk)


def test_login_goes_back_to_the_page_that_asked_for_it(client, public_user):
    response = client.post(
        LOGIN + "?next=/red/vnr/",
        {"username": public_user.username, "password": PASSWORD, "next": "/red/vnr/"},
    )
    assert response["Location"] == "/red/vnr/"


def test_the_login_page_keeps_the_page_asked_for_and_passes_it_to_registration(client):
    content = client.get(LOGIN + "?next=/red/vnr/").content.decode()
    assert '<input type="hidden" name="next" value="/red/vnr/">' in content
    assert f'href="{reverse("register")}?next=/red/vnr/"' in content


def test_a_wrong_password_gets_a_clear_message_on_the_same_page(client, public_user):
    response = attempt(client, public_user.username, "otra-clave")
    assert response.status_code == 200
    assert "Nombre de usuario o clave incorrectos." in response.content.decode()
    assert 'role="alert"' in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_empty_fields_get_spanish_messages(client):
    response = client.post(LOGIN, {})
    assert response.status_code == 200
    assert "Este campo es obligatorio." in response.content.decode()


def test_an_inactive_account_cannot_log_in(client, public_user):
    public_user.is_active = False
    public_user.save()
    response = attempt(client, public_user.username, PASSWORD)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_a_logged_in_user_visiting_the_login_goes_to_the_search(client, public_user):
    client.force_login(public_user)
    response = client.get(LOGIN)
    assert response["Location"] == reverse("network:search")


def test_logout_is_a_post_and_returns_to_the_landing_page(client, public_user):
    client.force_login(public_user)
    assert client.get("/cuentas/salir/").status_code == 405
    assert "_auth_user_id" in client.session
    response = client.post("/cuentas/salir/")
    assert response.status_code == 302
    assert response["Location"] == reverse("landing")
    assert "_auth_user_id" not in client.session


def test_network_pages_send_anonymous_visitors_to_the_login(client):
    response = client.get(reverse("network:search"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN + "?next=")


class TestThrottling:
    """django-axes: AXES_FAILURE_LIMIT failures for one username from one address lock it."""

    def fail(self, client, username: str, times: int, **extra) -> list[int]:
        return [
            attempt(client, username, "no-es-la-clave", **extra).status_code for _ in range(times)
        ]

    def test_five_failures_lock_the_username_even_for_the_right_password(
        self, client, public_user, settings
    ):
        assert settings.AXES_FAILURE_LIMIT == 5
        # The fifth failure already answers with the lockout page.
        assert self.fail(client, public_user.username, 5) == [200, 200, 200, 200, 429]
        response = attempt(client, public_user.username, PASSWORD)
        assert response.status_code == 429
        assert "accounts/lockout.html" in [t.name for t in response.templates]
        assert "_auth_user_id" not in client.session

    def test_the_lockout_page_says_why_and_when_to_retry(self, client, public_user):
        self.fail(client, public_user.username, 5)
        response = attempt(client, public_user.username, PASSWORD)
        page = text(response)
        assert "Ingreso bloqueado temporalmente" in page
        assert "Hubo 5 intentos fallidos" in page
        assert "Podrá intentarlo nuevamente en 15 minutos." in page
        assert reverse("password_reset") in response.content.decode()

    def test_another_username_from_the_same_address_is_not_locked(
        self, client, public_user, django_user_model
    ):
        django_user_model.objects.create_user("otra_persona", "otra@example.cl", "otra-clave-456")
        self.fail(client, public_user.username, 5)
        response = attempt(client, "otra_persona", "otra-clave-456")
        assert response.status_code == 302

    def test_the_same_username_from_another_address_is_not_locked(self, client, public_user):
        self.fail(client, public_user.username, 5)
        response = attempt(client, public_user.username, PASSWORD, REMOTE_ADDR="203.0.113.7")
        assert response.status_code == 302

    def test_failures_are_recorded_by_username_and_address(self, client, public_user):
        self.fail(client, public_user.username, 2)
        attempt_row = AccessAttempt.objects.get()
        assert attempt_row.username == public_user.username
        assert attempt_row.ip_address == "127.0.0.1"
        assert attempt_row.failures_since_start == 2

    def test_a_successful_login_clears_earlier_failures(self, client, public_user):
        assert self.fail(client, public_user.username, 4) == [200] * 4
        assert attempt(client, public_user.username, PASSWORD).status_code == 302
        client.post("/cuentas/salir/")
        assert self.fail(client, public_user.username, 4) == [200] * 4
        assert attempt(client, public_user.username, PASSWORD).status_code == 302

    def test_the_lockout_ends_after_the_cool_off(self, client, public_user, settings):
        self.fail(client, public_user.username, 5)
        assert attempt(client, public_user.username, PASSWORD).status_code == 429
        AccessAttempt.objects.update(attempt_time="2000-01-01T00:00:00Z")
        assert attempt(client, public_user.username, PASSWORD).status_code == 302
