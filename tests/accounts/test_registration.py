from __future__ import annotations

import re
import smtplib
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts import forms
from accounts.models import User

pytestmark = pytest.mark.django_db

URL = "/cuentas/registro/"
DONE = "/cuentas/registro/enviado/"
PASSWORD = "Transformador-2024"
LINK = re.compile(r"https?://\S+/cuentas/activar/\S+")
# What changes from one rendering of the same page to the next, whatever the data.
VOLATILE = [
    (re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+'), r"\1…"),
    (re.compile(r"[0-9a-f]{40}"), "…"),  # the captcha's challenge key, in the form and images
]
# Any way of saying an account exists: none may reach the page.
EXISTS = re.compile(r"ya existe|ya est[aá] (en uso|registrad)|already|registrad[oa] con", re.I)


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


def steady(response) -> str:
    """The page without what differs on every rendering (CSRF token, captcha key)."""
    content = response.content.decode()
    for pattern, replacement in VOLATILE:
        content = pattern.sub(replacement, content)
    return content


def error_list(content: str) -> list[str]:
    summary = content[content.index('id="errores"') : content.index("</ul>")]
    return [re.sub(r"<[^>]+>", "", item).strip() for item in re.findall(r"<li>(.*?)</li>", summary)]


def activation_link(message) -> str:
    (link,) = LINK.findall(message.body)
    return link


def holder(django_user_model, **fields) -> User:
    """An account already there, active, with the values the test means to collide with."""
    values = {
        "username": "otro_usuario",
        "email": "otro@correo.cl",
        "rut": "11111111-1",
        **fields,
    }
    user = django_user_model.objects.create_user(password="clave-segura-123", **values)
    user.last_login = timezone.now()
    user.save()
    return user


COLLIDING = {
    "username": {"username": "consultora_sur"},
    "username in another case": {"username": "Consultora_Sur"},
    "email": {"email": "Contacto@Consultora.CL"},
    "rut": {"rut": "12345678-5"},
    "all three": {
        "username": "consultora_sur",
        "email": "contacto@consultora.cl",
        "rut": "12345678-5",
    },
}


# The page and its format checks


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
    assert reverse("register_done") == DONE


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


def test_the_email_is_required(client):
    content = page_errors(client.post(URL, data(email="")))
    assert "Ingrese su correo electrónico." in content
    assert not User.objects.exists()


def test_an_invalid_email_is_refused(client):
    content = page_errors(client.post(URL, data(email="no-es-correo")))
    assert "Ingrese un correo electrónico válido" in content


def test_a_failed_captcha_is_refused_on_the_same_page(client, mailoutbox):
    content = page_errors(client.post(URL, data(captcha_1="incorrecto")))
    assert "El código de verificación no coincide." in content
    assert not User.objects.exists()
    assert mailoutbox == []


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


# Nothing about existing accounts before the captcha passes


@pytest.mark.parametrize("taken", COLLIDING.values(), ids=COLLIDING.keys())
def test_a_failed_captcha_says_nothing_about_a_taken_username_email_or_rut(
    client, django_user_model, taken, mailoutbox
):
    sent = data(captcha_1="incorrecto")
    with_new_values = client.post(URL, sent)
    holder(django_user_model, **taken)
    with_taken_values = client.post(URL, sent)

    content = page_errors(with_taken_values)
    assert steady(with_taken_values) == steady(with_new_values)
    assert error_list(content) == [
        "Código de verificación: El código de verificación no coincide. "
        "Escriba el de la nueva imagen."
    ]
    assert not EXISTS.search(content)
    assert User.objects.count() == 1
    assert mailoutbox == []


def test_a_failed_captcha_shows_the_format_errors_and_nothing_about_the_taken_values(
    client, django_user_model
):
    sent = data(captcha_1="incorrecto", password2=PASSWORD + "x")
    with_new_values = client.post(URL, sent)
    holder(django_user_model, **COLLIDING["all three"])
    with_taken_values = client.post(URL, sent)

    assert steady(with_taken_values) == steady(with_new_values)
    assert [e.split(":")[0] for e in error_list(page_errors(with_taken_values))] == [
        "Confirme la clave",
        "Código de verificación",
    ]


def test_a_format_error_says_nothing_about_a_taken_username_even_with_the_captcha_right(
    client, django_user_model
):
    # A passed captcha with another field wrong is still the form page: no lookup yet.
    sent = data(rut="12.345.678-4")
    with_new_values = client.post(URL, sent)
    holder(django_user_model, **COLLIDING["username"])
    assert steady(client.post(URL, sent)) == steady(with_new_values)


# A valid form: the same page for taken values and new ones


def test_a_visitor_registers_and_is_told_to_check_the_mail_not_logged_in(client, mailoutbox):
    response = client.post(URL, data())
    assert response.status_code == 302
    assert response["Location"] == DONE
    user = User.objects.get(username="consultora_sur")
    assert user.profile == User.Profile.PUBLIC
    assert user.rut == "12345678-5"
    assert user.email == "contacto@consultora.cl"
    assert user.check_password(PASSWORD)
    assert not user.is_staff
    assert not user.is_active
    assert "_auth_user_id" not in client.session

    (message,) = mailoutbox
    assert message.to == ["contacto@consultora.cl"]
    assert message.subject == "Active su cuenta · Plataforma de información pública"
    assert "Su nombre de usuario es: consultora_sur" in message.body
    assert activation_link(message).startswith("http://testserver/cuentas/activar/")

    content = client.get(DONE).content.decode()
    assert "Revise su correo" in content
    assert "Le enviamos un mensaje al correo que ingresó" in content


@pytest.mark.parametrize("taken", COLLIDING.values(), ids=COLLIDING.keys())
def test_taken_values_end_on_the_same_page_as_a_new_registration(client, django_user_model, taken):
    new = Client().post(URL, data(username="nueva", email="nueva@correo.cl", rut="7.654.321-6"))
    holder(django_user_model, **taken)
    again = client.post(URL, data())

    assert (again.status_code, again["Location"]) == (new.status_code, new["Location"])
    assert again.cookies.keys() == new.cookies.keys()
    assert steady(client.get(DONE)) == steady(Client().get(DONE))
    assert not list(again.wsgi_request._messages)
    assert User.objects.filter(username__iexact="consultora_sur").count() <= 1
    assert User.objects.filter(rut="12345678-5").count() <= 1
    assert User.objects.count() == 2  # the holder and the other, new, registration


def test_a_taken_email_mails_its_owner_instead_of_saying_so(client, django_user_model, mailoutbox):
    owner = holder(django_user_model, email="contacto@consultora.cl")
    response = client.post(URL, data(email="CONTACTO@consultora.cl"))
    assert response["Location"] == DONE
    assert User.objects.count() == 1

    (message,) = mailoutbox
    assert message.to == ["contacto@consultora.cl"]
    assert message.subject.startswith("Un intento de registro con su correo")
    assert "Alguien intentó registrarse" in message.body
    assert "http://testserver/cuentas/clave/olvido/" in message.body
    assert "http://testserver/cuentas/ingresar/" in message.body
    assert not LINK.search(message.body)  # an active account gets no activation link
    assert owner.username not in message.body


def test_a_taken_username_is_told_to_the_new_address_only(client, django_user_model, mailoutbox):
    taken = holder(django_user_model, username="Consultora_Sur")
    client.post(URL, data())
    assert User.objects.count() == 1

    (message,) = mailoutbox
    assert message.to == ["contacto@consultora.cl"]
    assert message.subject.startswith("Su registro no se completó")
    assert "El nombre de usuario «consultora_sur» ya está en uso" in message.body
    assert "El RUT ingresado" not in message.body
    assert taken.email not in message.body


def test_a_taken_rut_is_told_to_the_new_address_and_to_the_ruts_owner(
    client, django_user_model, mailoutbox
):
    owner = holder(django_user_model, rut="12345678-5")
    response = client.post(URL, data(rut="12345678-5"))
    assert response["Location"] == DONE
    assert User.objects.count() == 1

    to_requester, to_owner = mailoutbox
    assert to_requester.to == ["contacto@consultora.cl"]
    assert "El RUT ingresado ya corresponde a otra cuenta." in to_requester.body
    assert "nombre de usuario «" not in to_requester.body
    assert owner.email not in to_requester.body and owner.username not in to_requester.body
    assert to_owner.to == [owner.email]
    assert to_owner.subject.startswith("Un intento de registro con su RUT")
    assert "con el RUT de su cuenta y otro correo electrónico" in to_owner.body
    assert "contacte a la empresa distribuidora" in to_owner.body


def test_the_ruts_owner_is_mailed_once_when_the_email_is_theirs_too(
    client, django_user_model, mailoutbox
):
    holder(django_user_model, email="contacto@consultora.cl", rut="12345678-5")
    client.post(URL, data())
    (message,) = mailoutbox
    assert message.subject.startswith("Un intento de registro con su correo")


def test_the_password_is_hashed_whether_or_not_anything_is_taken(
    client, django_user_model, monkeypatch
):
    # The hash is most of a registration's time: a branch without it would answer faster.
    from django.contrib.auth import base_user

    calls = []
    real = base_user.make_password

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(base_user, "make_password", counted)
    client.post(URL, data(username="nueva", email="nueva@correo.cl", rut="7.654.321-6"))
    assert len(calls) == 1
    holder(django_user_model, email="contacto@consultora.cl")
    calls.clear()
    client.post(URL, data())
    assert len(calls) == 1


def test_registering_twice_creates_one_account_and_mails_the_link_again(client, mailoutbox):
    client.post(URL, data())
    again = client.post(URL, data())
    assert again["Location"] == DONE
    assert User.objects.count() == 1

    first, second = mailoutbox
    assert second.to == ["contacto@consultora.cl"]
    assert "Esa cuenta aún no está activada" in second.body
    # The link in the second message activates the account made the first time.
    response = client.post(activation_link(second))
    assert response["Location"] == reverse("network:search")
    assert User.objects.get().is_active


def test_a_registration_never_activated_lapses_and_frees_its_values(
    client, django_user_model, mailoutbox, settings
):
    client.post(URL, data(email="mal-escrito@consultora.cl"))
    lapsed = User.objects.get()
    User.objects.filter(pk=lapsed.pk).update(
        date_joined=timezone.now() - timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    )
    client.post(URL, data())
    user = User.objects.get()
    assert user.pk != lapsed.pk
    assert user.email == "contacto@consultora.cl"
    assert mailoutbox[-1].subject.startswith("Active su cuenta")


def test_an_account_that_once_logged_in_never_lapses(client, django_user_model, settings):
    # A deactivated account is the distributor's decision, not a registration left open.
    old = holder(django_user_model, rut="12345678-5")
    User.objects.filter(pk=old.pk).update(
        is_active=False, date_joined=timezone.now() - timedelta(days=400)
    )
    client.post(URL, data())
    assert list(User.objects.all()) == [old]


def test_a_race_on_the_same_rut_ends_on_the_same_page_and_mails_why(
    client, django_user_model, monkeypatch, mailoutbox
):
    # Another registration inserts the same RUT between our look and our insert.
    holder(django_user_model, rut="12345678-5")
    real = forms.holders_of
    looks = []

    def blind_first(user):
        looks.append(user)
        return real(user) if len(looks) > 1 else []

    monkeypatch.setattr(forms, "holders_of", blind_first)
    response = client.post(URL, data())
    assert response["Location"] == DONE
    assert User.objects.count() == 1
    assert len(looks) == 2  # the insert was tried, and refused by the database
    assert "El RUT ingresado ya corresponde a otra cuenta." in mailoutbox[0].body


def test_a_mail_server_down_still_ends_on_the_same_page(client, monkeypatch, caplog):
    class Down:
        def send_messages(self, messages):
            raise smtplib.SMTPServerDisconnected("sin servidor")

    monkeypatch.setattr(forms, "get_connection", Down)
    response = client.post(URL, data())
    assert response["Location"] == DONE
    assert User.objects.filter(username="consultora_sur", is_active=False).exists()
    assert "registration email not sent" in caplog.text


# The activation link


def test_the_activation_link_shows_a_button_and_changes_nothing_when_opened(client, mailoutbox):
    client.post(URL, data())
    response = client.get(activation_link(mailoutbox[0]))
    assert response.status_code == 200
    assert "ACTIVAR MI CUENTA" in response.content.decode()
    assert not User.objects.get().is_active
    assert "_auth_user_id" not in client.session


def test_the_activation_link_activates_logs_in_and_lands_on_the_search(client, mailoutbox):
    client.post(URL, data())
    response = client.post(activation_link(mailoutbox[0]))
    assert response.status_code == 302
    assert response["Location"] == reverse("network:search")
    user = User.objects.get()
    assert user.is_active
    assert client.session["_auth_user_id"] == str(user.pk)
    content = client.get(response["Location"]).content.decode()
    assert "Su cuenta «consultora_sur» quedó activada." in content


def test_the_activation_link_serves_once(client, mailoutbox):
    client.post(URL, data())
    link = activation_link(mailoutbox[0])
    client.post(link)
    client.logout()
    response = client.post(link)
    assert response.status_code == 200
    assert "no es válido" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_an_expired_activation_link_is_refused(client, mailoutbox, monkeypatch, settings):
    client.post(URL, data())
    now = forms.activation_tokens._now  # the generator's own clock, naive local time
    late = timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 60)
    monkeypatch.setattr(forms.activation_tokens, "_now", lambda: now() + late)
    response = client.post(activation_link(mailoutbox[0]))
    assert response.status_code == 200
    assert not User.objects.get().is_active


def test_a_password_reset_token_does_not_activate_an_account(client):
    client.post(URL, data())
    user = User.objects.get()
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    response = client.post(reverse("activate", kwargs={"uidb64": uid, "token": token}))
    assert response.status_code == 200
    assert not User.objects.get().is_active


def test_a_pending_account_cannot_log_in_with_its_password(client):
    client.post(URL, data())
    response = client.post(reverse("login"), {"username": "consultora_sur", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_after_activation_the_new_user_logs_in_with_the_password(client, mailoutbox):
    client.post(URL, data())
    client.post(activation_link(mailoutbox[0]))
    client.logout()
    response = client.post(reverse("login"), {"username": "consultora_sur", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(User.objects.get().pk)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("12345678-5", "12345678-5"), ("123456785", "12345678-5"), ("10000013-k", "10000013-K")],
)
def test_the_rut_is_stored_normalized_however_typed(client, typed, stored):
    assert client.post(URL, data(rut=typed))["Location"] == DONE
    assert User.objects.get(username="consultora_sur").rut == stored


def test_activation_goes_back_to_the_page_asked_for(client, mailoutbox):
    client.post(URL + "?next=/red/vnr/", data(next="/red/vnr/"))
    link = activation_link(mailoutbox[0])
    assert link.endswith("?next=%2Fred%2Fvnr%2F")
    page = client.get(link).content.decode()
    assert '<input type="hidden" name="next" value="/red/vnr/">' in page
    assert client.post(link, {"next": "/red/vnr/"})["Location"] == "/red/vnr/"


def test_activation_never_redirects_to_another_site(client, mailoutbox):
    client.post(URL, data(next="https://malicioso.example/"))
    link = activation_link(mailoutbox[0])
    assert "malicioso" not in link
    response = client.post(link, {"next": "https://malicioso.example/"})
    assert response["Location"] == reverse("network:search")
