from __future__ import annotations

import shutil
import subprocess

import pytest
from django.urls import reverse

from accounts.models import AccessLog
from network.models import (
    Customer,
    Equipment,
    Feeder,
    Pole,
    Span,
    Substation,
    Transformer,
)
from vnr.models import VnrCode

pytestmark = pytest.mark.django_db


def html(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def pdf_text(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext (poppler-utils) is needed to read the PDFs back")
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=response.content, capture_output=True, check=True
    )
    return result.stdout.decode()


@pytest.fixture
def feeder(demo_network) -> Feeder:
    return (
        Feeder.objects.filter(kind="alimentador", equipment__kind="regulador")
        .select_related("substation__comuna__region")
        .first()
    )


@pytest.fixture
def monitored(demo_network) -> Transformer:
    return Transformer.objects.filter(smmc=True).select_related("pole", "feeder").first()


def network_urls(feeder: Feeder, transformer: Transformer) -> list[str]:
    substation = feeder.substation
    return [
        reverse("network:search"),
        reverse("network:search") + f"?region={substation.comuna.region.code}"
        f"&comuna={substation.comuna.code}",
        reverse("network:substation", args=[substation.pk]),
        reverse("network:feeder", args=[feeder.pk]),
        reverse("network:feeder", args=[feeder.pk]) + "?tipo=poste&id=&formato=pdf",
        reverse("network:transformer", args=[transformer.pk]),
        reverse("network:transformer_search") + f"?placa_transformador={transformer.plate}",
        reverse("network:vnr") + "?codigo=EQ-REC",
    ]


def test_anonymous_users_are_sent_to_login_from_every_network_page(client, feeder, monitored):
    for url in network_urls(feeder, monitored):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url
    options = client.get(reverse("network:options", args=["comuna"]) + "?parent=13")
    assert options.status_code == 401


def test_landing_page_has_a_visible_way_in_for_anonymous_visitors(client):
    page = html(client.get("/"))
    assert "Acceder a la información de la red" in page
    assert reverse("login") in page and reverse("register") in page


def test_cascade_lists_load_level_by_level_as_json(public_client, feeder):
    substation = feeder.substation
    comunas = public_client.get(
        reverse("network:options", args=["comuna"]), {"parent": substation.comuna.region.code}
    ).json()["options"]
    assert {"value": substation.comuna.code, "label": substation.comuna.name} in comunas
    stations = public_client.get(
        reverse("network:options", args=["subestacion"]), {"parent": substation.comuna.code}
    ).json()["options"]
    assert str(substation.pk) in [o["value"] for o in stations]
    feeders = public_client.get(
        reverse("network:options", args=["alimentador"]), {"parent": substation.pk}
    ).json()["options"]
    assert f"{feeder.code} · {feeder.name}" in [o["label"] for o in feeders]
    transformers = public_client.get(
        reverse("network:options", args=["transformador"]), {"parent": feeder.pk}
    ).json()["options"]
    assert len(transformers) == feeder.transformers.count() > 0
    odd = public_client.get(reverse("network:options", args=["comuna"]), {"parent": "<script>"})
    assert odd.status_code == 400


def test_search_by_comuna_lists_its_substations_with_links(public_client, feeder):
    substation = feeder.substation
    comuna = substation.comuna
    page = html(
        public_client.get(
            reverse("network:search"), {"region": comuna.region.code, "comuna": comuna.code}
        )
    )
    assert f"Subestaciones de {comuna.name}" in page
    assert substation.code in page and substation.name in page
    assert reverse("network:substation", args=[substation.pk]) in page
    assert f"subestacion={substation.pk}" in page  # link to its feeders
    assert comuna.region.name in page  # breadcrumb


def test_search_by_substation_lists_its_feeders_with_their_transformers(public_client, feeder):
    substation = feeder.substation
    page = html(
        public_client.get(
            reverse("network:search"),
            {
                "region": substation.comuna.region.code,
                "comuna": substation.comuna.code,
                "subestacion": substation.pk,
            },
        )
    )
    assert reverse("network:feeder", args=[feeder.pk]) in page
    first = feeder.transformers.order_by("code").first()
    assert reverse("network:transformer", args=[first.pk]) in page
    assert f"Subestación {substation.name}" in page


@pytest.mark.parametrize("persona", ["public_user", "sec_user", "planner"])
@pytest.mark.parametrize("level", ["comuna", "subestacion", "alimentador"])
def test_each_search_grid_takes_at_most_five_queries(
    request, client, persona, level, feeder, django_assert_max_num_queries
):
    # The session, the user, the five lists in one statement (the grid is the deepest one),
    # the access log row and the alarms of those who see them (read once per process per
    # ALARM_CACHE_SECONDS: the first page below reads them).
    client.force_login(request.getfixturevalue(persona))
    substation = feeder.substation
    params = {"region": substation.comuna.region.code, "comuna": substation.comuna.code}
    if level != "comuna":
        params["subestacion"] = substation.pk
    if level == "alimentador":
        params["alimentador"] = feeder.pk
    html(client.get(reverse("network:search"), params))
    with django_assert_max_num_queries(5):
        page = html(client.get(reverse("network:search"), params))
    expected = {
        "comuna": substation.code,
        "subestacion": feeder.code,
        "alimentador": feeder.transformers.order_by("code").first().code,
    }[level]
    assert expected in page


def test_search_by_feeder_lists_its_transformers_and_paginates(public_client, feeder):
    substation = feeder.substation
    params = {
        "region": substation.comuna.region.code,
        "comuna": substation.comuna.code,
        "subestacion": substation.pk,
        "alimentador": feeder.pk,
    }
    page = html(public_client.get(reverse("network:search"), params))
    codes = list(feeder.transformers.order_by("code").values_list("code", flat=True))
    assert codes[0] in page
    if len(codes) > 20:
        assert codes[20] not in page
        second = html(public_client.get(reverse("network:search"), {**params, "pagina": 2}))
        assert codes[20] in second
    beyond = html(public_client.get(reverse("network:search"), {**params, "pagina": 999}))
    assert "La página 999 no existe" in beyond


def test_choosing_a_transformer_opens_its_detail(public_client, feeder):
    substation = feeder.substation
    transformer = feeder.transformers.first()
    response = public_client.get(
        reverse("network:search"),
        {
            "region": substation.comuna.region.code,
            "comuna": substation.comuna.code,
            "subestacion": substation.pk,
            "alimentador": feeder.pk,
            "transformador": transformer.pk,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("network:transformer", args=[transformer.pk])


def test_region_and_comuna_are_required_with_clear_messages(public_client):
    page = html(public_client.get(reverse("network:search"), {"subestacion": "1"}))
    assert "Seleccione una región." in page
    assert "Seleccione una comuna." in page


def test_a_comuna_of_another_region_is_refused_on_the_same_page(public_client, feeder):
    comuna = feeder.substation.comuna
    other_region = "05" if comuna.region.code != "05" else "13"
    page = html(
        public_client.get(
            reverse("network:search"), {"region": other_region, "comuna": comuna.code}
        )
    )
    assert "La comuna elegida no pertenece a la región seleccionada." in page


def test_substation_detail_shows_every_field_and_its_feeders(public_client, feeder):
    substation = feeder.substation
    page = html(public_client.get(reverse("network:substation", args=[substation.pk])))
    for text in (substation.code, substation.name, "Transformadores AT/MT", "Huso 19S", "WGS84"):
        assert text in page
    for power in substation.power_transformers.all():
        assert power.name in page
    assert feeder.name in page
    assert feeder.transformers.first().code in page


def test_feeder_detail_shows_its_fields_demands_and_transformers(public_client, feeder):
    page = html(public_client.get(reverse("network:feeder", args=[feeder.pk])))
    assert feeder.code in page and feeder.name in page
    assert "Potencia de cortocircuito en cabecera" in page
    scc = f"{feeder.short_circuit_kva:,}".replace(",", ".")
    assert f"{scc} kVA" in page
    demands = list(feeder.demands.order_by("-month")[:12])
    assert len(demands) == 12
    assert demands[0].month.strftime("%m/%Y") in page
    assert demands[11].month.strftime("%m/%Y") in page
    assert feeder.transformers.order_by("code").last().code in page


def test_subfeeder_detail_names_its_owner_and_purchase_node(public_client, demo_network):
    sub = Feeder.objects.filter(kind="subalimentador").select_related("owner", "purchase_node")[0]
    page = html(public_client.get(reverse("network:feeder", args=[sub.pk])))
    assert "Subalimentador" in page
    assert sub.owner.name in page
    assert sub.purchase_node.plate in page


def test_feeder_search_finds_a_pole_with_its_utm_voltages_and_vnr(public_client, feeder):
    pole = Pole.objects.filter(feeder=feeder, bt_voltage_v__isnull=False).select_related("vnr")[0]
    page = html(
        public_client.get(
            reverse("network:feeder", args=[feeder.pk]), {"tipo": "poste", "id": pole.plate}
        )
    )
    utm = Pole.objects.select_related("feeder__substation__comuna__region").get(pk=pole.pk).utm
    assert pole.plate in page
    assert f"{utm.x:,.1f}".replace(",", "_").replace(".", ",").replace("_", ".") in page
    assert f"{pole.bt_voltage_v} V" in page
    assert pole.vnr.code in page


def test_feeder_search_finds_a_span_with_its_nodes_length_and_conductor(public_client, feeder):
    span = Span.objects.filter(feeder=feeder, from_pole__isnull=False).select_related(
        "from_pole", "to_pole", "vnr"
    )[5]
    page = html(
        public_client.get(
            reverse("network:feeder", args=[feeder.pk]), {"tipo": "vano", "id": span.code}
        )
    )
    for text in (span.code, span.from_pole.plate, span.to_pole.plate, span.conductor_material,
                 span.conductor_insulation, span.vnr.code):  # fmt: skip
        assert text in page
    assert f"{span.length_m:.2f}".replace(".", ",") in page


def test_feeder_search_finds_equipment_with_its_monthly_history(public_client, feeder):
    regulator = Equipment.objects.get(feeder=feeder, kind="regulador")
    page = html(
        public_client.get(
            reverse("network:feeder", args=[feeder.pk]),
            {"tipo": "equipo", "id": regulator.code.lower()},
        )
    )
    assert regulator.code in page
    assert "Regulador de tensión" in page and regulator.transformation_ratio in page
    assert "Historial mensual" in page
    assert page.count("Consigna ") >= 12


def test_feeder_search_lists_every_pole_paginated_when_no_id_is_given(public_client, feeder):
    url = reverse("network:feeder", args=[feeder.pk])
    page = html(public_client.get(url, {"tipo": "poste", "id": ""}))
    total = feeder.poles.count()
    assert f"Página 1 de {(total + 9) // 10}" in page


def test_feeder_search_refuses_odd_characters_on_the_same_page(public_client, feeder):
    page = html(
        public_client.get(
            reverse("network:feeder", args=[feeder.pk]), {"tipo": "poste", "id": "P'; DROP--"}
        )
    )
    assert "El identificador solo puede contener" in page


def test_transformer_detail_shows_every_field_and_twelve_demands_when_monitored(
    public_client, monitored
):
    page = html(public_client.get(reverse("network:transformer", args=[monitored.pk])))
    for text in (monitored.code, monitored.name, monitored.plate, monitored.connection,
                 monitored.pole.plate, monitored.phases, monitored.get_kind_display(),
                 "Huso", "12 últimas demandas"):  # fmt: skip
        assert text in page
    for demand in monitored.demands.order_by("-month")[:12]:
        assert demand.month.strftime("%m/%Y") in page


def test_unmonitored_transformer_says_it_has_no_measured_demand(public_client, demo_network):
    plain = Transformer.objects.filter(smmc=False).first()
    page = html(public_client.get(reverse("network:transformer", args=[plain.pk])))
    assert "no cuenta con equipos de monitoreo" in page


@pytest.mark.parametrize("key", ["placa_transformador", "placa_poste", "cliente"])
def test_simple_search_finds_the_transformer_by_each_identifier_without_the_customer(
    public_client, monitored, key
):
    customer = Customer.objects.filter(transformer=monitored).first()
    value = {
        "placa_transformador": monitored.plate,
        "placa_poste": monitored.pole.plate,
        "cliente": customer.number,
    }[key]
    page = html(public_client.get(reverse("network:transformer_search"), {key: value}))
    feeder = monitored.feeder
    station = feeder.substation
    expected = (monitored.code, monitored.plate, feeder.code, feeder.name, station.comuna.name,
                station.code, station.name)  # fmt: skip
    for text in expected:
        assert text in page
    assert monitored.demands.order_by("-month").first().month.strftime("%m/%Y") in page
    for private in (customer.name, customer.rut, customer.email, customer.phone, customer.address):
        assert private not in page


def test_simple_search_of_an_unknown_id_says_not_found(public_client, demo_network):
    response = public_client.get(reverse("network:transformer_search"), {"cliente": "000000"})
    assert response.status_code == 404
    assert "No encontrado" in response.content.decode()
    assert "No se encontró el cliente número 000000" in response.content.decode()


def test_simple_search_needs_exactly_one_identifier(public_client, demo_network):
    none = html(public_client.get(reverse("network:transformer_search"), {"cliente": ""}))
    assert "Ingrese la placa del transformador" in none
    two = html(
        public_client.get(
            reverse("network:transformer_search"), {"cliente": "1", "placa_poste": "P1"}
        )
    )
    assert "Ingrese un solo identificador" in two


def test_vnr_search_shows_the_seven_costs_as_chilean_figures(public_client, demo_network):
    vnr = VnrCode.objects.get(code="EQ-REG")
    page = html(public_client.get(reverse("network:vnr"), {"codigo": "eq-reg"}))
    total = f"$\u00a0{int(vnr.total_sin_derechos):,}".replace(",", ".")
    assert total in page
    for label in ("Recargos 1", "Montaje", "Stotal 1", "ING + GG", "Stotal 2", "IntInt",
                  "Total instalación s/derechos"):  # fmt: skip
        assert label in page
    missing = public_client.get(reverse("network:vnr"), {"codigo": "NO-EXISTE"})
    assert missing.status_code == 404 and "No se encontró el código VNR" in missing.content.decode()
    odd = html(public_client.get(reverse("network:vnr"), {"codigo": "<b>"}))
    assert "El identificador solo puede contener" in odd


def test_every_page_view_is_written_to_the_access_log(public_client, public_user, feeder):
    public_client.get(reverse("network:feeder", args=[feeder.pk]))
    public_client.get(reverse("network:vnr"), {"codigo": "EQ-REC"})
    logged = list(AccessLog.objects.filter(user=public_user).values_list("kind", "reference"))
    assert ("alimentador", feeder.code) in logged
    assert ("vnr", "EQ-REC") in logged


def test_every_page_has_imprimir_and_guardar(public_client, feeder, monitored):
    for url in network_urls(feeder, monitored)[1:4]:
        page = html(public_client.get(url))
        assert "IMPRIMIR" in page and "GUARDAR" in page and "formato=pdf" in page


def test_feeder_pdf_holds_the_page_fields_map_breadcrumb_and_dates(public_client, feeder):
    text = pdf_text(
        public_client.get(reverse("network:feeder", args=[feeder.pk]), {"formato": "pdf"})
    )
    for value in (feeder.code, feeder.name, "Potencia de cortocircuito", "12 últimas demandas",
                  feeder.substation.comuna.name, "Impreso el", "Datos actualizados al",
                  "Mapa georreferenciado"):  # fmt: skip
        assert value.upper() in text.upper(), value


def test_substation_transformer_search_and_vnr_pdfs_hold_their_fields(
    public_client, feeder, monitored
):
    substation = feeder.substation
    text = pdf_text(
        public_client.get(reverse("network:substation", args=[substation.pk]), {"formato": "pdf"})
    )
    assert substation.code in text and substation.name in text
    text = pdf_text(
        public_client.get(reverse("network:transformer", args=[monitored.pk]), {"formato": "pdf"})
    )
    assert monitored.code in text and monitored.pole.plate in text
    text = pdf_text(
        public_client.get(
            reverse("network:search"),
            {
                "region": substation.comuna.region.code,
                "comuna": substation.comuna.code,
                "subestacion": substation.pk,
                "formato": "pdf",
            },  # fmt: skip
        )
    )
    assert feeder.code in text and "Alimentadores de la subestación" in text
    text = pdf_text(
        public_client.get(reverse("network:vnr"), {"codigo": "EQ-REG", "formato": "pdf"})
    )
    assert "Total instalación s/derechos" in text and "$" in text
    text = pdf_text(
        public_client.get(
            reverse("network:feeder", args=[feeder.pk]),
            {"tipo": "equipo", "id": "", "formato": "pdf"},
        )
    )
    assert Equipment.objects.filter(feeder=feeder).order_by("code").first().code in text


def test_substation_list_of_feeders_links_back_through_the_breadcrumb(public_client, feeder):
    page = html(
        public_client.get(reverse("network:transformer", args=[feeder.transformers.first().pk]))
    )
    substation = Substation.objects.get(pk=feeder.substation_id)
    assert f"Subestación {substation.name}" in page
    assert f"Alimentador {feeder.name}" in page


def test_without_javascript_each_buscar_fills_the_next_list_from_the_server(public_client, feeder):
    substation = feeder.substation
    # Only the región chosen: the page answers with the comuna list filled in.
    page = html(
        public_client.get(reverse("network:search"), {"region": substation.comuna.region.code})
    )
    assert f'<option value="{substation.comuna.code}">{substation.comuna.name}</option>' in page
    assert "Seleccione una comuna." in page
    page = html(
        public_client.get(
            reverse("network:search"),
            {"region": substation.comuna.region.code, "comuna": substation.comuna.code},
        )
    )
    assert f'<option value="{substation.pk}">{substation.code} · {substation.name}</option>' in page


def test_the_cascade_lists_are_written_to_the_access_log(public_client, public_user, feeder):
    public_client.get(
        reverse("network:options", args=["alimentador"]), {"parent": feeder.substation_id}
    )
    assert AccessLog.objects.filter(
        user=public_user, kind="busqueda", reference=f"lista alimentador de {feeder.substation_id}"
    ).exists()


def test_every_kind_of_page_saves_a_pdf_with_its_fields(public_client, feeder, monitored):
    substation = feeder.substation
    where = {"region": substation.comuna.region.code, "comuna": substation.comuna.code}
    pole = feeder.poles.order_by("plate").first()
    span = feeder.spans.order_by("code").first()
    customer = Customer.objects.filter(transformer=monitored).first()
    pages = [
        (reverse("network:search"), where, [substation.code, substation.name]),
        (
            reverse("network:search"),
            {**where, "subestacion": substation.pk, "alimentador": feeder.pk},
            [feeder.transformers.order_by("code").first().code],
        ),
        (
            reverse("network:feeder", args=[feeder.pk]),
            {"tipo": "poste", "id": pole.plate},
            [pole.plate, "Huso"],
        ),
        (
            reverse("network:feeder", args=[feeder.pk]),
            {"tipo": "vano", "id": span.code},
            [span.code, f"{span.length_m:.2f}".replace(".", ",")],
        ),
        (
            reverse("network:transformer_search"),
            {"cliente": customer.number},
            [monitored.code, monitored.feeder.code, substation.name if
             monitored.feeder.substation_id == substation.pk else monitored.feeder.code],
        ),
    ]  # fmt: skip
    for url, params, expected in pages:
        text = pdf_text(public_client.get(url, {**params, "formato": "pdf"}))
        for value in expected:
            assert value in text, (url, params, value)
        assert "Impreso el" in text and "Datos actualizados al" in text
        assert customer.name not in text


def test_grids_link_their_csv_and_geojson_downloads(public_client, feeder):
    substation = feeder.substation
    params = {"region": substation.comuna.region.code, "comuna": substation.comuna.code}
    page = html(public_client.get(reverse("network:search"), params))
    csv_url = (
        reverse("api:grid-location")
        + f"?region={params['region']}&amp;comuna={params['comuna']}&amp;format=csv"
    )
    assert csv_url in page
    download = public_client.get(csv_url.replace("&amp;", "&"))
    assert download.status_code == 200
    assert substation.code in download.content.decode("utf-8-sig")
    page = html(
        public_client.get(reverse("network:feeder", args=[feeder.pk]), {"tipo": "vano", "id": ""})
    )
    assert reverse("api:grid-feeder-assets", args=[feeder.pk]) + "?tipo=vano" in page
