from __future__ import annotations

import io
import logging
import re
import smtplib

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts import issuance
from accounts.issuance import IssueError, issue_sec_account
from accounts.models import SecAccount, User
from accounts.services import (
    CUSTOMER_SERVICE_GROUP,
    SEC_ACCOUNTS_GROUP,
    SEC_ACCOUNTS_PERMISSIONS,
)

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Auditoria-Norte-2026"
LINK = re.compile(r"(https?)://([^/\s]+)(/cuentas/clave/restablecer/\S+/)")
ADD_URL = reverse("admin:accounts_secaccount_add")
LIST_URL = reverse("admin:accounts_secaccount_changelist")


def change_url(user: User) -> str:
    return reverse("admin:accounts_secaccount_change", args=[user.pk])


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def sec_admin(django_user_model):
    """A staff member of the group that issues SEC accounts."""
    user = django_user_model.objects.create_user(
        "cuentas_sec", "cuentas.sec@distribuidora.cl", "clave-segura-123", is_staff=True
    )
    user.groups.add(Group.objects.get(name=SEC_ACCOUNTS_GROUP))
    return user


@pytest.fixture
def customer_service(django_user_model):
    user = django_user_model.objects.create_user(
        "ejecutiva", "ejecutiva@distribuidora.cl", "clave-segura-123", is_staff=True
    )
    user.groups.add(Group.objects.get(name=CUSTOMER_SERVICE_GROUP))
    return user


@pytest.fixture
def customer_account(django_user_model):
    from tests import factories as f

    customer = f.make_customer(number="880000101")
    return django_user_model.objects.create_user(
        "880000101", "ana.perez@example.cl", profile="client", customer=customer
    )


def link_in(message) -> str:
    found = LINK.search(message.body)
    assert found, message.body
    return found.group(3)


def set_password_and_log_in(client, link: str, username: str) -> None:
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert "Defina una clave nueva" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == reverse("password_reset_complete")
    login = client.post(reverse("login"), {"username": username, "password": NEW_PASSWORD})
    assert login.status_code == 302, login.content.decode()


def run_command(*args) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("issue_sec_account", *map(str, args), stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


# --- The admin ---------------------------------------------------------------------------------


def test_the_sec_accounts_group_has_exactly_its_permissions():
    group = Group.objects.get(name=SEC_ACCOUNTS_GROUP)
    granted = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert granted == set(SEC_ACCOUNTS_PERMISSIONS)
    assert len(granted) == 3


def test_the_add_form_asks_no_password_and_issues_an_sec_account_without_one(
    client, sec_admin, caplog
):
    caplog.set_level(logging.DEBUG)
    client.force_login(sec_admin)
    page = client.get(ADD_URL)
    assert page.status_code == 200
    content = page.content.decode()
    assert 'name="password' not in content
    assert 'name="profile"' not in content
    assert 'name="is_staff"' not in content

    response = client.post(
        ADD_URL,
        {
            "username": "mrojas",
            "first_name": "Marta",
            "last_name": "Rojas Díaz",
            "email": "mrojas@sec.example.cl",
        },
        follow=True,
    )
    assert response.status_code == 200
    assert (
        "Cuenta mrojas emitida: se envió a mrojas@sec.example.cl el enlace para definir la clave."
        in response.content.decode()
    )
    user = User.objects.get(username="mrojas")
    assert (user.profile, user.is_staff, user.is_superuser) == ("sec", False, False)
    assert user.get_full_name() == "Marta Rojas Díaz"
    assert not user.has_usable_password()

    [message] = mail.outbox
    assert message.to == ["mrojas@sec.example.cl"]
    assert message.subject == "Su cuenta de auditor SEC · Plataforma de información pública"
    assert "Su nombre de usuario es: mrojas" in message.body
    protocol, domain, link = LINK.search(message.body).groups()
    assert (protocol, domain) == ("http", "testserver")
    # Only the link: no password of any kind travels in the email.
    assert "clave:" not in message.body.lower()
    assert link not in caplog.text

    client.logout()
    set_password_and_log_in(client, link, "mrojas")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert NEW_PASSWORD not in message.body
    assert client.get(reverse("customers:search")).status_code == 200
    # The auditor is no staff: the admin stays closed.
    assert client.get(LIST_URL).status_code == 302


def test_the_add_form_explains_in_spanish_what_it_refuses(
    client, sec_admin, public_user, customer_account
):
    client.force_login(sec_admin)
    issue_sec_account("mrojas", "mrojas@sec.example.cl")
    for data, field, message in [
        (
            {"username": "Desarrollador_PMGD", "email": "otro@sec.example.cl"},
            "username",
            "El nombre de usuario Desarrollador_PMGD ya está ocupado por otra cuenta.",
        ),
        (
            {"username": "jsoto", "email": "ANA.PEREZ@example.cl"},
            "email",
            "El correo ANA.PEREZ@example.cl ya está en uso por otra cuenta.",
        ),
        (
            {"username": "MRojas", "email": "marta@otro.cl"},
            "email",
            "La cuenta SEC mrojas ya existe con otro correo",
        ),
        (
            {"username": "mrojas", "email": "MRojas@sec.example.cl"},
            "username",
            "La cuenta SEC mrojas ya existe con ese correo.",
        ),
        ({"username": "jsoto", "email": ""}, "email", "obligatorio"),
    ]:
        response = client.post(ADD_URL, data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert message in " ".join(errors.get(field, [])), errors
    assert SecAccount.objects.count() == 1
    assert len(mail.outbox) == 1


def test_the_list_resends_the_link(client, sec_admin):
    account = issue_sec_account("mrojas", "mrojas@sec.example.cl").user
    retired = issue_sec_account("jsoto", "jsoto@sec.example.cl").user
    User.objects.filter(pk=retired.pk).update(is_active=False)
    client.force_login(sec_admin)
    response = client.post(
        LIST_URL,
        {"action": "resend_link", "_selected_action": [account.pk, retired.pk]},
        follow=True,
    )
    content = response.content.decode()
    assert "Enlace enviado a 1 cuenta(s)." in content
    assert "1 cuenta(s) desactivada(s) no recibieron el enlace: jsoto." in content
    assert len(mail.outbox) == 3
    assert mail.outbox[2].to == ["mrojas@sec.example.cl"]
    assert link_in(mail.outbox[2])


def test_the_change_form_edits_only_name_email_and_active(client, sec_admin, public_user):
    account = issue_sec_account("mrojas", "mrojas@sec.example.cl").user
    client.force_login(sec_admin)
    page = client.get(change_url(account)).content.decode()
    for name in ("first_name", "last_name", "email", "is_active"):
        assert f'name="{name}"' in page
    for name in ("password", "profile", "is_staff", "is_superuser", "groups", "username"):
        assert f'name="{name}"' not in page

    response = client.post(change_url(account), {"email": "PMGD@example.cl", "is_active": "on"})
    assert "ya está en uso" in response.context["adminform"].form.errors["email"][0]
    response = client.post(
        change_url(account),
        {
            "first_name": "Marta",
            "last_name": "Rojas",
            "email": "marta.rojas@sec.example.cl",
            "profile": "planner",
            "is_staff": "on",
        },
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.email, account.get_full_name(), account.is_active) == (
        "marta.rojas@sec.example.cl",
        "Marta Rojas",
        False,
    )
    assert (account.profile, account.is_staff) == ("sec", False)


def test_the_sec_list_never_shows_another_account(
    client, sec_admin, customer_account, planner, public_user, django_user_model
):
    issue_sec_account("mrojas", "mrojas@sec.example.cl")
    sec_staff = django_user_model.objects.create_user(
        "sec_staff", "staff@sec.example.cl", profile="sec", is_staff=True
    )
    client.force_login(sec_admin)
    listed = client.get(LIST_URL).context["cl"].result_list
    assert [u.username for u in listed] == ["mrojas"]
    # A change URL of any other account finds nothing under the proxy: back to the index.
    for other in (customer_account, planner, public_user, sec_staff, sec_admin):
        assert client.get(change_url(other)).status_code == 302, other.username
        response = client.post(change_url(other), {"email": "x@x.cl", "is_active": ""})
        assert response.status_code == 302
        other.refresh_from_db()
        assert other.email != "x@x.cl" and other.is_active


def test_customer_service_cannot_reach_the_sec_accounts(client, customer_service):
    account = issue_sec_account("mrojas", "mrojas@sec.example.cl").user
    client.force_login(customer_service)
    assert not customer_service.has_perm("accounts.view_secaccount")
    assert client.get(LIST_URL).status_code == 403
    assert client.get(ADD_URL).status_code == 403
    assert client.get(change_url(account)).status_code == 403
    response = client.post(ADD_URL, {"username": "intrusa", "email": "intrusa@example.cl"})
    assert response.status_code == 403
    assert not User.objects.filter(username="intrusa").exists()


def test_a_planner_cannot_reach_the_sec_accounts(client, planner):
    account = issue_sec_account("mrojas", "mrojas@sec.example.cl").user
    client.force_login(planner)
    assert client.get(LIST_URL).status_code == 403
    assert client.get(ADD_URL).status_code == 403
    assert client.get(change_url(account)).status_code == 403


def test_the_sec_accounts_group_reaches_nothing_else(client, sec_admin, customer_account):
    client.force_login(sec_admin)
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:customers_customeraccount_changelist")).status_code == 403
    assert client.get(reverse("admin:network_customer_changelist")).status_code == 403


def test_a_superuser_opens_the_list_search_add_and_change_pages(admin_client):
    account = issue_sec_account("mrojas", "mrojas@sec.example.cl").user
    for url in (LIST_URL, LIST_URL + "?q=rojas", ADD_URL, change_url(account)):
        assert admin_client.get(url).status_code == 200, url


def test_an_auditor_whose_first_link_expired_asks_for_another(client):
    issue_sec_account("mrojas", "mrojas@sec.example.cl")
    mail.outbox.clear()
    client.post(reverse("password_reset"), {"email": "MRojas@sec.example.cl"})
    [message] = mail.outbox
    set_password_and_log_in(client, link_in(message), "mrojas")


# --- The command -------------------------------------------------------------------------------


def test_the_command_issues_an_account_once(client):
    out, error = run_command(
        "mrojas",
        "mrojas@sec.example.cl",
        "--nombre",
        "Marta  Rojas Díaz",
        "--dominio",
        "portal.example.cl",
    )
    assert error is None, out
    assert out.strip() == (
        "Cuenta SEC mrojas emitida: se envió a mrojas@sec.example.cl el enlace para definir "
        "la clave."
    )
    user = SecAccount.objects.get(username="mrojas")
    assert (user.first_name, user.last_name) == ("Marta", "Rojas Díaz")
    assert not user.has_usable_password()
    [message] = mail.outbox
    protocol, domain, link = LINK.search(message.body).groups()
    assert (protocol, domain) == ("https", "portal.example.cl")

    out, error = run_command("mrojas", "MROJAS@sec.example.cl")
    assert error is None, out
    assert "ya emitida con ese correo: no se emitió nada" in out
    assert len(mail.outbox) == 1
    assert SecAccount.objects.count() == 1

    out, error = run_command("mrojas", "mrojas@sec.example.cl", "--reenviar")
    assert error is None, out
    assert "se reenvió a mrojas@sec.example.cl el enlace" in out
    assert len(mail.outbox) == 2

    set_password_and_log_in(client, link_in(mail.outbox[1]), "mrojas")
    out, error = run_command("mrojas", "mrojas@sec.example.cl", "--reenviar")
    assert error is None, out
    assert "su clave ya está definida: no se reenvió el enlace" in out
    assert len(mail.outbox) == 2


@pytest.mark.parametrize(
    "args, message",
    [
        (("desarrollador_pmgd", "x@sec.example.cl"), "ya está ocupado por otra cuenta"),
        (("jsoto", "Pmgd@Example.cl"), "El correo Pmgd@example.cl ya está en uso por otra cuenta."),
        (("jsoto", "no-es-un-correo"), "«no-es-un-correo» no es un correo electrónico válido."),
        (("mrojas", "otro@sec.example.cl"), "La cuenta SEC mrojas ya existe con otro correo"),
        (("j soto", "jsoto@sec.example.cl"), "no sirve como nombre de usuario"),
        (("jsoto", "jsoto@sec.example.cl", "--dominio", "ftp://x"), "--dominio:"),
    ],
)
def test_the_command_refuses_with_a_clear_message_and_a_failing_status(public_user, args, message):
    issue_sec_account("mrojas", "mrojas@sec.example.cl")
    mail.outbox.clear()
    out, error = run_command(*args)
    assert error is not None and error.returncode == 1
    assert message in str(error)
    assert "Traceback" not in str(error) + out
    assert not User.objects.filter(username__in=["jsoto", "j soto"]).exists()
    assert mail.outbox == []


def test_a_mail_server_that_fails_keeps_the_account_for_a_resend(monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("sin conexión")

    monkeypatch.setattr(issuance, "send_mail", refuse)
    out, error = run_command("mrojas", "mrojas@sec.example.cl")
    assert error is not None and error.returncode == 1
    assert "emitida, pero el correo no salió" in str(error)
    assert "Reintente con --reenviar" in str(error)
    assert SecAccount.objects.filter(username="mrojas").exists()
    monkeypatch.undo()
    out, error = run_command("mrojas", "mrojas@sec.example.cl", "--reenviar")
    assert error is None, out
    assert len(mail.outbox) == 1


def test_an_inactive_account_gets_no_resend(django_user_model):
    account = issue_sec_account("mrojas", "mrojas@sec.example.cl").user
    django_user_model.objects.filter(pk=account.pk).update(is_active=False)
    out, error = run_command("mrojas", "mrojas@sec.example.cl", "--reenviar")
    assert error is not None and "está desactivada" in str(error)
    assert len(mail.outbox) == 1


def test_the_service_never_turns_a_staff_account_into_an_auditor(django_user_model):
    django_user_model.objects.create_user(
        "sec_staff", "staff@sec.example.cl", profile="sec", is_staff=True
    )
    with pytest.raises(IssueError) as refused:
        issue_sec_account("sec_staff", "staff@sec.example.cl")
    assert refused.value.field == "username"
    assert "ya está ocupado por otra cuenta" in refused.value.message
