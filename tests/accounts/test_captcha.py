from __future__ import annotations

import re
from unittest import mock
from urllib.error import URLError

import pytest
from captcha.models import CaptchaStore
from django.conf import settings as django_settings
from django.urls import reverse

from accounts.forms import OfflineCaptchaField, RegistrationForm
from accounts.models import User

pytestmark = pytest.mark.django_db

URL = "/cuentas/registro/"
PASSWORD = "Transformador-2024"
HIDDEN_KEY = re.compile(r'name="captcha_0" value="(\w+)"')


def data(**overrides) -> dict[str, str]:
    return {
        "username": "ingeniera",
        "email": "ingeniera@pmgd.cl",
        "rut": "7.654.321-6",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }


def challenge_on(page: str) -> CaptchaStore:
    return CaptchaStore.objects.get(hashkey=HIDDEN_KEY.search(page).group(1))


def test_the_offline_captcha_is_the_default(settings):
    assert settings.CAPTCHA_BACKEND == "simple"
    assert isinstance(RegistrationForm().fields["captcha"], OfflineCaptchaField)


def test_a_person_who_reads_the_image_registers_without_test_mode(client, settings):
    settings.CAPTCHA_TEST_MODE = False
    store = challenge_on(client.get(URL).content.decode())
    response = client.post(URL, data(captcha_0=store.hashkey, captcha_1=store.response.upper()))
    assert response.status_code == 302
    assert User.objects.filter(username="ingeniera").exists()
    # A challenge serves once.
    assert not CaptchaStore.objects.filter(hashkey=store.hashkey).exists()


def test_a_wrong_reading_is_refused_and_a_new_image_is_drawn(client, settings):
    settings.CAPTCHA_TEST_MODE = False
    store = challenge_on(client.get(URL).content.decode())
    response = client.post(URL, data(captcha_0=store.hashkey, captcha_1="zzzzz"))
    assert response.status_code == 200
    content = response.content.decode()
    assert "El código de verificación no coincide." in content
    assert challenge_on(content).hashkey != store.hashkey
    assert not User.objects.exists()


def test_test_mode_answer_is_refused_when_test_mode_is_off(client, settings):
    settings.CAPTCHA_TEST_MODE = False
    store = challenge_on(client.get(URL).content.decode())
    response = client.post(URL, data(captcha_0=store.hashkey, captcha_1="passed"))
    assert response.status_code == 200
    assert "El código de verificación no coincide." in response.content.decode()
    assert not User.objects.exists()


def test_an_expired_or_unknown_challenge_is_refused(client, settings):
    settings.CAPTCHA_TEST_MODE = False
    response = client.post(URL, data(captcha_0="no-existe", captcha_1="abcde"))
    assert response.status_code == 200
    assert "El código de verificación no coincide." in response.content.decode()


def test_the_captcha_image_is_served_by_our_own_server(client):
    content = client.get(URL).content.decode()
    store = challenge_on(content)
    image_url = reverse("captcha-image", kwargs={"key": store.hashkey})
    assert f'src="{image_url}"' in content
    for url in (image_url, reverse("captcha-image-2x", kwargs={"key": store.hashkey})):
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Type"] == "image/png"
        assert response.content.startswith(b"\x89PNG")


def test_the_captcha_has_a_label_a_description_and_a_button_for_another_image(client):
    content = client.get(URL).content.decode()
    assert '<label for="id_captcha_1">Código de verificación</label>' in content
    assert 'alt="Imagen con el código de verificación"' in content
    assert 'aria-describedby="id_captcha_helptext"' in content
    assert 'data-captcha-refresh="/captcha/refresh/"' in content
    assert "Otra imagen" in content
    # Nothing is loaded from another host.
    assert "google.com" not in content
    assert "gstatic" not in content


def test_another_image_comes_from_our_server(client):
    response = client.get(
        reverse("captcha-refresh"), headers={"X-Requested-With": "XMLHttpRequest"}
    )
    assert response.status_code == 200
    new = response.json()
    assert CaptchaStore.objects.filter(hashkey=new["key"]).exists()
    assert client.get(new["image_url"])["Content-Type"] == "image/png"


def test_the_spoken_code_link_appears_only_when_the_server_can_speak(client):
    # No speech synthesiser (flite) is configured in development: no dead audio link.
    assert "Escuchar el código" not in client.get(URL).content.decode()


@pytest.fixture
def recaptcha(settings):
    """As settings.py does when CAPTCHA_BACKEND=recaptcha: the backend plus its app."""
    settings.INSTALLED_APPS = [*django_settings.INSTALLED_APPS, "django_recaptcha"]
    settings.CAPTCHA_BACKEND = "recaptcha"


def test_recaptcha_is_used_when_the_setting_selects_it(settings):
    from django_recaptcha.fields import ReCaptchaField

    settings.CAPTCHA_BACKEND = "recaptcha"
    field = RegistrationForm().fields["captcha"]
    assert isinstance(field, ReCaptchaField)
    assert field.label == "Código de verificación"


def test_an_unknown_captcha_backend_is_a_configuration_error(settings):
    settings.CAPTCHA_BACKEND = "ninguno"
    with pytest.raises(ValueError, match="CAPTCHA_BACKEND"):
        RegistrationForm()


def test_a_refused_recaptcha_gets_a_message_on_the_same_page(client, recaptcha):
    from django_recaptcha.client import RecaptchaResponse

    refused = RecaptchaResponse(is_valid=False, error_codes=["invalid-input-response"])
    with mock.patch("django_recaptcha.fields.client.submit", return_value=refused):
        response = client.post(URL, data(**{"g-recaptcha-response": "token"}))
    assert response.status_code == 200
    assert "No se pudo verificar que usted no es un robot." in response.content.decode()
    assert not User.objects.exists()


def test_recaptcha_unreachable_gets_a_message_instead_of_a_server_error(client, recaptcha):
    with mock.patch("django_recaptcha.fields.client.submit", side_effect=URLError("sin conexión")):
        response = client.post(URL, data(**{"g-recaptcha-response": "token"}))
    assert response.status_code == 200
    assert "No fue posible comprobar el código de verificación." in response.content.decode()
    assert not User.objects.exists()


def test_an_accepted_recaptcha_registers_the_user(client, recaptcha):
    from django_recaptcha.client import RecaptchaResponse

    with mock.patch(
        "django_recaptcha.fields.client.submit", return_value=RecaptchaResponse(is_valid=True)
    ):
        response = client.post(URL, data(**{"g-recaptcha-response": "token"}))
    assert response.status_code == 302
    assert User.objects.get(username="ingeniera").rut == "7654321-6"


def test_the_registration_page_shows_googles_widget_in_spanish(client, recaptcha):
    content = client.get(URL).content.decode()
    assert "g-recaptcha" in content
    assert "hl=es-419" in content
