from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.forms import RegistrationForm
from accounts.models import User

pytestmark = pytest.mark.django_db

URL = "/cuentas/registro/"
PASSWORD = "Transformador-2024"


@pytest.fixture(autouse=True)
def captcha_test_mode(settings):
    # "passed" is the accepted captcha answer; the captcha's own tests run without this.
    settings.CAPTCHA_TEST_MODE = True


def data(**overrides) -> dict[str, str]:
    return {
        "username": "consultora_sur",
        "email": "contacto@consultora.cl",
        "rut": "12.345.678-5",
        "password1": PASSWORD,
        "password2": PASSWORD,
        "captcha_0": "any-key",
        "captcha_1": "passed",
        **overrides,
    }


def page_errors(response) -> str:
    """The page's text as a person reads it, for the messages shown near the fields."""
    assert response.status_code == 200
    assert response.templates[0].name == "accounts/register.html"
    return response.content.decode()


def test_registration_page_shows_every_field_of_the_annex_with_a_label(client):
    response = client.get(URL)
    assert response.status_code == 200
    content = response.content.decode()
    for field_id, label in [
        ("id_username", "Nombre de usuario"),
        ("id_email", "Correo electrónico"),
        ("id_rut", "RUT"),
        ("id_password1", "Clave"),
        ("id_password2", "Confirme la clave"),
        ("id_captcha_1", "Código de verificación"),
    ]:
        assert f'<label for="{field_id}">{label}</label>' in content
        assert f'id="{field_id}"' in content
    assert "fines comerciales" in content
    assert "REGISTRARSE" in content


def test_registration_url_is_under_cuentas():
    assert reverse("register") == URL


def test_a_visitor_registers_as_public_user_and_lands_on_the_search(client):
    response = client.post(URL, data())
    assert response.status_code == 302
    assert response["Location"] == reverse("network:search")
    user = User.objects.get(username="consultora_sur")
    assert user.profile == User.Profile.PUBLIC
    assert user.rut == "12345678-5"
    assert user.email == "contacto@consultora.cl"
    assert user.check_password(PASSWORD)
    assert not user.is_staff
    assert client.session["_auth_user_id"] == str(user.pk)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("12345678-5", "12345678-5"), ("123456785", "12345678-5"), ("10000013-k", "10000013-K")],
)
def test_the_rut_is_stored_normalized_however_typed(client, typed, stored):
    assert client.post(URL, data(rut=typed)).status_code == 302
    assert User.objects.get(username="consultora_sur").rut == stored


def test_registration_goes_back_to_the_page_asked_for(client):
    response = client.post(URL + "?next=/red/vnr/", data(next="/red/vnr/"))
    assert response["Location"] == "/red/vnr/"


def test_registration_never_redirects_to_another_site(client):
    response = client.post(URL, data(next="https://malicioso.example/"))
    assert response["Location"] == reverse("network:search")


def test_a_logged_in_user_is_sent_to_the_search_instead_of_registering_again(client, public_user):
    client.force_login(public_user)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("network:search")


def test_a_rut_with_a_wrong_check_digit_is_refused_on_the_same_page(client):
    response = client.post(URL, data(rut="12.345.678-4"))
    content = page_errors(response)
    assert "El RUT no es válido: dígito verificador incorrecto." in content
    assert not User.objects.exists()


def test_a_rut_that_is_not_a_rut_is_refused_on_the_same_page(client):
    content = page_errors(client.post(URL, data(rut="hola")))
    assert "El RUT solo puede contener números" in content
    assert not User.objects.exists()


def test_a_rut_already_registered_in_another_format_is_refused(client, public_user):
    public_user.rut = "12345678-5"
    public_user.save()
    content = page_errors(client.post(URL, data(rut="12.345.678-5")))
    assert "Ya existe una cuenta con este RUT." in content
    assert User.objects.count() == 1


def test_a_taken_username_is_refused_even_in_other_case(client, public_user):
    content = page_errors(client.post(URL, data(username=public_user.username.upper())))
    assert "Ya existe una cuenta con este nombre de usuario." in content
    assert User.objects.count() == 1


def test_a_taken_email_is_refused_even_in_other_case(client, public_user):
    content = page_errors(client.post(URL, data(email="PMGD@Example.CL")))
    assert "Ya existe una cuenta con este correo electrónico." in content
    assert User.objects.count() == 1


def test_the_email_is_required(client):
    content = page_errors(client.post(URL, data(email="")))
    assert "Ingrese su correo electrónico." in content
    assert not User.objects.exists()


def test_an_invalid_email_is_refused(client):
    content = page_errors(client.post(URL, data(email="no-es-correo")))
    assert "Ingrese un correo electrónico válido" in content


def test_a_failed_captcha_is_refused_on_the_same_page(client):
    content = page_errors(client.post(URL, data(captcha_1="incorrecto")))
    assert "El código de verificación no coincide." in content
    assert not User.objects.exists()


def test_a_missing_captcha_answer_is_refused(client):
    content = page_errors(client.post(URL, data(captcha_1="")))
    assert "Escriba el código de verificación." in content
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Ab1-x", "demasiado corta"),
        ("12345678901", "completamente numérica"),
        ("password123", "demasiado común"),
        ("consultora_sur1", "demasiado similar"),
    ],
)
def test_weak_passwords_are_refused_with_the_password_rules(client, password, message):
    content = page_errors(client.post(URL, data(password1=password, password2=password)))
    assert message in content
    assert not User.objects.exists()


def test_two_different_passwords_are_refused(client):
    content = page_errors(client.post(URL, data(password2=PASSWORD + "x")))
    assert "Las dos claves no coinciden." in content
    assert not User.objects.exists()


def test_errors_are_summarised_at_the_top_and_shown_at_their_field(client):
    response = client.post(URL, data(rut="12.345.678-4", captcha_1="mal"))
    content = page_errors(response)
    summary = content.index('role="alert"')
    assert summary < content.index('<label for="id_username">')
    assert '<a href="#id_rut">RUT</a>' in content
    assert '<a href="#id_captcha_1">Código de verificación</a>' in content
    assert 'id="id_rut_error"' in content
    assert 'aria-invalid="true"' in content
    assert 'aria-describedby="id_rut_error id_rut_helptext"' in content or (
        "id_rut_error" in content and "id_rut_helptext" in content
    )
    # What was typed stays, except the passwords.
    assert 'value="consultora_sur"' in content
    assert PASSWORD not in content


def test_an_empty_form_gets_messages_and_no_server_error(client):
    content = page_errors(client.post(URL, {}))
    for message in (
        "Ingrese un nombre de usuario.",
        "Ingrese su correo electrónico.",
        "Ingrese su RUT.",
        "Ingrese una clave.",
        "Escriba el código de verificación.",
    ):
        assert message in content


def test_a_race_on_the_same_rut_shows_a_message_instead_of_a_server_error(
    client, monkeypatch, public_user
):
    # Another registration inserts the same RUT between our check and our insert.
    public_user.rut = "12345678-5"
    public_user.save()
    monkeypatch.setattr(RegistrationForm, "clean_rut", lambda form: form.cleaned_data["rut"])
    monkeypatch.setattr(RegistrationForm, "validate_unique", lambda form: None)
    content = page_errors(client.post(URL, data()))
    assert "Otra persona acaba de registrarse" in content
    assert User.objects.count() == 1
