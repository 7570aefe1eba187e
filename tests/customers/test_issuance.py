from __future__ import annotations

import io
import logging
import re
import smtplib
from datetime import date

import pytest
from django.contrib.auth.models import Group, Permission
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from accounts import issuance as account_issuance
from accounts.models import User
from accounts.services import CUSTOMER_SERVICE_GROUP, CUSTOMER_SERVICE_PERMISSIONS
from customers.models import CustomerAccount
from customers.services.issuance import IssueError, Outcome, issue_account, issue_from_csv
from network.models import Customer, Feeder
from tests import factories as f
from tests.conftest import FIXTURES

pytestmark = pytest.mark.django_db

FILES = FIXTURES / "customer_accounts"
NEW_PASSWORD = "Empalme-Norte-2026"
LINK = re.compile(r"(https?)://([^/\s]+)(/cuentas/clave/restablecer/\S+/)")
ADD_URL = reverse("admin:customers_customeraccount_add")
LIST_URL = reverse("admin:customers_customeraccount_changelist")

# The customers of the fixture files: number -> has generation (EG).
FILE_CUSTOMERS = {
    "880000101": False,
    "880000102": False,
    "880000103": True,
    "880000104": False,
    "880000105": False,
    "880000106": False,
    "880000107": False,
    "880000108": False,
}


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def customers() -> dict[str, Customer]:
    """The customers the CIS files name, all on one transformer of one distributor."""
    transformer = f.make_transformer()
    return {
        number: f.make_customer(transformer=transformer, number=number, is_eg=is_eg)
        for number, is_eg in FILE_CUSTOMERS.items()
    }


@pytest.fixture
def taken_email(django_user_model):
    """A public user already registered with the address line 10 of the file gives."""
    return django_user_model.objects.create_user(
        "vecina", "tomada@example.cl", "clave-segura-123", rut="11111111-1"
    )


@pytest.fixture
def customer_service(django_user_model):
    user = django_user_model.objects.create_user(
        "ejecutiva", "ejecutiva@distribuidora.cl", "clave-segura-123", is_staff=True
    )
    user.groups.add(Group.objects.get(name=CUSTOMER_SERVICE_GROUP))
    return user


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


def run_import(*args) -> tuple[str, CommandError | None]:
    out = io.StringIO()
    try:
        call_command("import_customer_accounts", *map(str, args), stdout=out)
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


# --- One account ------------------------------------------------------------------------------


def test_an_issued_account_has_no_password_and_the_email_only_a_link_to_set_it(
    client, customers, caplog
):
    caplog.set_level(logging.DEBUG)
    result = issue_account("880000101", "ana.perez@example.cl", "cliente", site="portal.example.cl")

    user = result.user
    assert result.outcome == Outcome.ISSUED and result.mailed
    assert (user.username, user.profile, user.customer) == (
        "880000101",
        "client",
        customers["880000101"],
    )
    assert not user.has_usable_password()
    [message] = mail.outbox
    assert message.to == ["ana.perez@example.cl"]
    assert message.subject == "Su cuenta de cliente · Plataforma de información pública"
    assert "Su nombre de usuario es: 880000101" in message.body
    assert "número de cliente 880000101" in message.body
    protocol, domain, link = LINK.search(message.body).groups()
    assert (protocol, domain) == ("https", "portal.example.cl")
    assert "clave:" not in message.body.lower()

    set_password_and_log_in(client, link, "880000101")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    # The link is a credential until used, the password always: neither goes to the logs.
    assert link not in caplog.text
    assert NEW_PASSWORD not in caplog.text
    assert NEW_PASSWORD not in message.body


def test_a_used_link_does_not_work_twice(client, customers):
    issue_account("880000101", "ana.perez@example.cl", "cliente")
    link = link_in(mail.outbox[0])
    set_password_and_log_in(client, link, "880000101")
    assert "El enlace no es válido" in client.get(link, follow=True).content.decode()


def test_a_customer_whose_first_link_expired_asks_for_another_on_the_forgotten_password_page(
    client, customers
):
    issue_account("880000101", "ana.perez@example.cl", "cliente")
    mail.outbox.clear()
    response = client.post(reverse("password_reset"), {"email": "Ana.Perez@example.cl"})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    set_password_and_log_in(client, link_in(mail.outbox[0]), "880000101")
    mail.outbox.clear()
    client.post(reverse("password_reset"), {"email": "ana.perez@example.cl"})
    assert len(mail.outbox) == 1  # one email: the account now has a usable password


def test_an_eg_customer_gets_an_eg_account(customers):
    result = issue_account("880000103", "solar.eg@example.cl", "eg")
    assert result.user.profile == "eg"
    assert "cliente con generación (EG)" in mail.outbox[0].body


@pytest.mark.parametrize(
    "number, profile, message",
    [
        ("880000106", "eg", "no tiene generación (EG): su cuenta es de perfil cliente"),
        ("880000103", "cliente", "tiene generación (EG): su cuenta es de perfil eg"),
        ("880000101", "residencial", "Perfil «residencial» no válido: use cliente o eg."),
        ("880000101", "", "Falta el perfil."),
    ],
)
def test_the_profile_must_follow_the_customer_eg_flag(customers, number, profile, message):
    with pytest.raises(IssueError) as refused:
        issue_account(number, "alguien@example.cl", profile)
    assert refused.value.field == "profile"
    assert message in refused.value.message
    assert not User.objects.filter(customer__number=number).exists()
    assert mail.outbox == []


def test_an_unknown_customer_number_is_refused_in_spanish(customers):
    with pytest.raises(IssueError) as refused:
        issue_account("880009999", "nadie@example.cl", "cliente")
    assert refused.value.field == "customer_number"
    assert refused.value.message == "No existe un cliente con el número 880009999."


def test_an_email_of_another_user_is_refused_whatever_its_case(customers, taken_email):
    with pytest.raises(IssueError) as refused:
        issue_account("880000108", "Tomada@Example.cl", "cliente")
    assert refused.value.field == "email"
    assert "ya está en uso por otra cuenta" in refused.value.message


def test_issuing_the_same_account_again_changes_nothing_and_sends_nothing(customers):
    first = issue_account("880000101", "ana.perez@example.cl", "cliente")
    again = issue_account("880000101", "ANA.PEREZ@example.cl", "client")
    assert again.outcome == Outcome.EXISTING
    assert again.user == first.user
    assert not again.mailed
    assert len(mail.outbox) == 1
    assert CustomerAccount.objects.filter(customer=customers["880000101"]).count() == 1


def test_a_resend_reaches_only_an_account_whose_password_is_still_undefined(client, customers):
    issue_account("880000101", "ana.perez@example.cl", "cliente")
    assert issue_account("880000101", "ana.perez@example.cl", "cliente", resend=True).mailed
    assert len(mail.outbox) == 2
    set_password_and_log_in(client, link_in(mail.outbox[1]), "880000101")
    assert not issue_account("880000101", "ana.perez@example.cl", "cliente", resend=True).mailed
    assert len(mail.outbox) == 2


def test_a_customer_with_an_account_gets_no_second_one_with_another_email(customers):
    issue_account("880000101", "ana.perez@example.cl", "cliente")
    with pytest.raises(IssueError) as refused:
        issue_account("880000101", "otra@example.cl", "cliente")
    assert refused.value.field == "email"
    assert "ya tiene una cuenta (usuario 880000101) con otro correo" in refused.value.message


def test_an_account_follows_the_customer_who_became_eg(customers):
    issue_account("880000101", "ana.perez@example.cl", "cliente")
    Customer.objects.filter(number="880000101").update(
        is_eg=True, eg_capacity_kw=5, eg_technology="solar", eg_connected_on=date(2025, 1, 1)
    )
    result = issue_account("880000101", "ana.perez@example.cl", "eg")
    assert result.outcome == Outcome.UPDATED
    assert User.objects.get(username="880000101").profile == "eg"
    assert len(mail.outbox) == 1


def test_a_number_held_by_two_distributors_needs_the_distributor(customers):
    other = f.make_customer(number="880000101")
    with pytest.raises(IssueError) as refused:
        issue_account("880000101", "ana.perez@example.cl", "cliente")
    assert "existe en varias distribuidoras" in refused.value.message
    assert other.distributor.code in refused.value.message

    mine = issue_account(
        "880000101",
        "ana.perez@example.cl",
        "cliente",
        distributor=customers["880000101"].distributor,
    )
    assert mine.user.username == "880000101"
    theirs = issue_account("880000101", "ana@otra.cl", "cliente", distributor=other.distributor)
    # The number is taken by the first account: the second gets it with its distributor.
    assert theirs.user.username == f"880000101-{other.distributor.code}"
    assert theirs.user.customer == other
    assert f"Su nombre de usuario es: 880000101-{other.distributor.code}" in mail.outbox[1].body


def test_a_public_user_holding_the_number_as_username_does_not_block_the_customer(
    customers, django_user_model
):
    django_user_model.objects.create_user("880000101", "fan@example.cl", rut="22222222-2")
    result = issue_account("880000101", "ana.perez@example.cl", "cliente")
    assert result.user.username == f"880000101-{customers['880000101'].distributor.code}"


def test_a_mail_server_that_fails_keeps_the_account_for_a_resend(customers, monkeypatch):
    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("sin conexión")

    monkeypatch.setattr(account_issuance, "send_mail", refuse)
    result = issue_account("880000101", "ana.perez@example.cl", "cliente")
    assert result.user.pk and not result.mailed
    assert "No se pudo enviar el correo" in result.mail_error
    monkeypatch.undo()
    assert issue_account("880000101", "ana.perez@example.cl", "cliente", resend=True).mailed


# --- The CIS file ------------------------------------------------------------------------------


def test_the_file_issues_the_good_lines_and_reports_each_bad_one(customers, taken_email):
    out, error = run_import(FILES / "cis_clientes.csv", "--dominio", "portal.example.cl")

    assert error is not None and error.returncode == 1
    refused = {
        4: "numero_cliente: No existe un cliente con el número 880009999.",
        5: "email: El correo compartido@example.cl se repite en la(s) línea(s) 6 para otro",
        6: "email: El correo compartido@example.cl se repite en la(s) línea(s) 5 para otro",
        7: "perfil: Perfil «residencial» no válido",
        8: "perfil: El cliente 880000106 no tiene generación (EG)",
        9: "email: «no-es-un-correo» no es un correo electrónico válido.",
        10: "email: El correo TOMADA@example.cl ya está en uso por otra cuenta.",
    }
    for line, text in refused.items():
        assert f"cis_clientes.csv, línea {line}, {text}" in out
    assert out.strip().splitlines()[-1] == (
        "cis_clientes.csv: 2 emitidas, 0 ya emitidas, 7 rechazadas."
    )
    issued = CustomerAccount.objects.order_by("username")
    assert [(u.username, u.email, u.profile) for u in issued] == [
        ("880000101", "ana.perez@example.cl", "client"),
        ("880000103", "solar.eg@example.cl", "eg"),
    ]
    assert sorted(m.to[0] for m in mail.outbox) == ["ana.perez@example.cl", "solar.eg@example.cl"]
    assert all(
        "https://portal.example.cl/cuentas/clave/restablecer/" in m.body for m in mail.outbox
    )

    out, error = run_import(FILES / "cis_clientes.csv")
    assert error is not None and error.returncode == 1
    assert out.strip().splitlines()[-1] == (
        "cis_clientes.csv: 0 emitidas, 2 ya emitidas, 7 rechazadas."
    )
    assert CustomerAccount.objects.count() == 2
    assert len(mail.outbox) == 2


def test_a_file_separated_by_semicolons_with_other_words_is_accepted(customers):
    out, error = run_import(FILES / "cis_punto_y_coma.csv")
    assert error is None, out
    assert out.strip() == "cis_punto_y_coma.csv: 2 emitidas, 0 ya emitidas, 0 rechazadas."
    assert set(CustomerAccount.objects.values_list("username", "profile")) == {
        ("880000101", "client"),
        ("880000103", "eg"),
    }


def test_resending_from_the_file_reaches_the_accounts_already_issued(customers):
    run_import(FILES / "cis_punto_y_coma.csv")
    out, error = run_import(FILES / "cis_punto_y_coma.csv", "--reenviar")
    assert error is None
    assert out.strip() == "cis_punto_y_coma.csv: 0 emitidas, 2 ya emitidas, 0 rechazadas."
    assert len(mail.outbox) == 4


def test_a_dry_run_saves_nothing_and_sends_nothing(customers, taken_email):
    out, error = run_import(FILES / "cis_clientes.csv", "--dry-run")
    assert error is not None and error.returncode == 1
    assert "línea 7, perfil:" in out
    assert out.strip().splitlines()[-1] == (
        "cis_clientes.csv: 2 se emitirían, 0 ya emitidas, 7 rechazadas "
        "(simulación: no se guardó ni envió nada)."
    )
    assert not CustomerAccount.objects.exists()
    assert mail.outbox == []


def test_a_customer_given_two_emails_is_refused_and_a_repeated_line_counts_once(customers):
    text = (
        "numero_cliente,email,perfil\n"
        "880000101,ana.perez@example.cl,cliente\n"
        "880000101,ana.perez@example.cl,cliente\n"
        "880000102,uno@example.cl,cliente\n"
        "880000102,dos@example.cl,cliente\n"
    )
    report = issue_from_csv(io.StringIO(text), name="lista.csv")
    assert [r.user.username for r in report.issued] == ["880000101"]
    assert [(r.line, r.column) for r in report.refused] == [
        (3, "numero_cliente"),
        (4, "numero_cliente"),
        (5, "numero_cliente"),
    ]
    assert "Línea repetida: el cliente 880000101 ya está en la línea 2." in report.problems()[0]
    assert "se repite en la(s) línea(s) 5 con otro correo" in report.problems()[1]


def test_a_file_with_a_number_of_two_distributors_names_the_ambiguity(customers, tmp_path):
    other = f.make_customer(number="880000101")
    path = tmp_path / "lista.csv"
    path.write_text("numero_cliente,email,perfil\n880000101,ana.perez@example.cl,cliente\n")

    out, error = run_import(path)
    assert error is not None
    assert "lista.csv, línea 2, numero_cliente: El número de cliente 880000101 existe en" in out
    assert "indique la distribuidora" in out

    out, error = run_import(path, "--distribuidora", other.distributor.code)
    assert error is None, out
    assert User.objects.get(email="ana.perez@example.cl").customer == other


@pytest.mark.parametrize(
    "args, message",
    [
        ((FILES / "no_existe.csv",), "no_existe.csv: no existe."),
        ((FILES,), "no se puede leer"),
        ((FILES / "sin_columna_perfil.csv",), "faltan las columnas perfil en el encabezado"),
        ((FILES / "no_utf8.csv",), "no está en UTF-8"),
        ((FILES / "cis_clientes.csv", "--distribuidora", "NOEXISTE"), "no existe la empresa"),
        ((FILES / "cis_clientes.csv", "--dominio", "ftp://x"), "--dominio:"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_clear_error(customers, args, message):
    out, error = run_import(*args)
    assert error is not None and message in str(error)
    assert not CustomerAccount.objects.exists()
    assert mail.outbox == []


# --- The admin and customer service --------------------------------------------------------------


def test_the_customer_service_group_has_exactly_its_permissions():
    group = Group.objects.get(name=CUSTOMER_SERVICE_GROUP)
    granted = set(group.permissions.values_list("content_type__app_label", "codename"))
    assert granted == set(CUSTOMER_SERVICE_PERMISSIONS)
    assert Permission.objects.filter(
        content_type__app_label="customers", codename="add_customeraccount"
    ).exists()


def test_customer_service_issues_an_account_from_the_admin(client, customers, customer_service):
    client.force_login(customer_service)
    page = client.get(ADD_URL)
    assert page.status_code == 200
    content = page.content.decode()
    assert "Número de cliente" in content
    assert 'name="password' not in content

    response = client.post(
        ADD_URL, {"customer_number": "880000103", "email": "solar.eg@example.cl", "profile": "eg"}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    account = CustomerAccount.objects.get(username="880000103")
    assert (account.profile, account.customer) == ("eg", customers["880000103"])
    assert not account.has_usable_password()
    [message] = mail.outbox
    protocol, domain, _ = LINK.search(message.body).groups()
    assert (protocol, domain) == ("http", "testserver")
    assert client.get(LIST_URL, {"q": "880000103"}).context["cl"].result_count == 1


def test_the_add_form_explains_in_spanish_what_it_refuses(client, customers, customer_service):
    client.force_login(customer_service)
    issue_account("880000101", "ana.perez@example.cl", "cliente")
    for data, field, message in [
        (
            {"customer_number": "880009999", "email": "x@example.cl", "profile": "client"},
            "customer_number",
            "No existe un cliente con el número 880009999.",
        ),
        (
            {"customer_number": "880000106", "email": "x@example.cl", "profile": "eg"},
            "profile",
            "no tiene generación (EG)",
        ),
        (
            {"customer_number": "880000102", "email": "ANA.PEREZ@example.cl", "profile": "client"},
            "email",
            "ya está en uso por otra cuenta",
        ),
    ]:
        response = client.post(ADD_URL, data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert message in " ".join(errors[field]), errors
    response = client.post(
        ADD_URL,
        {"customer_number": "880000101", "email": "ana.perez@example.cl", "profile": "client"},
    )
    assert "ya tiene su cuenta (usuario 880000101)" in response.content.decode()
    assert CustomerAccount.objects.count() == 1


def test_customer_service_resends_the_link_from_the_list(client, customers, customer_service):
    account = issue_account("880000101", "ana.perez@example.cl", "cliente").user
    client.force_login(customer_service)
    response = client.post(
        LIST_URL, {"action": "resend_link", "_selected_action": [account.pk]}, follow=True
    )
    assert "Enlace enviado a 1 cuenta(s)." in response.content.decode()
    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == ["ana.perez@example.cl"]


def test_the_change_form_keeps_emails_unique_and_the_profile_true_to_the_customer(
    client, customers, customer_service, taken_email
):
    account = issue_account("880000101", "ana.perez@example.cl", "cliente").user
    client.force_login(customer_service)
    url = reverse("admin:customers_customeraccount_change", args=[account.pk])
    response = client.post(url, {"email": "Tomada@example.cl", "profile": "eg", "is_active": "on"})
    errors = response.context["adminform"].form.errors
    assert "ya está en uso" in errors["email"][0]
    assert "no tiene generación (EG)" in errors["profile"][0]
    response = client.post(url, {"email": "ana@nuevo.cl", "profile": "client"})
    assert response.status_code == 302
    account.refresh_from_db()
    assert (account.email, account.is_active) == ("ana@nuevo.cl", False)


def test_customer_service_cannot_touch_staff_accounts_or_the_topology(
    client, customers, customer_service, planner
):
    client.force_login(customer_service)
    assert not customer_service.has_perm("network.change_feeder")
    assert not customer_service.has_perm("accounts.change_user")
    assert customer_service.has_perm("network.view_customer")
    feeder = f.make_feeder()
    change_feeder = reverse("admin:network_feeder_change", args=[feeder.pk])
    assert client.get(change_feeder).status_code == 403
    assert client.post(change_feeder, {"code": "X"}).status_code == 403
    assert client.get(reverse("admin:network_feeder_add")).status_code == 403
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    # The proxy's list holds customers' accounts only: a planner's is not found under it.
    staff_url = reverse("admin:customers_customeraccount_change", args=[planner.pk])
    assert client.get(staff_url).status_code == 302
    customer = customers["880000101"]
    assert (
        client.get(reverse("admin:network_customer_change", args=[customer.pk])).status_code == 200
    )
    assert Feeder.objects.filter(pk=feeder.pk, code=feeder.code).exists()


def test_a_planner_cannot_issue_customer_accounts(client, planner):
    client.force_login(planner)
    assert client.get(ADD_URL).status_code == 403
    assert client.get(LIST_URL).status_code == 403


def test_a_superuser_opens_the_list_search_add_and_change_pages(admin_client, customers):
    account = issue_account("880000101", "ana.perez@example.cl", "cliente").user
    for url in (
        LIST_URL,
        LIST_URL + "?q=zz-1",
        ADD_URL,
        reverse("admin:customers_customeraccount_change", args=[account.pk]),
    ):
        assert admin_client.get(url).status_code == 200, url
