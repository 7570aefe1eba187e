"""The VEE on screen: a meter's day with its gaps, suspect values and estimates; planners
accept an estimate or enter a manual value with a reason; every edit kept; raw untouched."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from accounts.models import AccessLog, User
from metering.models import Channel, EstimatedReading, IntervalReading, VeeEdit
from metering.services import ingest, vee, vee_edits
from tests.factories import make_meter

pytestmark = pytest.mark.django_db

A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
SANTIAGO = ZoneInfo("America/Santiago")
DAY = date(2026, 3, 10)
PASSWORD = "clave-segura-123"


def slot(k: int) -> datetime:
    return datetime(DAY.year, DAY.month, DAY.day, tzinfo=SANTIAGO) + timedelta(minutes=15 * k)


@pytest.fixture
def day_with_gap(tmp_path):
    """MV-1's DAY: slots 10–12 missing (interpolated by the VEE), a spike at 40."""
    meter = make_meter("customer", serial="MV-1")
    lines = ["meter,reading_type,timestamp,value"]
    for k in range(1, 97):
        if k in (10, 11, 12):
            continue
        value = 50.0 if k == 40 else round(0.2 + 0.005 * k, 3)
        lines.append(f"MV-1,{A_PLUS},{slot(k).isoformat()},{value}")
    path = Path(tmp_path / "d.csv")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    ingest.ingest_file(path)
    vee.validate(DAY, DAY)
    return meter, Channel.objects.select_related("meter", "reading_type").get(meter=meter)


@pytest.fixture
def planner():
    return User.objects.create_user("plan", password=PASSWORD, profile="planner")


def raw_rows(channel) -> list[tuple]:
    return list(
        IntervalReading.objects.filter(channel=channel)
        .order_by("ts")
        .values_list("ts", "value", "quality")
    )


def test_the_day_lists_the_gaps_the_suspect_value_and_their_estimates(day_with_gap):
    meter, _ = day_with_gap
    [day] = vee_edits.day_channels(meter, DAY)
    shown = {s.ts: s for s in day.slots}
    assert set(shown) == {slot(10), slot(11), slot(12), slot(40)}
    assert shown[slot(10)].missing and shown[slot(10)].method == "interpolation"
    assert shown[slot(40)].flags == ["pico"]
    assert shown[slot(40)].estimate is not None
    assert day.report.missing == 3


def test_an_accepted_estimate_is_kept_by_later_vee_runs(day_with_gap, planner):
    _, channel = day_with_gap
    edit = vee_edits.accept(channel, slot(10), planner)
    assert (edit.action, edit.user, edit.previous_method) == ("accept", planner, "interpolation")
    EstimatedReading.objects.filter(channel=channel, ts__in=[slot(10), slot(11)]).update(value=9.9)
    vee.validate(DAY, DAY)
    kept = dict(EstimatedReading.objects.filter(channel=channel).values_list("ts", "value"))
    assert kept[slot(10)] == 9.9  # accepted: the VEE leaves it
    assert kept[slot(11)] != 9.9  # not accepted: estimated again
    with pytest.raises(vee_edits.EditError, match="ya estaba aceptada"):
        vee_edits.accept(channel, slot(10), planner)


def test_a_manual_value_needs_a_reason_and_never_touches_the_raw_reading(day_with_gap, planner):
    _, channel = day_with_gap
    before = raw_rows(channel)
    with pytest.raises(vee_edits.EditError, match="motivo"):
        vee_edits.set_manual(channel, slot(40), 0.4, "   ", planner)
    assert not VeeEdit.objects.exists()
    previous = EstimatedReading.objects.get(channel=channel, ts=slot(40))
    edit = vee_edits.set_manual(channel, slot(40), 0.4, "lectura en terreno", planner)
    assert (edit.previous_value, edit.previous_method) == (previous.value, previous.method)
    assert (edit.value, edit.reason, edit.user) == (0.4, "lectura en terreno", planner)
    manual = EstimatedReading.objects.get(channel=channel, ts=slot(40))
    assert (manual.method, manual.value, manual.replaces_invalid) == ("manual", 0.4, True)
    vee.validate(DAY, DAY)
    assert EstimatedReading.objects.get(channel=channel, ts=slot(40)).value == 0.4
    assert raw_rows(channel) == before


def test_a_slot_with_a_valid_reading_or_off_the_grid_or_negative_is_refused(day_with_gap, planner):
    _, channel = day_with_gap
    with pytest.raises(vee_edits.EditError, match="tiene una lectura válida"):
        vee_edits.set_manual(channel, slot(5), 1.0, "prueba", planner)
    with pytest.raises(vee_edits.EditError, match="no es el fin de un intervalo"):
        vee_edits.set_manual(channel, slot(10) + timedelta(minutes=7), 1.0, "prueba", planner)
    with pytest.raises(vee_edits.EditError, match="negativa"):
        vee_edits.set_manual(channel, slot(10), -1.0, "prueba", planner)
    with pytest.raises(vee_edits.EditError, match="un número"):
        vee_edits.set_manual(channel, slot(10), float("nan"), "prueba", planner)
    assert not VeeEdit.objects.exists()


def url(serial: str = "MV-1") -> str:
    return f"/medicion/vee/{serial}/{DAY:%Y-%m-%d}/"


def test_a_planner_accepts_and_enters_values_on_the_page(day_with_gap, planner, client):
    _, channel = day_with_gap
    client.force_login(planner)
    page = client.get(url())
    assert page.status_code == 200
    assert "Interpolación lineal" in page.content.decode()
    assert AccessLog.objects.filter(user=planner, kind="vee", reference=f"MV-1 {DAY}").exists()
    stamp = slot(11).isoformat()
    answer = client.post(url(), {"canal": channel.pk, "intervalo": stamp, "accion": "aceptar"})
    assert answer.status_code == 302
    assert EstimatedReading.objects.get(channel=channel, ts=slot(11)).accepted_at is not None
    refused = client.post(
        url(), {"canal": channel.pk, "intervalo": stamp, "accion": "manual", "valor": "0,3"}
    )
    assert refused.status_code == 400
    assert "Indique el motivo del valor manual." in refused.content.decode()
    done = client.post(
        url(),
        {
            "canal": channel.pk,
            "intervalo": stamp,
            "accion": "manual",
            "valor": "0,3",
            "motivo": "medidor reemplazado",
        },
    )
    assert done.status_code == 302
    assert EstimatedReading.objects.get(channel=channel, ts=slot(11)).value == 0.3
    history = client.get(url()).content.decode()
    assert "medidor reemplazado" in history and "plan" in history


def test_sec_reads_the_vee_but_cannot_edit_it(day_with_gap, client):
    _, channel = day_with_gap
    sec = User.objects.create_user("sec", password=PASSWORD, profile="sec")
    client.force_login(sec)
    page = client.get(url())
    assert page.status_code == 200 and "Guardar valor" not in page.content.decode()
    answer = client.post(
        url(), {"canal": channel.pk, "intervalo": slot(10).isoformat(), "accion": "aceptar"}
    )
    assert answer.status_code == 403
    assert not VeeEdit.objects.exists()


def test_an_unknown_meter_or_day_answers_404_and_the_list_shows_the_day(
    day_with_gap, planner, client
):
    client.force_login(planner)
    assert client.get(url("NO-EXISTE")).status_code == 404
    assert client.get("/medicion/vee/MV-1/2026-13-40/").status_code == 404
    listing = client.get("/medicion/vee/", {"dia": str(DAY)})
    assert listing.status_code == 200 and "MV-1" in listing.content.decode()
    pending = client.get("/medicion/vee/", {"dia": str(DAY), "solo": "pendientes"})
    assert "MV-1" in pending.content.decode()
    EstimatedReading.objects.update(accepted_at=datetime(2026, 3, 11, tzinfo=SANTIAGO))
    none_left = client.get("/medicion/vee/", {"dia": str(DAY), "solo": "pendientes"})
    assert "MV-1" not in none_left.content.decode()
    bad = client.get("/medicion/vee/", {"dia": "ayer"})
    assert bad.status_code == 200 and "no es válida" in bad.content.decode()


def test_a_planner_accepts_every_pending_estimate_of_the_day_at_once(day_with_gap, planner, client):
    _, channel = day_with_gap
    client.force_login(planner)
    page = client.get(url()).content.decode()
    assert "Aceptar las 4 estimaciones por revisar del día" in page
    answer = client.post(
        url(), {"canal": channel.pk, "intervalo": slot(1).isoformat(), "accion": "aceptar_todas"}
    )
    assert answer.status_code == 302
    assert not EstimatedReading.objects.filter(channel=channel, accepted_at__isnull=True).exists()
    assert VeeEdit.objects.filter(action="accept", user=planner).count() == 4
    again = client.post(
        url(), {"canal": channel.pk, "intervalo": slot(1).isoformat(), "accion": "aceptar_todas"}
    )
    assert again.status_code == 400 and "No hay estimaciones por revisar" in again.content.decode()
