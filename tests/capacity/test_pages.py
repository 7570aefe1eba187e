"""Where the capacity is shown: the feeder page (summary, profile, table, queue), the pole
search and the transformer page, the API and the streamed downloads; freshness banners; the
missing data listed for planners only."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessLog
from capacity.models import FeederCapacity, PoleCapacity, Run
from network.models import Feeder, Transformer

pytestmark = pytest.mark.django_db


@pytest.fixture
def feeder(demo_network) -> Feeder:
    return Feeder.objects.filter(capacity__status="calculado").order_by("pk").first()


def page(client, feeder, **params) -> str:
    response = client.get(reverse("network:feeder", args=[feeder.pk]), params)
    assert response.status_code == 200
    return response.content.decode()


def test_the_feeder_page_shows_its_capacity_dated_by_run_with_profile_table_and_queue(
    public_client, feeder
):
    html = page(public_client, feeder)
    run = FeederCapacity.objects.get(feeder=feeder).run
    assert "Cortocircuito y capacidad de conexión (indicativa)" in html
    assert f"N° {run.pk} del {timezone.localtime(run.started_at):%d/%m/%Y %H:%M}" in html
    assert "<strong>indicativos</strong>" in html and "IEC 60909" in html
    assert 'class="chart"' in html and "Distancia a la subestación (km)" in html
    # The table: 20 rows a page, ordered by distance, with the limiting element named.
    first = PoleCapacity.objects.filter(feeder=feeder).order_by("distance_km", "pole_id")[0]
    assert f"<td>{first.pole.plate}</td>" in html
    assert html.count('<td class="num"><span class="cap-class') == 20
    assert f"{first.get_limit_kind_display().lower()} {first.limit_code}" in html
    # Labels: the power is the installed transformers' capacity; the capacity also in MVA.
    assert "Potencia (capacidad instalada de transformadores)" in html
    mva = 3**0.5 * float(feeder.nominal_voltage_kv) * feeder.capacity_a / 1000
    assert f"({f'{mva:.1f}'.replace('.', ',')} MVA a" in html
    assert "Solicitudes de conexión del alimentador" in html


def test_the_table_orders_by_available_capacity_and_paginates(public_client, feeder):
    html = page(public_client, feeder, orden_capacidad="disponible", pagina_capacidad=2)
    rows = PoleCapacity.objects.filter(feeder=feeder).order_by("-remaining_mw", "pole_id")
    assert (
        f"<td>{rows[20].pole.plate}</td>" in html and f"<td>{rows[0].pole.plate}</td>" not in html
    )


def test_a_feeder_without_data_says_so_and_lists_what_is_missing_to_planners_only(
    client, public_user, planner, feeder
):
    state = FeederCapacity.objects.get(feeder=feeder)
    state.status = FeederCapacity.Status.MISSING
    state.missing = ["vanos sin tipo de conductor: V00000001"]
    state.save()
    PoleCapacity.objects.filter(feeder=feeder).delete()
    client.force_login(public_user)
    html = page(client, feeder)
    assert "<strong>Sin datos suficientes</strong>" in html
    assert "vanos sin tipo de conductor" not in html
    client.force_login(planner)
    assert "vanos sin tipo de conductor: V00000001" in page(client, feeder)


def test_a_failed_or_late_run_puts_a_banner_on_the_pages_with_its_values(public_client, feeder):
    Run.objects.create(scope="completo", trigger="prueba", status=Run.Status.FAILED,
                       error="MemoryError: sin memoria")  # fmt: skip
    assert "falló: MemoryError: sin memoria" in page(public_client, feeder)
    Run.objects.filter(status=Run.Status.FAILED).delete()
    Run.objects.update(finished_at=timezone.now() - timedelta(hours=40))
    html = page(public_client, feeder)
    assert "El cálculo de capacidad está atrasado" in html
    transformer = Transformer.objects.filter(feeder=feeder).first()
    response = public_client.get(reverse("network:transformer", args=[transformer.pk]))
    assert "está atrasado" in response.content.decode()


def test_the_pole_search_and_the_transformer_page_show_the_pole_values(public_client, feeder):
    row = PoleCapacity.objects.filter(feeder=feeder).select_related("pole").order_by("pk")[0]
    html = page(public_client, feeder, tipo="poste", id=row.pole.plate)
    assert f"cálculo {row.run_id} del" in html and row.get_criterion_display() in html
    transformer = Transformer.objects.filter(pole__capacity__isnull=False).first()
    cap = PoleCapacity.objects.get(pole=transformer.pole_id)
    response = public_client.get(reverse("network:transformer", args=[transformer.pk]))
    html = response.content.decode()
    assert f"en su poste {transformer.pole.plate} (indicativa)" in html
    assert f"{cap.scc_mva:.1f}".replace(".", ",") + " MVA" in html


def test_the_span_rows_carry_their_as_of_date(public_client, feeder):
    span = feeder.spans.order_by("code").first()
    html = page(public_client, feeder, tipo="vano", id=span.code)
    assert f"<td>{span.as_of:%d/%m/%Y}</td>" in html


def test_the_api_lists_and_details_capacity_per_pole_with_its_run(public_client, feeder):
    url = reverse("capacity-api:pole-list")
    body = public_client.get(url, {"alimentador": feeder.pk, "disponible_min": 1}).json()
    assert body["features"]
    for feature in body["features"]:
        props = feature["properties"]
        row = PoleCapacity.objects.get(pole=feature["id"])
        assert props["remaining_mw"] == pytest.approx(row.remaining_mw) and row.remaining_mw >= 1
        assert props["run"] == row.run_id and props["feeder"] == feeder.pk
        assert props["indicative"].startswith("Valores indicativos")
        assert feature["geometry"]["type"] == "Point"
    pole = body["features"][0]["id"]
    detail = public_client.get(reverse("capacity-api:pole-detail", args=[pole])).json()
    assert detail["properties"]["limit_code"] == PoleCapacity.objects.get(pole=pole).limit_code
    missing = public_client.get(reverse("capacity-api:pole-detail", args=[10**9]))
    assert missing.status_code == 404 and "No hay capacidad calculada" in missing.json()["detail"]
    summary = public_client.get(reverse("capacity-api:feeder", args=[feeder.pk])).json()
    assert summary["status"] == "calculado" and "missing" not in summary
    assert summary["poles"] == PoleCapacity.objects.filter(feeder=feeder).count()


def test_the_downloads_stream_every_row_uncapped_in_csv_and_geojson(public_client, feeder):
    url = reverse("capacity-api:download")
    response = public_client.get(url, {"formato": "csv"})
    assert response.status_code == 200 and response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert rows[0][0] == "Placa poste" and len(rows) - 1 == PoleCapacity.objects.count()
    assert rows[0][8] == "Criterio limitante" and rows[1][8] in dict(PoleCapacity._meta.get_field(
        "criterion").choices).values()  # fmt: skip
    response = public_client.get(url, {"formato": "geojson", "alimentador": feeder.pk})
    data = json.loads(b"".join(response.streaming_content))
    assert len(data["features"]) == PoleCapacity.objects.filter(feeder=feeder).count()
    assert {f["properties"]["feeder_code"] for f in data["features"]} == {feeder.code}
    assert AccessLog.objects.filter(reference__startswith="API capacidad (descarga)").exists()
    assert public_client.get(url, {"formato": "xls"}).status_code == 400
    assert public_client.get(url, {"alimentador": "x"}).status_code == 404
    assert public_client.get(url, {"alimentador": "9" * 30}).status_code == 404


def test_a_failed_run_raises_an_alarm_for_planners_on_every_page_and_in_the_admin(
    client, planner, public_user, feeder
):
    Run.objects.create(scope="completo", trigger="prueba", status=Run.Status.FAILED,
                       error="MemoryError: sin memoria")  # fmt: skip
    client.force_login(planner)
    for url in (reverse("network:search"), "/admin/"):
        html = client.get(url).content.decode()
        assert "Alarma de capacidad" in html and "falló: MemoryError: sin memoria" in html, url
    client.force_login(public_user)
    assert "Alarma de capacidad" not in client.get(reverse("network:search")).content.decode()


def test_the_map_page_with_the_capacity_layer_has_the_banner_too(public_client, feeder):
    Run.objects.create(scope="completo", trigger="prueba", status=Run.Status.FAILED,
                       error="MemoryError: sin memoria")  # fmt: skip
    html = public_client.get(reverse("maps:map")).content.decode()
    assert "falló: MemoryError: sin memoria" in html
