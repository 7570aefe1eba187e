"""The public profile's main flow in headless Chromium, against the real pages, offline."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from network.models import Feeder, Pole
from tests.browser.chromium import ARGS, CHROMIUM, watch

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def flow(demo_network):
    """What the flow will pick, read before the browser's event loop starts (Django refuses
    synchronous queries inside it)."""
    feeder = Feeder.objects.filter(kind="alimentador").select_related("substation__comuna__region")[
        0
    ]
    pole = Pole.objects.filter(feeder=feeder).order_by("plate")[3]
    return feeder, feeder.substation, pole


@pytest.fixture
def browser_page(flow, live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(accept_downloads=True, locale="es-CL")
        page = context.new_page()
        outside, refused = watch(page, live_server.url)
        yield page, outside
        browser.close()
        assert refused == []


def test_registration_cascade_feeder_detail_pole_search_and_guardar(
    flow, live_server, settings, browser_page, tmp_path
):
    settings.CAPTCHA_TEST_MODE = True
    page, outside = browser_page
    feeder, substation, pole = flow

    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Registrarse").first.click()
    page.fill("input[name=username]", "desarrolladora_pmgd")
    page.fill("input[name=email]", "pmgd@ejemplo.cl")
    page.fill("input[name=rut]", "12.345.678-5")
    page.fill("input[name=password1]", "Generacion-Distribuida-2026")
    page.fill("input[name=password2]", "Generacion-Distribuida-2026")
    page.fill("input[name=captcha_1]", "PASSED")
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_url("**/cuentas/registro/enviado/")
    assert "Revise su correo" in page.locator("h1").inner_text()

    # The first login is the emailed link (the locmem outbox: the live server shares the
    # process).
    (message,) = mail.outbox
    assert message.to == ["pmgd@ejemplo.cl"]
    link = re.search(r"http://\S+/cuentas/activar/\S+", message.body).group(0)
    page.goto(link)
    page.get_by_role("button", name="ACTIVAR MI CUENTA").click()
    page.wait_for_url("**/red/buscar/**")

    # Each choice loads the next list without reloading the page.
    page.select_option("select[name=region]", substation.comuna.region.code)
    page.wait_for_selector(
        f"select[name=comuna] option[value='{substation.comuna.code}']", state="attached"
    )
    page.select_option("select[name=comuna]", substation.comuna.code)
    page.wait_for_selector(
        f"select[name=subestacion] option[value='{substation.pk}']", state="attached"
    )
    page.select_option("select[name=subestacion]", str(substation.pk))
    page.wait_for_selector(
        f"select[name=alimentador] option[value='{feeder.pk}']", state="attached"
    )
    page.get_by_role("button", name="BUSCAR").click()
    page.wait_for_selector("text=Alimentadores de la subestación")
    assert page.locator("nav.breadcrumb").inner_text().count("›") >= 0
    assert substation.comuna.name in page.locator("nav.breadcrumb").inner_text()

    page.get_by_role("link", name=feeder.code, exact=True).click()
    page.wait_for_selector(f"h1:has-text('{feeder.name}')")
    page.wait_for_selector(".leaflet-container .leaflet-overlay-pane canvas")  # the map drew

    page.select_option("select[name=tipo]", "poste")
    page.fill("input[name=id]", pole.plate)
    page.locator(
        "#buscar-activo ~ form button, section[aria-labelledby=buscar-activo] button"
    ).first.click()
    # The result row: the plate, then its UTM coordinates (the feeder page may already show
    # the plate elsewhere, so waiting for the plate alone can return before the search does).
    row = page.locator(f"tr:has(td:text-is('{pole.plate}')):has(td:has-text('Huso'))")
    row.wait_for()
    assert "Huso" in row.inner_text()

    with page.expect_download() as download_info:
        page.get_by_role("link", name="GUARDAR").click()
    target = tmp_path / "alimentador.pdf"
    download_info.value.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")
    assert target.stat().st_size > 10_000
    page.screenshot(path=str(tmp_path / "feeder.png"), full_page=True)
    assert outside == []
