"""At 360 px every grid and table scrolls inside its card and its links stay readable.

Each persona walks its pages in headless Chromium at 360 × 800 from its start pages, following
the links of the pages it reaches (two steps deep, one page of each kind: the path with its
numbers taken out), and every page is measured in the browser: the page itself never scrolls
sideways, no table (or the box it scrolls in) reaches past the screen, a table wider than its
box is inside a box that scrolls, and no link or button in a table is broken over more lines
than it has words (a code cut at its hyphen is a word break; one letter per line is not)."""

from __future__ import annotations

import re
from collections import deque
from datetime import timedelta
from urllib.parse import urljoin, urlparse

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from metering.models import EstimatedReading
from network.models import Feeder, Pole, Transformer
from outages.models import OutageEvent
from tests.browser.chromium import ARGS, CHROMIUM, watch
from tests.conftest import reload_demo

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 360
DEPTH = 2
# Not pages: downloads, PDFs, the API, tiles, the admin; logging out ends the walk.
NOT_PAGES = re.compile(
    r"(salir|formato=|format=|/admin/|/api/|/tiles/|/static/|/captcha/|\.(csv|kmz|xml|xsd|pdf|zip)"
    r"|/pdf/|/descarga|/archivo|/documentos/\d)"
)

MEASURE = """() => {
  const problems = [];
  const screen = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > screen + 1)
    problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth} px)`);
  const tables = [...document.querySelectorAll('main table')];
  tables.forEach((table, i) => {
    let box = table.parentElement;
    while (box && box !== document.body &&
           !['auto', 'scroll'].includes(getComputedStyle(box).overflowX)) box = box.parentElement;
    const scrolls = box && box !== document.body;
    const area = (scrolls ? box : table).getBoundingClientRect();
    const name = `table ${i + 1} (${(table.querySelector('caption, th') || table)
      .textContent.trim().slice(0, 30)})`;
    if (area.right > screen + 1) problems.push(`${name} ends at ${Math.round(area.right)} px`);
    if (!scrolls && table.scrollWidth > table.clientWidth + 1)
      problems.push(`${name} is wider than its card and does not scroll`);
    table.querySelectorAll('a, button').forEach((link) => {
      const text = link.textContent.trim();
      if (!text) return;
      const words = text.split(/[\\s\\-‐–·,/]+/).filter(Boolean).length;
      // The lines its text takes (a range's boxes: the element's own box counts its padding).
      const range = document.createRange();
      range.selectNodeContents(link);
      const lines = new Set([...range.getClientRects()].filter((r) => r.width > 0)
        .map((r) => Math.round(r.bottom))).size;
      if (lines > words)
        problems.push(`«${text.slice(0, 30)}» in ${name} takes ${lines} lines for ${words} words`);
    });
  });
  return {problems, tables: tables.length};
}"""


BROKEN = (
    """<main>
<table><tr>"""
    + "<td>columna_ancha_sin_cortes</td>" * 6
    + """</tr></table>
<div style="overflow-x: auto"><table><tr><td style="width: 1ch; word-break: break-all">
<a href="#">Detalle</a></td><td>"""
    + "texto " * 200
    + """</td></tr></table></div>
</main>"""
)


@pytest.fixture(scope="module", autouse=True)
def demo_set_left_in_place(django_db_setup, django_db_blocker):
    """The live server's flush empties the database after the test: load the demo again."""
    yield
    with django_db_blocker.unblock():
        if not Feeder.objects.exists():
            reload_demo()


def _kind(path: str) -> str:
    """The page's kind: its path with the numbers taken out and its parameters' names (and the
    value of `tipo`, which picks what a page lists)."""
    url = urlparse(path)
    names = sorted(
        part if part.startswith("tipo=") else part.split("=")[0]
        for part in url.query.split("&")
        if part and not part.startswith("pagina")
    )
    return re.sub(r"\d+", "N", url.path) + (f"?{'&'.join(names)}" if names else "")


@pytest.fixture
def walks(demo_network, persona_users):
    """Each persona's session cookie and start pages, read before the browser starts."""
    if not Feeder.objects.exists():  # flushed by a previous browser test
        reload_demo()
    feeder = (
        Feeder.objects.filter(kind="alimentador", transformers__isnull=False)
        .select_related("substation__comuna__region")
        .first()
    )
    substation, comuna = feeder.substation, feeder.substation.comuna
    where = f"region={comuna.region.code}&comuna={comuna.code}"
    transformer = Transformer.objects.filter(feeder=feeder).select_related("pole").first()
    pole = Pole.objects.filter(feeder=feeder).first()
    network = [
        f"/red/buscar/?{where}",
        f"/red/buscar/?{where}&subestacion={substation.pk}",
        f"/red/buscar/?{where}&subestacion={substation.pk}&alimentador={feeder.pk}",
        f"/red/alimentadores/{feeder.pk}/?tipo=poste&id=",
        f"/red/alimentadores/{feeder.pk}/?tipo=vano&id=",
        f"/red/alimentadores/{feeder.pk}/?tipo=equipo&id=",
        f"/red/transformador/?placa_poste={transformer.pole.plate}",
        f"/red/vnr/?codigo={pole.vnr.code}" if pole.vnr_id else "/red/vnr/",
    ]
    estimate = EstimatedReading.objects.select_related("channel__meter").order_by("ts").first()
    day = timezone.localtime(estimate.ts - timedelta(minutes=1)).date()
    event = OutageEvent.objects.order_by("pk").first()
    # Planners and customers first: SEC sees their pages too, and each kind is measured once.
    starts = {
        "public": ["/", *network],
        "planner": [
            "/",
            "/medicion/balances/",
            f"/medicion/vee/{estimate.channel.meter.serial}/{day:%Y-%m-%d}/",
            "/medicion/cargas/",
            "/medicion/reportes/",
            f"/calidad-de-servicio/eventos/{event.pk}/",
            "/calidad-de-servicio/",
        ],
        "client": ["/mi-cuenta/", f"/clientes/{persona_users['client'].customer_id}/"],
        "eg": [f"/clientes/{persona_users['eg'].customer_id}/"],
        "sec": ["/", "/clientes/", "/regulador/entregas/"],
    }
    cookies = {}
    for persona in starts:
        browser = Client()
        browser.force_login(persona_users[persona])
        cookies[persona] = browser.cookies[settings.SESSION_COOKIE_NAME].value
    return starts, cookies


def test_every_page_kind_keeps_its_tables_in_their_cards_at_360_px(walks, live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    starts, cookies = walks
    base = live_server.url
    problems: dict[str, list[str]] = {}
    # One page of each kind, by whichever persona reaches it first (the layout is the same).
    kinds: set[str] = set()
    reached: dict[str, set[str]] = {}
    tables = 0
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        # The measure itself finds what it looks for: a table that pushes the page sideways
        # and a link broken one letter per line.
        probe = browser.new_page(viewport={"width": WIDTH, "height": 800})
        probe.set_content(BROKEN)
        found = probe.evaluate(MEASURE)["problems"]
        assert any("scrolls sideways" in p for p in found), found
        assert any("«Detalle» in table 2" in p for p in found), found
        probe.close()
        for persona, pages in starts.items():
            context = browser.new_context(viewport={"width": WIDTH, "height": 800}, locale="es-CL")
            context.add_cookies(
                [{"name": settings.SESSION_COOKIE_NAME, "value": cookies[persona], "url": base}]
            )
            page = context.new_page()
            outside, refused = watch(page, base)
            queue = deque((path, 0) for path in pages)
            starts_left = set(pages)  # walked from even when another persona saw their kind
            mine = reached.setdefault(persona, set())
            while queue:
                path, depth = queue.popleft()
                if _kind(path) in kinds and path not in starts_left:
                    continue
                starts_left.discard(path)
                kinds.add(_kind(path))
                mine.add(_kind(path))
                response = page.goto(base + path)
                if response is None or "text/html" not in response.headers.get("content-type", ""):
                    continue
                assert response.status == 200, f"{persona} {path}: {response.status}"
                measured = page.evaluate(MEASURE)
                tables += measured["tables"]
                if measured["problems"]:
                    problems[f"{persona} {path}"] = measured["problems"]
                if depth >= DEPTH:
                    continue
                for href in page.eval_on_selector_all(
                    "main a[href], nav a[href]", "links => links.map(a => a.getAttribute('href'))"
                ):
                    url = urlparse(urljoin(base + path, href))
                    if url.netloc != urlparse(base).netloc or url.fragment and not url.path:
                        continue
                    target = url.path + (f"?{url.query}" if url.query else "")
                    if not NOT_PAGES.search(target):
                        queue.append((target, depth + 1))
            assert outside == [] and refused == [], persona
            context.close()
        browser.close()
    assert problems == {}
    # The walk reached the pages it is meant to measure: each persona's grids and tables.
    assert kinds >= {
        "/red/buscar/?comuna&region",
        "/red/buscar/?alimentador&comuna&region&subestacion",
        "/red/alimentadores/N/?id&tipo=vano",
        "/red/alimentadores/N/?id&tipo=equipo",
        "/red/subestaciones/N/",
        "/red/transformadores/N/",
    }
    assert {"/medicion/cargas/N/", "/calidad-de-servicio/eventos/N/"} <= reached["planner"]
    assert any(k.startswith("/medicion/vee/") and k.count("/") == 5 for k in reached["planner"])
    assert "/clientes/N/documentos/" in reached["client"]
    assert {"/clientes/N/remanentes/", "/clientes/N/historial/"} <= reached["eg"]
    assert {"/clientes/", "/regulador/entregas/"} <= reached["sec"]
    assert len(kinds) >= 50 and tables >= 60
