"""A planner imports a GIS export from the admin in headless Chromium: upload the zip, read
the dry run's report, apply it; offline and under the Content-Security-Policy."""

from __future__ import annotations

import zipfile

import pytest

from network.models import Feeder, Span
from tests.browser.chromium import ARGS, CHROMIUM, watch
from tests.conftest import PASSWORD, reload_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def demo_set_left_in_place(django_db_setup, django_db_blocker):
    """The live server's flush empties the database after each test: load the demo again."""
    yield
    with django_db_blocker.unblock():
        if not Feeder.objects.exists():
            reload_demo()


def test_a_planner_uploads_checks_and_applies_an_export(
    demo_network, planner, shared_data, live_server, settings, tmp_path
):
    oberrhein = shared_data / "networks" / "mv_oberrhein"
    if not Feeder.objects.exists():  # flushed by a previous browser test
        reload_demo()
    settings.IMPORT_UPLOAD_DIR = tmp_path / "importaciones"
    archive = tmp_path / "oberrhein.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(oberrhein.glob("*.geojson")):
            bundle.write(path, path.name)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_context(locale="es-CL").new_page()
        outside, refused = watch(page, live_server.url)
        page.goto(live_server.url + "/cuentas/ingresar/")
        page.fill("input[name=username]", planner.username)
        page.fill("input[name=password]", PASSWORD)
        page.locator("form button[type=submit]").last.click()

        page.goto(live_server.url + "/admin/core/importjob/add/")
        page.select_option("select[name=kind]", "red")
        page.set_input_files("input[name=file]", str(archive))
        page.select_option("select[name=red__mapping]", "mv_oberrhein")
        page.get_by_role("button", name="Guardar", exact=True).click()

        # The dry run's page: its state, the report table and the button to apply.
        page.get_by_role("heading", name="Estado: Revisado: puede aplicarse").wait_for()
        assert page.get_by_role("link", name="Descargar el informe completo (CSV)").count() == 1
        # (That the dry run wrote nothing is tests/network/test_import_jobs.py's: no database
        # query may run inside Playwright's event loop.)
        page.get_by_role("button", name="Aplicar la importación").click()
        page.get_by_role("heading", name="Estado: Aplicado").wait_for()
        assert page.get_by_role("button", name="Aplicar la importación").count() == 0
        browser.close()
    assert Span.objects.filter(feeder__substation__distributor__code="OBERRHEIN").count() > 100
    assert outside == [] and refused == []
