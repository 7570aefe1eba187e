from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse

pytestmark = pytest.mark.django_db

RESET = "/cuentas/clave/olvido/"
NEW_PASSWORD = "Subestacion-Norte-77"
LINK = re.compile(r"https?://testserver(/cuentas/\S+/)")


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def reset_link(client, email: str) -> str:
    response = client.post(RESET, {"email": email})
    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    return LINK.search(mail.outbox[0].body).group(1)


def test_the_reset_page_asks_for_the_email_in_spanish(client):
    response = client.get(RESET)
    assert response.status_code == 200
    content = response.content.decode()
    assert '<label for="id_email">Correo electrónico</label>' in content
    assert "ENVIAR ENLACE" in content


def test_a_reset_email_in_spanish_carries_a_link_under_cuentas(client, public_user):
    link = reset_link(client, public_user.email)
    message = mail.outbox[0]
    assert message.to == [public_user.email]
    assert message.subject == "Restablecer su clave · Plataforma de información pública"
    assert "Recibimos una solicitud para restablecer la clave" in message.body
    assert public_user.username in message.body
    assert "Vale por 3 días" in message.body
    assert link.startswith("/cuentas/clave/restablecer/")


def test_the_email_is_found_whatever_its_case(client, public_user):
    reset_link(client, public_user.email.upper())


def test_following_the_link_lets_the_user_set_a_new_password_and_log_in(client, public_user):
    link = reset_link(client, public_user.email)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert '<label for="id_new_password1">Clave nueva</label>' in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == reverse("password_reset_complete")
    public_user.refresh_from_db()
    assert public_user.check_password(NEW_PASSWORD)
    assert "Clave restablecida" in client.get(response["Location"]).content.decode()
    login = client.post(
        reverse("login"), {"username": public_user.username, "password": NEW_PASSWORD}
    )
    assert login.status_code == 302


def test_a_used_link_does_not_work_twice(client, public_user):
    link = reset_link(client, public_user.email)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    response = client.get(link, follow=True)
    assert response.status_code == 200
    assert "El enlace no es válido" in response.content.decode()


def test_the_new_password_follows_the_password_rules(client, public_user):
    link = reset_link(client, public_user.email)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": "12345678", "new_password2": "12345678"})
    assert response.status_code == 200
    assert "completamente numérica" in response.content.decode()
    public_user.refresh_from_db()
    assert not public_user.check_password("12345678")


def test_an_unknown_email_gets_the_same_page_and_no_message(client, public_user):
    response = client.post(RESET, {"email": "nadie@example.cl"}, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [(reverse("password_reset_done"), 302)]
    assert "Si el correo ingresado corresponde a una cuenta" in response.content.decode()
    assert mail.outbox == []


def test_an_invalid_email_gets_a_message_on_the_same_page(client):
    response = client.post(RESET, {"email": "sin-arroba"})
    assert response.status_code == 200
    assert "Ingrese un correo electrónico válido" in response.content.decode()


def test_setting_a_new_password_lifts_a_login_lockout(client, public_user):
    for _ in range(5):
        client.post(reverse("login"), {"username": public_user.username, "password": "mala"})
    assert AccessAttempt.objects.filter(username=public_user.username).exists()
    link = reset_link(client, public_user.email)
    set_url = client.get(link, follow=True).redirect_chain[-1][0]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert not AccessAttempt.objects.filter(username=public_user.username).exists()
    login = client.post(
        reverse("login"), {"username": public_user.username, "password": NEW_PASSWORD}
    )
    assert login.status_code == 302


def test_a_logged_in_user_changes_the_password(client, public_user):
    client.force_login(public_user)
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert '<label for="id_old_password">Clave actual</label>' in page.content.decode()
    response = client.post(
        reverse("password_change"),
        {
            "old_password": "clave-segura-123",
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response["Location"] == reverse("password_change_done")
    public_user.refresh_from_db()
    assert public_user.check_password(NEW_PASSWORD)
    assert client.get(response["Location"]).status_code == 200


def test_a_wrong_current_password_is_refused_on_the_same_page(client, public_user):
    client.force_login(public_user)
    response = client.post(
        reverse("password_change"),
        {"old_password": "no", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "La clave actual no es correcta." in response.content.decode()


def test_changing_the_password_needs_a_login(client):
    response = client.get(reverse("password_change"))
    assert response["Location"].startswith(reverse("login"))


def test_the_admin_keeps_its_own_password_change_page(admin_client):
    response = admin_client.get(reverse("admin:password_change"))
    assert response.status_code == 200
    assert "admin/base" in " ".join(t.name for t in response.templates if t.name)
