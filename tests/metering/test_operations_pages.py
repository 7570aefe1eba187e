"""The ingest side on screen: ingest runs with their rejections, and the DR messages
received, filtered and paginated, for planners and SEC."""

from __future__ import annotations

import pytest

from accounts.models import User
from metering.models import DrMessage, IngestRun
from metering.services import ingest
from tests.factories import make_meter

pytestmark = pytest.mark.django_db

A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
PASSWORD = "x-y-z-123456"


@pytest.fixture
def planner_client(client):
    client.force_login(User.objects.create_user("plan", password=PASSWORD, profile="planner"))
    return client


@pytest.fixture
def runs(tmp_path, settings):
    settings.METERING_REPORTS_DIR = tmp_path / "informes"
    make_meter("customer", serial="M-1")
    good = tmp_path / "buena.csv"
    good.write_text(
        f"meter,reading_type,timestamp,value\nM-1,{A_PLUS},2026-03-10T00:15:00-03:00,0.4\n",
        encoding="utf-8",
    )
    bad = tmp_path / "mala.csv"
    bad.write_text(
        "meter,reading_type,timestamp,value\n"
        f"M-1,{A_PLUS},2026-03-10T00:30:00-03:00,0.5\n"
        f"NO-EXISTE,{A_PLUS},2026-03-10T00:30:00-03:00,0.5\n"
        f"M-1,{A_PLUS},no-es-fecha,0.5\n",
        encoding="utf-8",
    )
    return ingest.ingest_file(good).run, ingest.ingest_file(bad).run


def test_the_runs_list_filters_by_rejections_and_status(runs, planner_client):
    page = planner_client.get("/medicion/cargas/").content.decode()
    assert "buena.csv" in page and "mala.csv" in page
    only_bad = planner_client.get("/medicion/cargas/", {"solo": "con-rechazos"}).content.decode()
    assert "mala.csv" in only_bad and "buena.csv" not in only_bad
    failed = planner_client.get("/medicion/cargas/", {"estado": "failed"}).content.decode()
    assert "No hay cargas con estos filtros." in failed


def test_a_run_shows_its_rejections_and_its_report_downloads(runs, planner_client):
    _, bad = runs
    page = planner_client.get(f"/medicion/cargas/{bad.pk}/").content.decode()
    assert "NO-EXISTE" in page and "medidor desconocido" in page
    report = planner_client.get(f"/medicion/cargas/{bad.pk}/informe.csv")
    assert report.status_code == 200
    body = b"".join(report.streaming_content).decode("utf-8-sig")
    assert body.splitlines()[0] == "archivo;ubicación;campo;motivo;medidor;valor"
    assert len(body.splitlines()) == 3
    assert planner_client.get("/medicion/cargas/999999/").status_code == 404


def test_a_report_path_outside_the_reports_folder_is_not_served(runs, planner_client, tmp_path):
    _, bad = runs
    IngestRun.objects.filter(pk=bad.pk).update(report="/etc/passwd")
    assert planner_client.get(f"/medicion/cargas/{bad.pk}/informe.csv").status_code == 404
    assert (
        "ya no está disponible"
        in planner_client.get(f"/medicion/cargas/{bad.pk}/").content.decode()
    )


def test_the_dr_messages_are_listed_filtered_and_paginated(planner_client):
    for n in range(55):
        DrMessage.objects.create(
            message_id=f"MSG-{n:03d}", correlation_id=f"CORR-{n % 3}", verb="created",
            noun="PriceNotification", channel="json", payload="{}", digest="0" * 64,
            outcome="rejected" if n == 7 else "applied",
            problems=[{"where": "línea 1", "reason": "precio negativo"}] if n == 7 else [],
        )  # fmt: skip
    first = planner_client.get("/medicion/mensajes-dr/").content.decode()
    assert "MSG-054" in first and "MSG-000" not in first  # 50 a page, newest first
    second = planner_client.get("/medicion/mensajes-dr/", {"pagina": 2}).content.decode()
    assert "MSG-000" in second
    rejected = planner_client.get(
        "/medicion/mensajes-dr/", {"resultado": "rejected"}
    ).content.decode()
    assert "MSG-007" in rejected and "precio negativo" in rejected and "MSG-008" not in rejected
    by_id = planner_client.get("/medicion/mensajes-dr/", {"q": "CORR-2"}).content.decode()
    assert "MSG-002" in by_id and "MSG-001" not in by_id
