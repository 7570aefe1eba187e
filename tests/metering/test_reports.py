"""Period reports: energy, maximum demand, quality counts and estimated share, per point and
per group; kept, listed, and downloadable as XML (valid against its XSD), CSV and PDF."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from lxml import etree

from accounts.models import User
from metering import tasks
from metering.models import EstimatedReading, IntervalReading, MeteringReport, Quality
from metering.services import ingest, reports
from tests.factories import make_customer, make_feeder, make_meter, make_transformer

pytestmark = pytest.mark.django_db

A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
A_MINUS = "0.0.2.4.19.1.12.0.0.0.0.0.0.0.0.3.72.0"
SANTIAGO = ZoneInfo("America/Santiago")
DAY = date(2026, 3, 10)
XSD = Path(__file__).resolve().parents[2] / "metering" / "data" / "reporte_medicion.xsd"


def slot(k: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, tzinfo=SANTIAGO) + timedelta(minutes=15 * k)


@pytest.fixture
def feeder_day(tmp_path):
    """One feeder, one transformer with a totalizer and two customers on DAY. Customer A:
    1 kWh each interval but 0.5 at slot 40, exports 0.1 at slots 1–4, slot 10 missing
    (estimate 1.0), slot 20 flagged (manual 1.0). Customer B: 2 kWh each interval."""
    feeder = make_feeder(code="AL-R")
    transformer = make_transformer(feeder=feeder)
    a = make_meter("customer", serial="CLI-A", customer=make_customer(transformer=transformer))
    b = make_meter("customer", serial="CLI-B", customer=make_customer(transformer=transformer))
    make_meter("totalizer", serial="TOT-R", transformer=transformer)
    lines = ["meter,reading_type,timestamp,value"]
    for k in range(1, 97):
        if k != 10:
            lines.append(f"CLI-A,{A_PLUS},{slot(k).isoformat()},{0.5 if k == 40 else 1.0}")
        lines.append(f"CLI-B,{A_PLUS},{slot(k).isoformat()},2.0")
        lines.append(f"TOT-R,{A_PLUS},{slot(k).isoformat()},{3.1 + k / 1000:.3f}")
    lines += [f"CLI-A,{A_MINUS},{slot(k).isoformat()},0.1" for k in range(1, 5)]
    path = tmp_path / "d.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest.ingest_file(path)
    channel = a.channels.get(reading_type__code=A_PLUS)
    IntervalReading.objects.filter(channel=channel, ts=slot(20)).update(quality=Quality.SPIKE)
    EstimatedReading.objects.create(channel=channel, ts=slot(10), value=1.0, method="interpolation")
    EstimatedReading.objects.create(
        channel=channel, ts=slot(20), value=1.0, method="manual", accepted_at=slot(30)
    )
    return {"a": a, "b": b, "feeder": feeder}


def test_a_point_report_counts_energy_demand_quality_and_the_estimated_share(feeder_day):
    report = reports.point_report(feeder_day["a"], DAY, DAY)
    [row] = reports.rows_of(report)
    # 94 valid intervals (93 × 1 + 0.5) + the estimate and the manual value.
    assert row.imported_kwh == pytest.approx(93.5 + 2.0)
    assert row.exported_kwh == pytest.approx(0.4)
    assert row.max_kw == pytest.approx(4.0)
    assert row.max_at_local == slot(1)  # the first of the equal maxima
    assert (row.expected, row.valid, row.suspect, row.missing) == (96, 94, 1, 1)
    assert (row.estimated, row.manual) == (1, 1)
    assert row.estimated_kwh == pytest.approx(2.0)
    assert row.estimated_share == pytest.approx(round(200 / 95.5, 2))


def test_a_group_report_adds_its_meters_and_takes_the_coincident_maximum(feeder_day):
    from metering.services.groups import resolve_group

    group = resolve_group("alimentador", "AL-R")
    report = reports.group_report(group, DAY, DAY)
    assert report.title.startswith("Alimentador AL-R")
    [row] = reports.rows_of(report)
    assert row.key == "AL-R"
    assert row.meters == 2
    assert row.imported_kwh == pytest.approx(95.5 + 192.0)
    assert row.max_kw == pytest.approx(12.0)  # (1 + 2) × 4, not 4 + 8 at different times
    assert row.expected == 192 and row.missing == 1


def test_the_xml_is_valid_against_its_schema_and_the_csv_has_the_same_figures(feeder_day):
    report = reports.point_report(feeder_day["a"], DAY, DAY)
    document = etree.fromstring(reports.to_xml(report))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(document)
    ns = {"r": reports.XML_NAMESPACE}
    assert document.findtext("r:Fila/r:EnergiaImportadaKWh", namespaces=ns) == "95.500"
    assert document.find("r:Fila/r:Calidad", ns).get("faltantes") == "1"
    [line] = list(csv.DictReader(io.StringIO(reports.to_csv(report)), delimiter=";"))
    assert line["energia_importada_kwh"] == "95.500"
    assert line["demanda_maxima_kw"] == "4.000"
    assert line["participacion_estimada_pct"] == "2.09"


def test_the_monthly_task_keeps_the_scheduled_reports_and_a_rerun_replaces_them(feeder_day):
    answer = tasks.monthly_reports("2026-03")
    kept = MeteringReport.objects.filter(scheduled=True)
    assert kept.count() == 2 and "Clientes por alimentador" in answer
    network = kept.get(kind="points")
    assert [r["key"] for r in network.rows] == ["TOT-R"]
    by_feeder = kept.get(kind="groups")
    assert [(r["key"], r["meters"]) for r in by_feeder.rows] == [("AL-R", 2)]
    tasks.monthly_reports("2026-03")
    assert MeteringReport.objects.filter(scheduled=True).count() == 2


def test_a_period_too_long_or_backwards_is_refused(feeder_day):
    with pytest.raises(reports.ReportError, match="anterior"):
        reports.point_report(feeder_day["a"], DAY, DAY - timedelta(days=1))
    with pytest.raises(reports.ReportError, match="a lo más 366"):
        reports.point_report(feeder_day["a"], DAY, DAY + timedelta(days=400))


def test_the_pages_list_generate_and_download_reports(feeder_day, client):
    planner = User.objects.create_user("plan", password="x-y-z-123456", profile="planner")
    client.force_login(planner)
    bad = client.post(
        "/medicion/reportes/", {"medidor": "NO", "desde": "2026-03-10", "hasta": "2026-03-10"}
    )
    assert bad.status_code == 400 and "No existe el medidor" in bad.content.decode()
    made = client.post(
        "/medicion/reportes/", {"medidor": "CLI-A", "desde": "2026-03-10", "hasta": "2026-03-10"}
    )
    report = MeteringReport.objects.get()
    assert made.status_code == 302 and made["Location"] == f"/medicion/reportes/{report.pk}/"
    assert "CLI-A" in client.get("/medicion/reportes/").content.decode()
    assert "95,5" in client.get(f"/medicion/reportes/{report.pk}/").content.decode()
    xml = client.get(f"/medicion/reportes/{report.pk}/reporte.xml")
    assert xml["Content-Type"] == "application/xml" and b"ReporteMedicion" in xml.content
    assert client.get(f"/medicion/reportes/{report.pk}/reporte.csv").status_code == 200
    assert client.get(f"/medicion/reportes/{report.pk}/reporte.exe").status_code == 404
    pdf = client.get(f"/medicion/reportes/{report.pk}/", {"formato": "pdf"})
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert planner.accesses.filter(kind="puntos_medicion").count() >= 3
    assert client.get("/medicion/reportes/esquema.xsd").content.startswith(b"<?xml")
    group = client.post(
        "/medicion/reportes/",
        {"tipo": "grupo", "grupo": "alimentador", "clave": "AL-R", "desde": "2026-03-10",
         "hasta": "2026-03-10"},
    )  # fmt: skip
    assert group.status_code == 302
    assert MeteringReport.objects.filter(kind="groups", title__startswith="Alimentador AL-R")
    unknown = client.post(
        "/medicion/reportes/",
        {"tipo": "grupo", "grupo": "comuna", "clave": "99999", "desde": "2026-03-10",
         "hasta": "2026-03-10"},
    )  # fmt: skip
    assert unknown.status_code == 400 and "No existe la comuna" in unknown.content.decode()


def test_sec_reads_the_kept_reports_but_does_not_generate_them(feeder_day, client):
    report = reports.point_report(feeder_day["a"], DAY, DAY)
    sec = User.objects.create_user("sec", password="x-y-z-123456", profile="sec")
    client.force_login(sec)
    page = client.get("/medicion/reportes/").content.decode()
    assert report.title in page and "GENERAR" not in page
    assert client.get(f"/medicion/reportes/{report.pk}/reporte.xml").status_code == 200
    refused = client.post(
        "/medicion/reportes/", {"medidor": "CLI-A", "desde": "2026-03-10", "hasta": "2026-03-10"}
    )
    assert refused.status_code == 403 and MeteringReport.objects.count() == 1
