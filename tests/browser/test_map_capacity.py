"""The map page's capacity layer, coordinate search and pointer readout in headless Chromium,
offline: a capacity dot's popup, the nearest poles of a typed coordinate, the coordinates under
the pointer (and the centre's on a phone)."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from capacity.models import PoleCapacity
from geo.lib.utm import to_utm
from network.models import Feeder
from tests.browser.chromium import ARGS, CHROMIUM, watch
from tests.conftest import reload_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module", autouse=True)
def demo_set_left_in_place(django_db_setup, django_db_blocker):
    """The live server's flush empties the database: leave the demo set loaded again."""
    yield
    with django_db_blocker.unblock():
        if not Feeder.objects.exists():
            reload_demo()


@pytest.fixture
def scene(demo_network, django_user_model):
    """What the test picks, and a logged-in session, read before the browser's event loop."""
    if not PoleCapacity.objects.exists():  # flushed by a previous browser test
        reload_demo()
    row = PoleCapacity.objects.select_related("pole").order_by("pole_id")[40]
    user = django_user_model.objects.create_user(
        "capacidad_pmgd", "cap@example.cl", "clave-segura-123", profile="public", rut="11111111-1"
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    lon, lat = row.pole.location.x, row.pole.location.y
    utm = to_utm(lon + 0.01, lat - 0.01)
    return {
        "pole": (row.pole.pk, row.pole.plate, lat, lon),
        "remaining": row.remaining_mw,
        "utm": (lat - 0.01, lon + 0.01, utm.x, utm.y),
        "session": session.session_key,
    }


def open_page(playwright, live_server, scene, **context):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    ctx = browser.new_context(locale="es-CL", **context)
    ctx.add_cookies([{"name": "sessionid", "value": scene["session"], "url": live_server.url}])
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    outside, refused = watch(page, live_server.url)
    return browser, page, errors, outside, refused


def wait_for_tiles(page) -> None:
    page.wait_for_function(
        "() => window.mapfirst && !mapfirst.grid.isLoading()"
        " && (!mapfirst.map.hasLayer(mapfirst.overlay) || !mapfirst.overlay.isLoading())"
        " && document.querySelectorAll('#mapfirst canvas').length > 0"
    )


def test_capacity_popup_coordinate_search_pointer_readout_and_phone_layout(scene, live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    pk, plate, lat, lon = scene["pole"]
    with sync_api.sync_playwright() as playwright:
        browser, page, errors, outside, refused = open_page(
            playwright, live_server, scene, viewport={"width": 1280, "height": 900}
        )
        page.goto(f"{live_server.url}/red/mapa/?lat={lat}&lon={lon}&z=17")
        wait_for_tiles(page)

        # The capacity layer is on by default, in its own box of the layer switcher.
        switch = page.locator(".mapfirst-overlays input[name=capacity]")
        assert switch.is_checked()
        assert page.locator(".mapfirst-overlays input[name=boundaries]").is_checked()
        assert page.locator(".mapfirst-layers input[type=checkbox]").count() == 6

        # Click the pole: its capacity dot, drawn over the network, answers.
        point = page.evaluate(f"mapfirst.map.latLngToContainerPoint([{lat}, {lon}])")
        box = page.locator("#mapfirst").bounding_box()
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for()
        text = popup.inner_text()
        assert f"Poste {plate}" in text
        for words in ("MW disponible", "Capacidad indicativa", "aguas abajo",
                      "Criterio limitante", "Elemento limitante", "Scc", "Ik''3", "Ik''1",
                      "Cálculo", "Fecha de actualización", "indicativo"):  # fmt: skip
            assert words in text, words
        assert f"{scene['remaining']:.2f}".replace(".", ",") in text
        assert f"sel=poste%3A{pk}" in page.url or f"sel=poste:{pk}" in page.url

        # Off: the overlay leaves the map; the same click opens the network pole instead.
        page.locator(".leaflet-popup-close-button").click()
        popup.wait_for(state="detached")  # Leaflet fades a closed popup out for 200 ms
        switch.uncheck()
        assert page.evaluate("mapfirst.map.hasLayer(mapfirst.overlay)") is True  # names stay
        # The popup's auto-pan moved the map, the switch scrolled the page: where the pole is now.
        point = page.evaluate(f"mapfirst.map.latLngToContainerPoint([{lat}, {lon}])")
        box = page.locator("#mapfirst").bounding_box()
        page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
        popup.wait_for()
        assert "MW disponible" not in popup.inner_text()
        assert f"Poste {plate}" in popup.inner_text()
        switch.check()

        # A coordinate with hemisphere letters: the nearest poles are listed.
        page.fill("#mapfirst-q", f"{abs(lat):.6f} S {abs(lon):.6f} O")
        page.press("#mapfirst-q", "Enter")
        items = page.locator("#mapfirst-results li")
        items.first.wait_for()
        assert items.count() == 10
        assert f"Poste {plate}" in items.first.inner_text()
        assert " m · alimentador " in items.first.inner_text()
        assert "MW disponibles" in page.locator("#mapfirst-results").inner_text()
        assert "postes más cercanos" in page.locator("#mapfirst-status").inner_text()
        assert "Punto" in page.locator(".leaflet-popup-content").last.inner_text()
        assert "q=" in page.url

        # A bad coordinate: a message, no error.
        page.fill("#mapfirst-q", "48.85 2.35")
        page.press("#mapfirst-q", "Enter")
        page.wait_for_function(
            "() => document.getElementById('mapfirst-status').textContent.includes('fuera')"
        )

        # The pointer's coordinates, decimal and UTM, in the corner (the list above the map
        # moved it down the page).
        page.locator("#mapfirst").scroll_into_view_if_needed()
        box = page.locator("#mapfirst").bounding_box()
        page.mouse.move(box["x"] + 300, box["y"] + 300)
        page.mouse.move(box["x"] + 310, box["y"] + 305)
        readout = page.locator("#mapfirst-readout")
        text = readout.inner_text()
        assert "Puntero" in text and "UTM 19S" in text
        assert "," in text.split(";")[0]  # decimal comma
        # The script's UTM agrees with pyproj's to the metre.
        u_lat, u_lon, east, north = scene["utm"]
        js = page.evaluate(f"mapfirstUtm({u_lat}, {u_lon})")
        assert js["zone"] == "19S"
        assert abs(js["easting"] - east) < 1 and abs(js["northing"] - north) < 1
        browser.close()
    assert outside == [] and refused == [] and errors == []
    check_the_phone_layout(scene, live_server)


def check_the_phone_layout(scene, live_server):
    """On a phone the corner shows the centre and the switchers fold."""
    sync_api = pytest.importorskip("playwright.sync_api")
    pk, plate, lat, lon = scene["pole"]
    with sync_api.sync_playwright() as playwright:
        browser, page, errors, outside, refused = open_page(
            playwright, live_server, scene,
            viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True,
        )  # fmt: skip
        page.goto(f"{live_server.url}/red/mapa/?lat={lat}&lon={lon}&z=16")
        wait_for_tiles(page)
        readout = page.locator("#mapfirst-readout")
        assert "Centro" in readout.inner_text()
        assert f"{lat:.5f}".replace(".", ",") in readout.inner_text()
        assert page.locator(".mapfirst-overlays").get_attribute("class").count("folded") == 1
        assert not page.locator(".mapfirst-overlays input[name=capacity]").is_visible()
        page.locator(".mapfirst-overlays .mapfirst-toggle").click()
        assert page.locator(".mapfirst-overlays input[name=capacity]").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360
        browser.close()
    assert outside == [] and refused == [] and errors == []
