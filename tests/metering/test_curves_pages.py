"""The curves pages: who may see them, what they show (the SVG with its band and series, the
CSV of the same numbers, the PDF), the access log, and clear messages for bad input."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.urls import reverse

from accounts.models import AccessLog
from metering.models import Meter
from metering.services import curve_figures, curves, groups
from tests.metering.test_curves import MONDAY, TUESDAY, TWO_DAYS, grid  # noqa: F401

pytestmark = pytest.mark.django_db

METER_URL = reverse("metering:meter_curves")
GROUP_URL = reverse("metering:group_curves")
DAYS = {"desde": MONDAY.isoformat(), "hasta": TUESDAY.isoformat()}


def rows_of(response) -> list[list[str]]:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


@pytest.mark.parametrize(
    ("persona", "status"),
    [("anonymous", 302), ("public", 403), ("client", 403), ("eg", 403), ("sec", 200),
     ("planner", 200)],
)  # fmt: skip
def test_each_persona_gets_the_meter_curves_as_the_monitoring_rule_says(
    grid,  # noqa: F811
    login_as,
    persona,
    status,
):
    browser = login_as(persona)
    response = browser.get(METER_URL, {"medidor": "M-A", **DAYS})
    assert response.status_code == status
    group = browser.get(GROUP_URL, {"grupo": "comuna", "clave": "09101", **DAYS})
    assert group.status_code == status
    if status == 302:
        assert "/cuentas/ingresar/" in response["Location"]


def test_the_voltage_page_draws_the_band_and_each_phase_and_names_no_customer(
    client,
    planner,
    grid,  # noqa: F811
):
    client.force_login(planner)
    response = client.get(METER_URL, {"medidor": "M-A", "magnitud": "tension", **DAYS})
    assert response.status_code == 200
    page = response.content.decode()
    meter = Meter.objects.select_related("customer").get(serial="M-A")
    assert "TD-1" in page and "AL-1" in page
    assert meter.customer.name not in page and meter.customer.rut not in page
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    assert 'class="band"' in svg and "Banda 203,5–236,5 V" in svg
    series = re.findall(r'<polyline class="series" points="([^"]+)"[^>]*data-serie="([^"]+)"', svg)
    assert [name for _, name in series] == ["Tensión fase L1"]
    assert len(series[0][0].split()) == 3  # L1's three intervals
    assert 'data-serie="Tensión fase L2"' in svg  # one interval: a dot
    assert "Tensión (V)" in svg and "Fecha (hora local)" in svg


def test_the_svg_puts_each_value_at_its_height(grid):  # noqa: F811
    """The drawn y of each point follows the value on the axis' scale."""
    meter = Meter.objects.get(serial="M-A")
    found = curves.quantity_curves(meter, curves.QUANTITIES["tension"], TWO_DAYS)
    svg = curve_figures.quantity_svg(found)
    points = re.search(r'<polyline class="series" points="([^"]+)"', svg).group(1)
    ys = [float(p.split(",")[1]) for p in points.split()]
    values = [p.mean for p in found.lines[0].points]  # 221, 223, 199
    # Linear: pixels per volt from the two far points place the middle one; higher is up.
    scale = (ys[2] - ys[0]) / (values[0] - values[2])
    assert scale > 1
    assert ys[1] == pytest.approx(ys[0] - (values[1] - values[0]) * scale, abs=0.15)


def test_the_meter_csv_is_the_series_drawn(client, planner, grid):  # noqa: F811
    client.force_login(planner)
    response = client.get(
        METER_URL, {"medidor": "M-A", "magnitud": "tension", "formato": "csv", **DAYS}
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "tension-M-A" in response["Content-Disposition"].lower().replace("m-a", "M-A")
    rows = rows_of(response)
    assert rows[0] == ["serie", "inicio", "minimo (V)", "promedio (V)", "maximo (V)"]
    found = curves.quantity_curves(
        Meter.objects.get(serial="M-A"), curves.QUANTITIES["tension"], TWO_DAYS
    )
    expected = [
        [line.name, p.starts.isoformat(), repr(p.low), repr(p.mean), repr(p.high)]
        for line in found.lines
        for p in line.points
    ]
    assert rows[1:] == expected
    assert [float(r[3]) for r in rows[1:4]] == [221.0, 223.0, 199.0]


@pytest.mark.parametrize("curve", list(curve_figures.LOAD_CURVES))
def test_each_group_csv_is_its_curve(client, planner, grid, curve):  # noqa: F811
    client.force_login(planner)
    response = client.get(
        GROUP_URL,
        {"grupo": "alimentador", "clave": "AL-1", "formato": "csv", "curva": curve, **DAYS},
    )
    assert response.status_code == 200
    rows = rows_of(response)
    load = curves.load_curves(groups.resolve_group("alimentador", "AL-1"), TWO_DAYS)
    table = curve_figures.load_table(load, curve, "x")
    assert tuple(rows[0]) == table.header
    assert rows[1:] == [[str(v) for v in row] for row in table.rows]
    if curve == "diaria":
        assert rows[1:] == [["00:00", "11.5"], ["00:15", "3.0"]]
    if curve == "duracion":
        assert [r[1] for r in rows[1:]] == ["20.0", "4.0", "3.0", "2.0"]


def test_the_group_page_draws_every_load_curve(client, planner, grid):  # noqa: F811
    client.force_login(planner)
    response = client.get(GROUP_URL, {"grupo": "transformador", "clave": "TD-1", **DAYS})
    page = response.content.decode()
    assert response.status_code == 200
    for title in curve_figures.LOAD_CURVES.values():
        assert title in page
    assert page.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4
    assert "Potencia activa (kW)" in page and "Hora del día" in page
    assert "curva=duracion" in page and "formato=csv" in page


def test_the_pages_log_the_view_the_meter_as_a_customers_personal_data(
    client,
    planner,
    grid,  # noqa: F811
):
    client.force_login(planner)
    client.get(METER_URL, {"medidor": "M-A", "magnitud": "corriente", **DAYS})
    client.get(METER_URL, {"medidor": "M-A", "formato": "csv", **DAYS})
    client.get(GROUP_URL, {"grupo": "tarifa", "clave": "BT1a", **DAYS})
    log = list(
        AccessLog.objects.filter(user=planner).order_by("id").values_list("kind", "reference")
    )
    assert log == [
        (AccessLog.Kind.CUSTOMER, "curvas del medidor M-A (corriente)"),
        (AccessLog.Kind.CUSTOMER, "curvas del medidor M-A (tension) (CSV)"),
        (AccessLog.Kind.MONITORING, "curvas del grupo tarifa BT1a"),
    ]


def test_an_unknown_meter_or_group_answers_404(client, planner, grid):  # noqa: F811
    client.force_login(planner)
    assert client.get(METER_URL, {"medidor": "NO-EXISTE"}).status_code == 404
    assert client.get(GROUP_URL, {"grupo": "comuna", "clave": "99999"}).status_code == 404
    assert client.get(GROUP_URL, {"grupo": "tarifa", "clave": "BT9"}).status_code == 404
    assert client.get(GROUP_URL, {"grupo": "alimentador", "clave": "NO"}).status_code == 404


@pytest.mark.parametrize(
    ("url", "params", "message"),
    [
        (METER_URL, {"medidor": "M-A", "desde": "2026-02-30", "hasta": "2026-03-02"},
         "La fecha inicial «2026-02-30» no es válida"),
        (METER_URL, {"medidor": "M-A", "desde": "2025-01-01", "hasta": "2026-03-02"},
         "el máximo es 366 días"),
        (METER_URL, {"medidor": "M-A", "magnitud": "potencia-reactiva"}, "Magnitud desconocida"),
        (GROUP_URL, {"grupo": "comuna", "clave": "09101", "desde": "2026-03-05",
                     "hasta": "2026-03-01"}, "es anterior a la inicial"),
        (GROUP_URL, {"grupo": "region", "clave": "13"}, "Tipo de grupo desconocido"),
        (GROUP_URL, {"grupo": "comuna", "clave": "santiago"}, "Clave de comuna mal escrita"),
    ],
)  # fmt: skip
def test_bad_input_is_a_clear_message_on_the_page(client, planner, grid, url, params, message):  # noqa: F811
    client.force_login(planner)
    response = client.get(url, params)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert "<svg" not in response.content.decode().split("</form>")[1]
    csv_response = client.get(url, {**params, "formato": "csv"})
    assert csv_response.status_code == 400
    assert message in csv_response.content.decode()


def test_the_pages_render_as_pdf_with_the_same_chart(client, planner, grid):  # noqa: F811
    client.force_login(planner)
    meter = client.get(METER_URL, {"medidor": "M-A", "formato": "pdf", **DAYS})
    assert meter.status_code == 200 and meter["Content-Type"] == "application/pdf"
    assert meter.content.startswith(b"%PDF") and len(meter.content) > 5000
    assert "curvas-medidor-m-a" in meter["Content-Disposition"]
    group = client.get(GROUP_URL, {"grupo": "comuna", "clave": "09101", "formato": "pdf", **DAYS})
    assert group.status_code == 200 and group.content.startswith(b"%PDF")


def test_the_monitoring_page_links_to_the_curves(client, planner):
    client.force_login(planner)
    page = client.get(reverse("metering:monitoring")).content.decode()
    assert METER_URL in page and GROUP_URL in page
    # Every page's menu leads to the metering pages, whose own menu has the load curves.
    assert reverse("metering:monitoring") in client.get(reverse("network:vnr")).content.decode()


def test_a_csv_without_its_curve_or_subject_says_what_is_missing(client, planner, grid):  # noqa: F811
    client.force_login(planner)
    group = client.get(GROUP_URL, {"grupo": "comuna", "clave": "09101", "formato": "csv"})
    assert group.status_code == 400 and "Elija la curva que descargar" in group.content.decode()
    meter = client.get(METER_URL, {"formato": "csv"})
    assert meter.status_code == 400 and "Indique el número de serie" in meter.content.decode()
