"""The customer's and the EG customer's main flows in headless Chromium, against the real
pages, offline: log in, see the chart, download an invoice; go through §5 I–IX."""

from __future__ import annotations

import pytest

from customers.services.demo import showcase_customer
from metering.models import BillingDocument
from network.models import Feeder
from tests.browser.chromium import ARGS, CHROMIUM, watch
from tests.conftest import reload_demo

PASSWORD = "Mi-Cuenta-De-Luz-2026"


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def demo_set_left_in_place(django_db_setup, django_db_blocker):
    """The live server's flush empties the database after each test: load the demo again."""
    yield
    with django_db_blocker.unblock():
        if not Feeder.objects.exists():
            reload_demo()


@pytest.fixture
def accounts(demo_network, django_user_model):
    """Two customer accounts and what the flows look for, read before the browser starts."""
    if not Feeder.objects.exists():  # flushed by the previous browser test
        reload_demo()
    client, eg = showcase_customer(eg=False), showcase_customer(eg=True)
    django_user_model.objects.create_user(
        "cliente_flujo", "flujo@example.cl", PASSWORD, profile="client", customer=client
    )
    django_user_model.objects.create_user(
        "eg_flujo", "flujo-eg@example.cl", PASSWORD, profile="eg", customer=eg
    )
    annex = BillingDocument.objects.filter(customer=eg).injection_annexes().first()
    return {"client": client.number, "eg": eg.number, "annex": annex.folio}


@pytest.fixture
def browser_page(accounts, live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(accept_downloads=True, locale="es-CL")
        page = context.new_page()
        outside, refused = watch(page, live_server.url)
        yield page, outside
        browser.close()
        assert refused == []


def log_in(page, base: str, username: str) -> None:
    page.goto(base + "/")
    page.get_by_role("link", name="Ingresar").first.click()
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.get_by_role("link", name="Mi cuenta").click()


def download(page, tmp_path, name: str, click) -> bytes:
    with page.expect_download() as info:
        click()
    target = tmp_path / name
    info.value.save_as(target)
    return target.read_bytes()


def test_a_customer_logs_in_sees_the_chart_and_downloads_an_invoice(
    accounts, live_server, browser_page, tmp_path
):
    page, outside = browser_page
    log_in(page, live_server.url, "cliente_flujo")
    page.wait_for_selector("h1:has-text('Resumen')")
    assert accounts["client"] in page.locator(".account-head").inner_text()
    chart = page.locator("figure.chart-wrap svg.chart")
    assert chart.is_visible() and chart.locator("rect").count() > 60
    assert page.locator("table tbody tr").count() == 36

    page.get_by_role("link", name="Boletas y facturas").click()
    page.wait_for_selector("h2:has-text('Boletas y facturas de suministro')")
    pdf = download(
        page, tmp_path, "boleta.pdf", page.get_by_role("link", name="Descargar PDF").first.click
    )
    assert pdf.startswith(b"%PDF")
    saved = download(page, tmp_path, "pagina.pdf", page.get_by_role("link", name="GUARDAR").click)
    assert saved.startswith(b"%PDF")
    assert outside == []


def test_an_eg_customer_goes_through_sections_i_to_ix(
    accounts, live_server, browser_page, tmp_path
):
    page, outside = browser_page
    log_in(page, live_server.url, "eg_flujo")
    for heading in ("I. Datos generales", "II. Datos técnicos", "III. Consumo y cargo neto"):
        page.wait_for_selector(f"h2:has-text('{heading}')")

    page.get_by_role("link", name="Consumo e inyecciones").click()
    page.wait_for_selector("h2:has-text('IV. Consumo e inyecciones')")
    assert page.locator("svg.chart").count() == 2

    page.get_by_role("link", name="Boletas y facturas").click()
    page.select_option("select[name=tipo]", "annexes")
    page.fill("input[name=folio]", accounts["annex"])
    page.get_by_role("button", name="BUSCAR").click()
    page.wait_for_selector(f"h3:has-text('Resultado') ~ div td:has-text('{accounts['annex']}')")

    page.get_by_role("link", name="Historial de lecturas").click()
    page.wait_for_selector("h2:has-text('VI. Historial de lecturas')")
    history = download(
        page, tmp_path, "historial.pdf", page.get_by_role("link", name="GUARDAR").click
    )
    assert history.startswith(b"%PDF")

    page.get_by_role("link", name="Remanentes").click()
    page.wait_for_selector("h2:has-text('VII. Liquidación de remanentes')")
    page.wait_for_selector("h2:has-text('Cartola de remanentes')")

    page.get_by_role("link", name="Medidor").click()
    page.wait_for_selector("h2:has-text('VIII. Valores del display del medidor')")
    page.wait_for_selector("td code:has-text('1.8.0')")
    page.wait_for_selector("td code:has-text('2.8.0')")

    page.get_by_role("link", name="Contrato y ubicación").click()
    page.wait_for_selector("h2:has-text('IX. Documentos de la conexión')")
    assert "Huso" in page.content()
    contract = download(
        page, tmp_path, "contrato.pdf", page.get_by_role("link", name="Descargar PDF").first.click
    )
    assert contract.startswith(b"%PDF")
    page.screenshot(path=str(tmp_path / "contrato.png"), full_page=True)
    assert outside == []
