"""The SEC auditor's customer search (§3): by number, by RUT written any way, by address with
accents, case and partial words ignored; a grid, a CSV, and the customer's pages marked as an
audit view. Bad searches get a message on the same page."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import AccessLog
from customers.services import search
from tests.factories import make_customer

pytestmark = pytest.mark.django_db


def find(login_as, **query):
    return login_as("sec").get(reverse("customers:search"), query)


def numbers(response) -> list[str]:
    return [c.number for c in response.context["page"].rows]


@pytest.fixture
def accented(demo_network):
    return make_customer(number="990000001", address="Avenida Ñuble Pérez 1234", rut="7654321-6")


@pytest.mark.parametrize("typed", ["7.654.321-6", "76543216", "7654321-6", " 7654321 - 6 "])
def test_a_rut_is_found_however_it_is_written(login_as, accented, typed):
    assert numbers(find(login_as, por="rut", q=typed)) == ["990000001"]


def test_a_k_check_digit_is_found_in_either_case(login_as, demo_network):
    customer = make_customer(number="990000002", rut="6000000-K")
    for typed in ("6.000.000-k", "6000000K"):
        assert numbers(find(login_as, por="rut", q=typed)) == [customer.number]


@pytest.mark.parametrize("typed", ["nuble perez", "ÑUBLE", "pér 1234", "ble Pere"])
def test_the_address_ignores_accents_and_case_and_matches_parts_of_words(login_as, accented, typed):
    assert "990000001" in numbers(find(login_as, por="direccion", q=typed))


def test_every_word_of_the_address_must_match(login_as, accented):
    assert numbers(find(login_as, por="direccion", q="nuble 9999")) == []


def test_a_number_finds_its_customer_and_the_grid_links_to_the_right_profile(login_as, eg_user):
    customer = eg_user.customer
    response = find(login_as, por="numero", q=customer.number)
    assert numbers(response) == [customer.number]
    html = response.content.decode()
    assert reverse("customers:home", args=[customer.pk]) in html and "EG (§5)" in html
    for field in (customer.name, customer.rut, customer.address):
        assert field in html


def test_a_common_word_pages_without_counting_everything(login_as, demo_network):
    first = find(login_as, por="direccion", q="los")
    page = first.context["page"]
    assert len(page.rows) == search.PAGE_SIZE and page.has_next
    second = find(login_as, por="direccion", q="los", pagina=2)
    assert set(numbers(first)).isdisjoint(numbers(second))


@pytest.mark.parametrize(
    "query,message",
    [
        ({"por": "numero", "q": ""}, "Escriba el n° de cliente que busca."),
        ({"por": "rut", "q": "12.345.678-9"}, "dígito verificador incorrecto"),
        ({"por": "direccion", "q": "a"}, "al menos una palabra de 3 letras"),
        ({"por": "direccion", "q": "los", "pagina": "999"}, "La página 999 no existe"),
        ({"por": "direccion", "q": "los", "pagina": "x"}, "no es un número de página"),
        ({"por": "otra", "q": "x"}, "Elija buscar por número de cliente, RUT o dirección."),
    ],
)
def test_a_bad_search_gets_a_message_on_the_same_page(login_as, demo_network, query, message):
    response = find(login_as, **query)
    assert response.status_code == 200
    assert message in response.context["search_error"]


def test_the_address_search_can_use_the_trigram_index(demo_network):
    rows = search.search(search.parse("direccion", "andes"))
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cur:
        cur.execute("SET LOCAL enable_seqscan = off")
        cur.execute("EXPLAIN " + sql, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    assert "customer_address_trgm" in plan, plan


def test_the_results_download_as_csv_and_the_search_is_logged(login_as, persona_users, accented):
    response = find(login_as, por="direccion", q="nuble", formato="csv")
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == "N° de cliente;Nombre;RUT;Dirección;Comuna;EG"
    assert "990000001;" in body and "Avenida Ñuble Pérez 1234" in body
    log = AccessLog.objects.filter(user=persona_users["sec"]).latest("id")
    assert (log.kind, log.reference) == ("busqueda", "clientes Dirección: nuble (CSV)")


@pytest.mark.parametrize("persona", ["public", "client", "eg", "planner"])
def test_only_sec_searches_customers(login_as, persona):
    response = login_as(persona).get(reverse("customers:search"), {"por": "rut", "q": "1-9"})
    assert response.status_code == 403


def test_sec_reads_a_customers_pages_marked_as_an_audit_view(login_as, client_user):
    url = reverse("customers:home", args=[client_user.customer_id])
    assert "Vista de auditoría SEC" in login_as("sec").get(url).content.decode()
    assert "Vista de auditoría SEC" not in login_as("client").get(url).content.decode()


# --- the access log --------------------------------------------------------------------------


def test_sec_reads_the_access_log_filtered_by_user_kind_and_date(login_as, persona_users):
    from core.months import today

    client = persona_users["client"]
    login_as("client").get(reverse("customers:home", args=[client.customer_id]))
    login_as("public").get(reverse("network:vnr"))
    url = reverse("customers:access_log")
    browser = login_as("sec")
    mine = browser.get(url, {"usuario": client.username, "tipo": "cliente", "desde": today()})
    entries = mine.context["entries"]
    assert entries and {(e.user_id, e.kind) for e in entries} == {(client.pk, "cliente")}
    assert browser.get(url, {"usuario": client.username, "tipo": "vnr"}).context["entries"] == []
    bad = browser.get(url, {"desde": "ayer", "tipo": "nada"})
    assert "Ese tipo de acceso no existe." in bad.context["search_error"]
    assert "La fecha «ayer» no es válida" in bad.context["search_error"]
    csv = browser.get(url, {"usuario": client.username, "formato": "csv"})
    lines = b"".join(csv.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Fecha y hora;Usuario;Perfil;Tipo")
    assert all(f";{client.username};" in line for line in lines[1:]) and len(lines) > 1
    own = AccessLog.objects.filter(user=persona_users["sec"], kind="registro")
    assert own.count() == 4  # the auditor's own reading of the log is logged too


@pytest.mark.parametrize("persona", ["public", "client", "eg", "planner"])
def test_only_sec_reads_the_access_log(login_as, persona):
    assert login_as(persona).get(reverse("customers:access_log")).status_code == 403
