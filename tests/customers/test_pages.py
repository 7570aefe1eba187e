"""The customer's pages show what the CIS billed: the figures of each page are the stored
bills, the bill explained adds up, the remanente statement runs to the stored balances, and
what is missing or mistyped gets a message instead of an error."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from lxml import etree

from core.months import add_months, month_start, today
from core.numbers import clp, number
from customers.services import account
from metering.models import BillingDocument, EgContract, MonthlyBill, RemanenteMovement
from tests.conftest import PASSWORD
from tests.factories import make_customer

pytestmark = pytest.mark.django_db

SVG = "{http://www.w3.org/2000/svg}"


def bars(svg: str) -> list[str]:
    """The <title> of every bar of a chart: "nov 26 · Consumo: 524 kWh"."""
    tree = etree.fromstring(svg.encode())
    return [r.findtext(f"{SVG}title") for r in tree.iter(f"{SVG}rect") if len(r)]


def test_the_home_table_and_chart_show_the_stored_bills_of_36_months(login_as, client_user):
    response = login_as("client").get(reverse("customers:home", args=[client_user.customer_id]))
    assert response.status_code == 200
    months = response.context["months"]
    assert len(months) == 36
    stored = {
        b.month: b
        for b in MonthlyBill.objects.filter(
            customer=client_user.customer, month__gte=months[0].month
        )
    }
    assert {m.month for m in months if m.bill} == set(stored)
    html = response.content.decode()
    titles = bars(response.context["chart"])
    for m in months:
        bill = stored[m.month]
        assert (m.bill.consumption_kwh, m.bill.charges_clp) == (
            bill.consumption_kwh,
            bill.charges_clp,
        )
        assert (
            f'{m.title.capitalize()}</th><td class="num">{number(bill.consumption_kwh, 0)}' in html
        )
        assert clp(bill.charges_clp) in html
        assert f"{m.label} · Consumo: {number(float(bill.consumption_kwh), 0)} kWh" in titles
        assert f"{m.label} · Cargos: {clp(float(bill.charges_clp))}" in titles
    assert len(titles) == 72  # two bars a month


def test_the_eg_home_charts_the_net_charge_below_zero(login_as, eg_user):
    response = login_as("eg").get(reverse("customers:home", args=[eg_user.customer_id]))
    titles = bars(response.context["chart"])
    nets = [m.bill.net_charge_clp for m in response.context["months"] if m.bill]
    assert any(n < 0 for n in nets)
    for m in response.context["months"]:
        assert f"{m.label} · Cargo neto: {clp(float(m.bill.net_charge_clp))}" in titles
    assert "III. Consumo y cargo neto" in response.content.decode()


def test_the_chart_is_inline_svg_with_a_title_and_no_script(login_as, client_user):
    response = login_as("client").get(reverse("customers:home", args=[client_user.customer_id]))
    svg = response.context["chart"]
    tree = etree.fromstring(svg.encode())
    assert tree.get("role") == "img" and tree.findtext(f"{SVG}title")
    assert "<script" not in svg
    assert svg in response.content.decode()


def test_the_same_chart_is_in_the_pdf(login_as, client_user):
    url = reverse("customers:home", args=[client_user.customer_id])
    browser = login_as("client")
    page = browser.get(url)
    saved = browser.get(url + "?formato=pdf")
    assert saved["Content-Type"] == "application/pdf"
    assert page.context["chart"] == saved.context["chart"]


def test_the_injection_page_shows_twelve_months_of_consumption_and_injection(login_as, eg_user):
    response = login_as("eg").get(reverse("customers:injections", args=[eg_user.customer_id]))
    months = response.context["months"]
    assert len(months) == 12
    titles = bars(response.context["chart"])
    for m in months:
        assert f"{m.label} · Inyección: {number(float(m.bill.injection_kwh), 0)} kWh" in titles


def test_the_history_lists_each_months_meter_readings(login_as, eg_user):
    response = login_as("eg").get(reverse("customers:history", args=[eg_user.customer_id]))
    html = response.content.decode()
    bills = MonthlyBill.objects.filter(customer=eg_user.customer).order_by("-month")[:36]
    for bill in bills:
        assert number(bill.consumption_end_kwh, 1) in html
        assert number(bill.injection_end_kwh, 1) in html
    pdf = login_as("eg").get(
        reverse("customers:history", args=[eg_user.customer_id]) + "?formato=pdf"
    )
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


# --- the bill explained -----------------------------------------------------------------------


def test_the_explained_page_gives_both_effects_that_add_up_for_every_month(login_as, client_user):
    response = login_as("client").get(
        reverse("customers:explained", args=[client_user.customer_id])
    )
    months = response.context["months"]
    assert len(months) >= 35
    stored = {b.month: b for b in MonthlyBill.objects.filter(customer=client_user.customer)}
    for m in months:
        for effects, before in ((m.against_previous, -1), (m.against_last_year, -12)):
            other = stored.get(add_months(m.month, before))
            if other is None:
                assert effects is None
                continue
            assert effects.change == m.bill.charges_clp - other.charges_clp
            assert effects.consumption + effects.price == effects.change
            assert effects.sentence() in response.content.decode()


def test_the_explained_sentence_reads_as_the_issue_example():
    from customers.lib.explain import Effects

    assert Effects(4210, 3100, 1110).sentence() == (
        "+$\u00a04.210: +$\u00a03.100 por mayor consumo y +$\u00a01.110 por mayor precio."
    )
    assert Effects(-500, -800, 300).sentence() == (
        "\u2212$\u00a0500: \u2212$\u00a0800 por menor consumo y +$\u00a0300 por mayor precio."
    )


# --- documents ---------------------------------------------------------------------------------


def documents_url(user, **query) -> str:
    from urllib.parse import urlencode

    return reverse("customers:documents", args=[user.customer_id]) + "?" + urlencode(query)


def test_a_folio_found_shows_that_invoice_with_its_pdf_link(login_as, client_user):
    doc = BillingDocument.objects.filter(customer=client_user.customer).invoices().first()
    response = login_as("client").get(documents_url(client_user, folio=f"00{doc.folio}"))
    assert response.context["found"] == [doc]
    assert reverse("customers:document_pdf", args=[client_user.customer_id, doc.pk]) in (
        response.content.decode()
    )


def test_a_folio_that_does_not_exist_gets_a_message_on_the_same_page(login_as, client_user):
    response = login_as("client").get(documents_url(client_user, folio="999999999"))
    assert response.status_code == 200
    assert "No hay un(a) boleta o factura con folio «999999999»." in response.content.decode()


def test_another_customers_folio_is_not_found(login_as, client_user):
    theirs = BillingDocument.objects.exclude(customer=client_user.customer).first()
    response = login_as("client").get(documents_url(client_user, folio=theirs.folio))
    assert response.context["found"] is None
    assert "No hay un(a)" in response.context["search_error"]


def test_a_period_outside_the_36_months_gets_a_message(login_as, client_user):
    old = add_months(month_start(today()), -40)
    response = login_as("client").get(documents_url(client_user, periodo=f"{old:%Y-%m}"))
    assert "está fuera de los últimos 36 meses" in response.context["search_error"]
    response = login_as("client").get(documents_url(client_user, periodo="marzo"))
    assert "no es válido: escríbalo como AAAA-MM" in response.context["search_error"]


def test_a_period_finds_the_documents_of_that_month(login_as, eg_user):
    annex = BillingDocument.objects.filter(customer=eg_user.customer).injection_annexes().first()
    response = login_as("eg").get(
        documents_url(eg_user, tipo="annexes", periodo=f"{annex.period:%Y-%m}")
    )
    assert annex in response.context["found"]


def test_the_invoice_pdf_is_served_to_its_owner_and_logged(login_as, client_user):
    from accounts.models import AccessLog

    doc = BillingDocument.objects.filter(customer=client_user.customer).first()
    response = login_as("client").get(
        reverse("customers:document_pdf", args=[client_user.customer_id, doc.pk])
    )
    assert response.status_code == 200
    body = b"".join(response.streaming_content)
    assert body.startswith(b"%PDF") and body == doc.pdf.path.read_bytes()
    assert f'filename="{doc.download_name}"' in response["Content-Disposition"]
    log = AccessLog.objects.filter(user=client_user).latest("id")
    assert (log.kind, log.reference) == ("documento", f"{client_user.customer.number} {doc}")


# --- remanentes --------------------------------------------------------------------------------


def test_the_remanente_statement_runs_to_the_balances_the_cis_booked(login_as, eg_user):
    response = login_as("eg").get(reverse("customers:remanentes", args=[eg_user.customer_id]))
    ledger = response.context["ledger"]
    assert ledger.lines and not ledger.disagreements
    stored = RemanenteMovement.objects.filter(customer=eg_user.customer).order_by("-date", "-id")
    assert ledger.closing == stored.first().balance_clp
    assert ledger.opening + ledger.credits - ledger.debits == ledger.closing


def test_a_balance_that_disagrees_with_the_movements_is_shown_not_hidden(eg_user):
    moves = RemanenteMovement.objects.filter(customer=eg_user.customer).order_by("date", "id")
    wrong = moves[3]
    wrong.balance_clp += 1000
    wrong.save()
    ledger = account.ledger(eg_user.customer)
    assert [line.movement.pk for line in ledger.disagreements] == [wrong.pk]


def ledger_of(customer, rows) -> account.Ledger:
    for n, (day, kind, amount, balance) in enumerate(rows):
        RemanenteMovement.objects.create(
            distributor=customer.distributor, customer=customer, external_id=f"T-{n}",
            date=day, kind=kind, amount_clp=amount, balance_clp=balance,
        )  # fmt: skip
    return account.ledger(customer, today=date(2026, 6, 15))


def test_the_payout_forecast_adds_last_years_same_months_to_the_balance():
    customer = make_customer(
        is_eg=True, eg_capacity_kw=5, eg_technology="solar", eg_connected_on=date(2024, 1, 1)
    )
    ledger = ledger_of(
        customer,
        [
            (date(2025, 7, 20), "generado", 10_000, 10_000),
            (date(2025, 8, 20), "generado", 5_000, 15_000),
            (date(2025, 8, 25), "descontado", 2_000, 13_000),
            (date(2025, 9, 20), "generado", 7_000, 20_000),  # after the liquidation: left out
            (date(2026, 5, 20), "generado", 1_000, 21_000),
        ],
    )
    contract = EgContract(
        customer=customer, number="CC-1", signed_on=date(2024, 1, 1),
        liquidation_form="transferencia", liquidation_date=date(2025, 8, 31),
    )  # fmt: skip
    payout = account.payout_forecast(contract, ledger, today=date(2026, 6, 15))
    assert payout.on == date(2026, 8, 31)  # the anniversary after a passed date
    assert payout.pays and payout.balance == 21_000
    assert payout.expected == 21_000 + 10_000 + 3_000  # July, and August's 5 000 − 2 000
    contract.liquidation_form = "descuento"
    assert not account.payout_forecast(contract, ledger, today=date(2026, 6, 15)).pays


# --- empty states ------------------------------------------------------------------------------


@pytest.fixture
def new_customer_user(django_user_model):
    customer = make_customer(number="NUEVO-1")
    return django_user_model.objects.create_user(
        "nuevo", "nuevo@example.cl", PASSWORD, profile="client", customer=customer
    )


@pytest.mark.parametrize(
    "name,message",
    [
        ("home", "Aún no hay facturación registrada"),
        ("explained", "Aún no hay facturación registrada"),
        ("documents", "No hay boletas y facturas de suministro emitidos"),
        ("demand_response", "no está inscrita en ningún programa"),
    ],
)
def test_a_customer_with_no_bills_yet_sees_empty_states(client, new_customer_user, name, message):
    client.force_login(new_customer_user)
    response = client.get(reverse(f"customers:{name}", args=[new_customer_user.customer_id]))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert client.get(response.request["PATH_INFO"] + "?formato=pdf").status_code == 200


def test_my_account_sends_a_customer_to_their_own_pages(login_as, client_user):
    response = login_as("client").get(reverse("customers:mine"))
    assert response.url == reverse("customers:home", args=[client_user.customer_id])


def test_the_menu_offers_my_account_only_to_customers(login_as):
    assert "Mi cuenta" in login_as("client").get(reverse("landing")).content.decode()
    assert "Mi cuenta" not in login_as("public").get(reverse("landing")).content.decode()


def test_the_technical_data_links_to_the_transformers_public_page(login_as, client_user):
    response = login_as("client").get(reverse("customers:home", args=[client_user.customer_id]))
    transformer = client_user.customer.transformer
    assert reverse("network:transformer", args=[transformer.pk]) in response.content.decode()
    assert f"{Decimal(transformer.capacity_kva):.1f}".replace(".", ",") in response.content.decode()


def test_the_pdf_carries_the_chart_the_data_date_and_the_printing_date(login_as, client_user):
    import subprocess

    url = reverse("customers:home", args=[client_user.customer_id]) + "?formato=pdf"
    pdf = login_as("client").get(url).content
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "Datos actualizados al" in text and "Impreso el" in text
    assert "Consumo" in text and "Cargos" in text and "kWh" in text  # the chart's legend
    assert "IMPRIMIR" not in text  # the controls are left out


def test_the_readings_download_takes_a_date_range_and_refuses_a_bad_one(login_as, eg_user):
    browser = login_as("eg")
    url = reverse("customers:data_readings", args=[eg_user.customer_id])
    whole = b"".join(browser.get(url).streaming_content).decode("utf-8-sig").splitlines()
    days = sorted({line.split(";")[5][:10] for line in whole[1:]})
    one = browser.get(url, {"desde": days[3], "hasta": days[3]})
    rows = b"".join(one.streaming_content).decode("utf-8-sig").splitlines()[1:]
    assert 0 < len(rows) < len(whole) - 1
    assert all(days[2] <= r.split(";")[5][:10] <= days[4] for r in rows)
    bad = browser.get(url, {"desde": "31/02/2026"}, follow=True)
    assert bad.redirect_chain[-1][0] == reverse("customers:data", args=[eg_user.customer_id])
    assert "no es válida: escríbala como AAAA-MM-DD" in bad.content.decode()
    backwards = browser.get(url, {"desde": days[4], "hasta": days[3]}, follow=True)
    assert "posterior a la fecha «hasta»" in backwards.content.decode()
