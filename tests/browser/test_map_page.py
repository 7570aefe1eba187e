"""The map-first search page in headless Chromium, offline: tiles draw, a feeder's popup opens
on a click, the search box zooms to a pole."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.gis.geos import LineString
from django.contrib.gis.measure import D
from django.contrib.sessions.backends.db import SessionStore

from network.models import Feeder, Pole, Substation
from tests.browser.chromium import ARGS, CHROMIUM, watch
from tests.conftest import reload_demo

FEEDER_ZOOM = 12  # feeders draw from z6 to z13; from z13 transformers could sit on the line


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def lone_point_on(feeder: Feeder) -> tuple[float, float] | None:
    """The middle of one of the feeder's longest segments, with no other feeder within 400 m
    and no substation within 800 m: a click there can only hit this feeder."""
    segments = [
        (a, b)
        for line in feeder.outline
        for a, b in zip(line.coords, line.coords[1:], strict=False)
    ]
    segments.sort(key=lambda s: (s[0][0] - s[1][0]) ** 2 + (s[0][1] - s[1][1]) ** 2, reverse=True)
    for a, b in segments[:15]:
        middle = LineString(a, b, srid=4326).interpolate_normalized(0.5)
        others = Feeder.objects.exclude(pk=feeder.pk).filter(
            outline__distance_lte=(middle, D(m=400))
        )
        if (
            not others.exists()
            and not Substation.objects.filter(location__distance_lte=(middle, D(m=800))).exists()
        ):
            return middle.y, middle.x
    return None


@pytest.fixture(scope="module", autouse=True)
def demo_set_left_in_place(django_db_setup, django_db_blocker):
    """Each test here ends with the live server's flush, which empties the database: leave the
    demo set loaded again for the browser tests that follow."""
    yield
    with django_db_blocker.unblock():
        if not Feeder.objects.exists():
            reload_demo()


@pytest.fixture
def scene(demo_network, django_user_model):
    """Everything the tests pick, and a logged-in session, read before the browser's event
    loop starts (Django refuses synchronous queries inside it)."""
    if not Feeder.objects.exists():  # flushed by the previous test of this module
        reload_demo()
    feeder, point = None, None
    for candidate in Feeder.objects.filter(outline__isnull=False).order_by("pk"):
        point = lone_point_on(candidate)
        if point:
            feeder = candidate
            break
    assert feeder, "no demo feeder has a stretch clear of the others"
    pole = Pole.objects.order_by("pk")[25]
    user = django_user_model.objects.create_user(
        "mapa_pmgd", "mapa@example.cl", "clave-segura-123", profile="public", rut="11111111-1"
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {
        "feeder": (feeder.pk, feeder.code, feeder.name),
        "point": point,
        "pole": (pole.pk, pole.plate, pole.location.y, pole.location.x),
        "session": session.session_key,
    }


@pytest.fixture
def browser_page(scene, live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context(locale="es-CL", viewport={"width": 1280, "height": 900})
        context.add_cookies(
            [{"name": "sessionid", "value": scene["session"], "url": live_server.url}]
        )
        page = context.new_page()
        errors: list[str] = []
        outside, refused = watch(page, live_server.url)
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page, outside, errors
        browser.close()
        assert refused == []


def wait_for_tiles(page) -> None:
    # Predicates as functions: Playwright evals a bare expression, which the page's CSP refuses.
    page.wait_for_function(
        "() => window.mapfirst && !mapfirst.grid.isLoading()"
        " && document.querySelectorAll('#mapfirst canvas').length > 0"
    )


def test_the_map_page_loads_offline_and_draws_the_network(
    scene, live_server, browser_page, tmp_path
):
    page, outside, errors = browser_page
    tiles: list[int] = []
    page.on("response", lambda r: tiles.append(r.status) if "/tiles/red/" in r.url else None)
    page.goto(live_server.url + "/red/mapa/")
    wait_for_tiles(page)

    assert page.locator("h1").inner_text() == "Mapa de la red"
    assert page.locator(".mapfirst-layers input[type=checkbox]").count() == 6
    assert page.locator("#mapfirst-legend li").count() >= 6
    assert tiles and set(tiles) <= {200, 204} and 200 in tiles
    # The network is drawn: some canvas pixel is not blank.
    painted = page.evaluate(
        """() => [...document.querySelectorAll('#mapfirst canvas')].some(c => {
             const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
             for (let i = 3; i < data.length; i += 4) if (data[i]) return true;
             return false; })"""
    )
    assert painted
    page.screenshot(path=str(tmp_path / "mapa.png"))
    assert outside == []
    assert errors == []


def test_clicking_a_feeder_opens_its_popup_with_a_link_to_its_page(
    scene, live_server, browser_page
):
    page, outside, errors = browser_page
    pk, code, name = scene["feeder"]
    lat, lon = scene["point"]
    page.goto(f"{live_server.url}/red/mapa/?lat={lat}&lon={lon}&z={FEEDER_ZOOM}")
    wait_for_tiles(page)

    point = page.evaluate(f"mapfirst.map.latLngToContainerPoint([{lat}, {lon}])")
    box = page.locator("#mapfirst").bounding_box()
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()

    assert f"Alimentador {code}" in popup.inner_text()
    assert name in popup.inner_text()
    link = popup.get_by_role("link", name="Ver ficha")
    assert link.get_attribute("href") == f"/red/alimentadores/{pk}/"
    assert parse_qs(urlparse(page.url).query)["sel"] == [f"alimentador:{pk}"]
    assert outside == []
    assert errors == []


def test_typing_a_pole_plate_in_the_search_box_zooms_to_it(scene, live_server, browser_page):
    page, outside, errors = browser_page
    pk, plate, lat, lon = scene["pole"]
    page.goto(live_server.url + "/red/mapa/")
    wait_for_tiles(page)
    assert page.evaluate("mapfirst.map.getZoom()") < 15

    page.fill("#mapfirst-q", plate)
    page.press("#mapfirst-q", "Enter")
    page.wait_for_function("() => mapfirst.map.getZoom() === 18")

    center = page.evaluate("mapfirst.map.getCenter()")
    assert center["lat"] == pytest.approx(lat, abs=1e-5)
    assert center["lng"] == pytest.approx(lon, abs=1e-5)
    assert plate in page.locator("#mapfirst-status").inner_text()
    assert plate in page.locator(".leaflet-popup-content").inner_text()
    query = parse_qs(urlparse(page.url).query)
    assert query["sel"] == [f"poste:{pk}"]
    assert query["z"] == ["18"]
    assert float(query["lat"][0]) == pytest.approx(lat, abs=1e-5)
    # The permalink opens the same view with the same pole selected.
    page.goto(page.url)
    wait_for_tiles(page)
    assert page.evaluate("mapfirst.map.getZoom()") == 18
    assert plate in page.locator(".leaflet-popup-content").inner_text()
    assert outside == []
    assert errors == []
