from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.apps import apps as registry
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.contrib.gis.db.models import GeometryField
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.text import capfirst

from accounts.models import AccessLog, SecAccount, User
from accounts.services import (
    PLANNER_APPS,
    PLANNER_EXCLUDED_PERMISSIONS,
    PLANNER_EXTRA_MODELS,
    PLANNERS_GROUP,
)
from capacity.models import ConnectionRequest, FeederCapacity, Run
from core.admin import EstimatedCountPaginator, estimated_rows
from core.models import ImportJob
from customers.models import CustomerAccount
from demand.models import MonthlyDemand
from geo.models import Comuna, Region
from maps.models import TileCache
from metering.models import (
    Alarm,
    BackupComparison,
    BillingDocument,
    Channel,
    DeviceResponse,
    DrEvent,
    DrEventTarget,
    DrMessage,
    DrProgram,
    EgContract,
    EnergyBalance,
    HanDevice,
    IngestRun,
    LoadTransfer,
    Meter,
    MeterEventType,
    MonthlyBill,
    ObisCode,
    PriceNotification,
    ProgramEnrollment,
    ReadingRevision,
    ReadingType,
    RemanenteMovement,
    ValidationDay,
    VeeEdit,
    VirtualTerm,
)
from metering.services.dr.ingest import receive_xml
from network.models import (
    ConductorType,
    Customer,
    Distributor,
    Equipment,
    EquipmentSetting,
    Feeder,
    Pole,
    PowerTransformer,
    Span,
    Substation,
    Transformer,
)
from outages.models import Interruption, OutageEvent, PlannedOutage, ReliabilityIndex
from tests import factories as f
from tests.metering import test_billing_support as billing
from tests.metering.dr_factories import fixture as dr_fixture
from tests.metering.dr_factories import make_world
from tests.outages import factories as outage_factories
from vnr.models import VnrCode

pytestmark = pytest.mark.django_db


def dr_world(model):
    """A demand response object of `model`, built by receiving the hand-written messages."""
    make_world()
    for name in ("01_price_cpp.xml", "02_event_dlc.xml", "03_acks.xml", "04_opt_out.xml"):
        receive_xml(dr_fixture(name))
    return model.objects.order_by("pk").first()


def _channel(meter) -> Channel:
    """The meter's 15-minute kWh channel."""
    return Channel.objects.create(
        meter=meter,
        reading_type=ReadingType.objects.get(code="0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"),
    )


MAKERS = {
    Region: f.make_region,
    Comuna: f.make_comuna,
    VnrCode: f.make_vnr,
    Distributor: f.make_distributor,
    Substation: f.make_substation,
    PowerTransformer: f.make_power_transformer,
    Feeder: f.make_feeder,
    Pole: f.make_pole,
    Span: f.make_span,
    Equipment: f.make_equipment,
    EquipmentSetting: f.make_equipment_setting,
    Transformer: f.make_transformer,
    Customer: f.make_customer,
    MonthlyDemand: f.make_demand,
    ConductorType: f.make_conductor_type,
    ConnectionRequest: f.make_connection_request,
    Run: f.make_capacity_run,
    FeederCapacity: f.make_feeder_capacity,
    User: lambda: User.objects.create_user("usuario-admin", "u@example.cl", rut=f.valid_rut(9999)),
    CustomerAccount: lambda: CustomerAccount.objects.create_user(
        "880000999", "c@example.cl", profile="client", customer=f.make_customer()
    ),
    SecAccount: lambda: SecAccount.objects.create_user(
        "auditora-admin", "auditora@sec.example.cl", profile="sec"
    ),
    Group: lambda: Group.objects.create(name="Auditores"),
    ImportJob: lambda: ImportJob.objects.create(
        kind="red",
        file="red/2026/12/red.zip",
        created_by=User.objects.get_or_create(username="subio-archivo")[0],
        summary="1 alimentador",
    ),
    Meter: f.make_meter,
    ObisCode: lambda: ObisCode.objects.create(code="99.8.9", name="Registro de prueba"),
    ReadingType: lambda: ReadingType.objects.create(
        code="0.0.0.9.1.1.12.0.0.0.0.9.0.0.0.3.72.0",
        name="Tarifa 9",
        unit="kWh",
        obis=ObisCode.objects.get(code="1.8.0"),
    ),
    MeterEventType: lambda: MeterEventType.objects.create(
        code="99.99.99", name="Prueba", category="other"
    ),
    IngestRun: lambda: IngestRun.objects.create(file_name="a.xml", sha256="0" * 64),
    ReadingRevision: lambda: ReadingRevision.objects.create(
        channel=Channel.objects.create(
            meter=f.make_meter(), reading_type=ReadingType.objects.order_by("pk").first()
        ),
        ts=datetime(2026, 3, 1, 0, 15, tzinfo=UTC),
        previous_value=0.2,
        previous_quality=0,
        previous_run=IngestRun.objects.create(file_name="a.csv", sha256="0" * 64),
        value=0.3,
        run=IngestRun.objects.create(file_name="b.csv", sha256="1" * 64, correction="prueba"),
        line=2,
        reason="prueba",
    ),
    ValidationDay: lambda: ValidationDay.objects.create(
        channel=Channel.objects.create(
            meter=f.make_meter(), reading_type=ReadingType.objects.order_by("pk").first()
        ),
        day=date(2026, 3, 1),
        expected=96,
        received=90,
        missing=6,
    ),
    LoadTransfer: lambda: LoadTransfer.objects.create(
        feeder=f.make_feeder(),
        starts_at=datetime(2026, 3, 1, 10, tzinfo=UTC),
        ends_at=datetime(2026, 3, 1, 12, tzinfo=UTC),
    ),
    EnergyBalance: lambda: EnergyBalance.objects.create(
        transformer=f.make_transformer(),
        month=date(2026, 3, 1),
        supplied_kwh=100,
        metered_kwh=90,
        loss_kwh=10,
        loss_pct=10,
        customers=3,
        metered_customers=3,
    ),
    Alarm: lambda: Alarm.objects.create(
        kind="tamper", meter=f.make_meter(), started_at=datetime(2026, 3, 1, tzinfo=UTC)
    ),
    VirtualTerm: lambda: VirtualTerm.objects.create(
        channel=_channel(f.make_meter("feeder_head", virtual=True)),
        source=_channel(f.make_meter("totalizer")),
        valid_from=date(2026, 3, 1),
    ),
    BackupComparison: lambda: BackupComparison.objects.create(
        channel=_channel(f.make_meter("totalizer")),
        backup_channel=_channel(f.make_meter("totalizer")),
        day=date(2026, 3, 1),
        intervals=96,
        main_missing=0,
        backup_missing=0,
        main_kwh=100,
        backup_kwh=101,
        difference=1,
        difference_pct=1,
        max_interval_difference=0.2,
        flagged=True,
    ),
    VeeEdit: lambda: VeeEdit.objects.create(
        channel=_channel(f.make_meter()),
        ts=datetime(2026, 3, 1, 0, 15, tzinfo=UTC),
        action="manual",
        value=0.3,
        reason="prueba",
        user=User.objects.get_or_create(username="edito-vee")[0],
    ),
    DrProgram: lambda: dr_world(DrProgram),
    ProgramEnrollment: lambda: dr_world(ProgramEnrollment),
    HanDevice: lambda: dr_world(HanDevice),
    PriceNotification: lambda: dr_world(PriceNotification),
    DrEvent: lambda: dr_world(DrEvent),
    DrEventTarget: lambda: dr_world(DrEventTarget),
    DeviceResponse: lambda: dr_world(DeviceResponse),
    DrMessage: lambda: dr_world(DrMessage),
    MonthlyBill: billing.make_bill,
    BillingDocument: billing.make_document,
    RemanenteMovement: billing.make_movement,
    EgContract: billing.make_contract,
    AccessLog: lambda: AccessLog.objects.create(
        user=User.objects.create_user("usuario-log", "log@example.cl"), kind="vnr", reference="V-1"
    ),
    PlannedOutage: outage_factories.make_planned_outage,
    OutageEvent: outage_factories.make_outage_event,
    Interruption: outage_factories.make_interruption,
    ReliabilityIndex: outage_factories.make_reliability_index,
}

# The libraries' own admins (axes lockouts, knox API tokens, django-celery-beat schedules) are
# theirs, not ours.
LIBRARIES = {"axes", "knox", "django_celery_beat"}
REGISTERED = sorted(
    (m for m in admin.site._registry if m._meta.app_label not in LIBRARIES),
    key=lambda model: model._meta.label,
)
READ_ONLY = {
    BackupComparison,
    VeeEdit,
    Run,
    FeederCapacity,
    AccessLog,
    IngestRun,
    ReadingRevision,
    ValidationDay,
    EnergyBalance,
    Alarm,
    PriceNotification,
    DrEvent,
    DrEventTarget,
    DeviceResponse,
    DrMessage,
    MonthlyBill,
    BillingDocument,
    RemanenteMovement,
    EgContract,
    OutageEvent,
    Interruption,
    ReliabilityIndex,
}


def planners_edit(model) -> bool:
    meta = model._meta
    return meta.app_label in PLANNER_APPS or (meta.app_label, meta.model_name) in (
        PLANNER_EXTRA_MODELS
    )


PLANNER_MODELS = [m for m in REGISTERED if planners_edit(m)]
STAFF_ONLY_MODELS = [m for m in REGISTERED if not planners_edit(m)]
MAP_MODELS = [
    m
    for m in REGISTERED
    if any(isinstance(fld, GeometryField) and fld.editable for fld in m._meta.fields)
]

# A script or stylesheet loaded from another host: the admin must work offline.
EXTERNAL_ASSET = re.compile(r"<(?:script|link)\b[^>]*(?:src|href)=[\"']?(?:https?:)?//", re.I)


def label(model) -> str:
    return model._meta.label


def admin_url(model, view: str, *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def make(model):
    if model not in MAKERS:
        pytest.fail(f"{label(model)} is registered in the admin: add a factory to MAKERS")
    return MAKERS[model]()


def assert_pages_open(client, model, add: bool = True) -> None:
    obj = make(model)
    for url in (
        admin_url(model, "changelist"),
        admin_url(model, "changelist") + "?q=zz-1",
        *([] if model in READ_ONLY or not add else [admin_url(model, "add")]),
        admin_url(model, "change", obj.pk),
    ):
        response = client.get(url)
        assert response.status_code == 200, url


def test_every_app_of_the_network_model_is_in_the_admin():
    apps = {m._meta.app_label for m in REGISTERED}
    assert {"geo", "vnr", "network", "demand", "accounts"} <= apps
    for app in ("geo", "vnr", "network", "demand"):
        # The vector tile cache is a throwaway store, not network data.
        missing = set(registry.get_app_config(app).get_models()) - set(REGISTERED) - {TileCache}
        assert not missing, f"not in the admin: {missing}"


def test_planner_sees_the_network_models_on_the_admin_index(client, planner):
    client.force_login(planner)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    content = response.content.decode()
    for model in (Pole, Feeder, Customer, VnrCode, Comuna, MonthlyDemand):
        assert capfirst(model._meta.verbose_name_plural) in content
    assert "Usuarios" not in content


@pytest.mark.parametrize("model", PLANNER_MODELS, ids=label)
def test_planner_opens_list_search_add_and_change_pages(client, planner, model):
    client.force_login(planner)
    # Customers come from the CIS with their personal data: planners do not add them.
    assert_pages_open(client, model, add=model is not Customer)


@pytest.mark.parametrize("model", STAFF_ONLY_MODELS, ids=label)
def test_planner_cannot_open_account_pages_but_a_superuser_can(client, planner, admin_user, model):
    client.force_login(planner)
    assert client.get(admin_url(model, "changelist")).status_code == 403
    client.force_login(admin_user)
    assert_pages_open(client, model)


@pytest.mark.parametrize("model", PLANNER_MODELS, ids=label)
def test_changelist_makes_no_query_per_row(client, planner, model):
    client.force_login(planner)
    key = f"{model._meta.pk.name}__in"  # a feeder's capacity is keyed by its feeder
    pks = [make(model).pk]
    client.get(admin_url(model, "changelist"), {key: pks[0]})  # the alarms, remembered
    with CaptureQueriesContext(connection) as one_row:
        client.get(admin_url(model, "changelist"), {key: pks[0]})
    pks += [make(model).pk, make(model).pk]
    with CaptureQueriesContext(connection) as three_rows:
        response = client.get(admin_url(model, "changelist"), {key: ",".join(map(str, pks))})
    assert response.context["cl"].result_count == 3
    assert len(three_rows) == len(one_row)


def test_changelist_search_finds_a_pole_by_its_plate(client, planner):
    pole = f.make_pole(plate="PX-12345")
    f.make_pole(plate="PX-99999", feeder=pole.feeder)
    client.force_login(planner)
    response = client.get(admin_url(Pole, "changelist"), {"q": "px-123"})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [pole]


@pytest.mark.parametrize("typed", ["12.345.678-5", "123456785", "12345678", "12345678-5"])
def test_changelist_search_finds_a_customer_by_rut_however_typed(client, admin_user, typed):
    # Planners search by customer number only (tests/network/test_customer_privacy_admin.py).
    customer = f.make_customer(rut="12345678-5")
    other = f.make_customer(transformer=customer.transformer)
    client.force_login(admin_user)
    response = client.get(admin_url(Customer, "changelist"), {"q": typed})
    found = list(response.context["cl"].result_list)
    assert customer in found
    assert other not in found


def test_changelist_search_finds_a_customer_by_number_name_or_address(client, admin_user):
    customer = f.make_customer(
        number="CX-5550001", name="Rosa Xyzaraya", address="Pasaje Qwerty 123"
    )
    f.make_customer(transformer=customer.transformer)
    client.force_login(admin_user)
    for term in ("cx-5550001", "xyzaraya", "qwerty"):
        response = client.get(admin_url(Customer, "changelist"), {"q": term})
        assert list(response.context["cl"].result_list) == [customer], term


def test_changelist_filters_by_distributor_kind_and_month(client, planner):
    feeder = f.make_feeder()
    f.make_demand(feeder=feeder)
    client.force_login(planner)
    for model, params in [
        (
            Feeder,
            {"kind__exact": "subalimentador", "distributor__id__exact": feeder.distributor.pk},
        ),
        (Transformer, {"smmc__exact": "1", "kind__exact": "trifasico"}),
        (Customer, {"is_eg__exact": "1"}),
        (MonthlyDemand, {"month": f.this_month().isoformat(), "asset": "feeder"}),
        (EquipmentSetting, {"month": f.this_month().isoformat()}),
        (Span, {"phases": "3"}),
    ]:
        response = client.get(admin_url(model, "changelist"), params)
        # An unknown filter would redirect to ?e=1.
        assert response.status_code == 200, model


def test_autocomplete_of_feeders_answers_a_planner(client, planner):
    feeder = f.make_feeder(code="AL-AUTO")
    client.force_login(planner)
    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "network", "model_name": "pole", "field_name": "feeder", "term": "AL-AU"},
    )
    assert response.status_code == 200
    assert [r["id"] for r in response.json()["results"]] == [str(feeder.pk)]


def test_big_foreign_keys_are_never_a_select_of_every_row():
    huge = {Pole, Feeder, Transformer, Customer, VnrCode, Equipment}
    for model, model_admin in admin.site._registry.items():
        for field in model._meta.fields:
            if field.related_model in huge:
                widgets = {*model_admin.raw_id_fields, *model_admin.autocomplete_fields}
                assert field.name in widgets, f"{label(model)}.{field.name} renders a <select>"


def test_changelists_of_huge_tables_never_count_the_whole_table():
    for model in (Pole, Span, Transformer, Customer, Equipment, MonthlyDemand, Feeder):
        model_admin = admin.site._registry[model]
        assert model_admin.show_full_result_count is False, model
        assert model_admin.paginator is EstimatedCountPaginator, model


def test_unfiltered_list_takes_the_row_estimate_and_filtered_list_counts(monkeypatch):
    pole = f.make_pole()
    f.make_pole(feeder=pole.feeder)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE network_pole")
    monkeypatch.setattr(EstimatedCountPaginator, "exact_below", 1)

    with CaptureQueriesContext(connection) as queries:
        count = EstimatedCountPaginator(Pole.objects.all(), 50).count
    assert count == estimated_rows("default", "network_pole") >= 2
    assert not any("COUNT(" in q["sql"] for q in queries.captured_queries)

    with CaptureQueriesContext(connection) as queries:
        assert EstimatedCountPaginator(Pole.objects.filter(pk=pole.pk), 50).count == 1
    assert any("COUNT(" in q["sql"] for q in queries.captured_queries)


@pytest.mark.parametrize("model", MAP_MODELS, ids=label)
def test_map_widget_loads_openlayers_from_our_static_files(client, planner, admin_user, model):
    obj = make(model)
    # A customer's service point is not shown to planners, nor may they add customers.
    client.force_login(admin_user if model is Customer else planner)
    for url in (admin_url(model, "change", obj.pk), admin_url(model, "add")):
        content = client.get(url).content.decode()
        assert "/static/vendor/ol/ol.js" in content
        assert "/static/vendor/ol/ol.css" in content
        assert "/static/gis/js/OLMapWidget.js" in content
        assert "/static/js/map_widget.js" in content and "data-map-widget" in content
        assert not EXTERNAL_ASSET.search(content), EXTERNAL_ASSET.search(content).group(0)
        assert "cdn." not in content
        assert "ol.source.OSM" not in content


def test_map_widget_starts_on_chile_with_no_base_layer_by_default(client, planner, settings):
    settings.MAP_BASE_LAYER_URL = ""
    client.force_login(planner)
    content = client.get(admin_url(Pole, "add")).content.decode()
    # The options travel as JSON (no inline script under the CSP); static/js/map_widget.js
    # draws a graticule when there is no base layer.
    assert '"default_lon": -70.65' in content
    assert '"default_lat": -33.45' in content
    assert '"base_layer_url": ""' in content


def test_map_widget_uses_the_configured_base_layer(client, planner, settings):
    settings.MAP_BASE_LAYER_URL = "https://tiles.example.cl/{z}/{x}/{y}.png"
    client.force_login(planner)
    content = client.get(admin_url(Pole, "add")).content.decode()
    assert "tiles.example.cl" in content
    assert not EXTERNAL_ASSET.search(content)


def test_planner_moves_a_pole_on_the_change_form(client, planner):
    pole = f.make_pole()
    client.force_login(planner)
    data = {
        "distributor": pole.distributor_id,
        "plate": pole.plate,
        "feeder": pole.feeder_id,
        "vnr": pole.vnr_id,
        "mt_voltage_kv": "13.2",
        "bt_voltage_v": "380",
        "material": "hormigón",
        "height_m": "11.5",
        "location": '{"type": "Point", "coordinates": [-7865000.0, -3953000.0]}',
        "as_of": "2025-01-31",
    }
    response = client.post(admin_url(Pole, "change", pole.pk), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    pole.refresh_from_db()
    assert pole.location.srid == 4326
    assert pole.location.x == pytest.approx(-70.65, abs=0.01)
    assert pole.location.y == pytest.approx(-33.42, abs=0.05)
    assert pole.mt_voltage_kv == Decimal("13.2")


def test_change_form_rejects_a_sub_feeder_without_owner_instead_of_crashing(client, planner):
    feeder = f.make_feeder()
    client.force_login(planner)
    data = {
        "distributor": feeder.distributor_id,
        "code": feeder.code,
        "name": feeder.name,
        "substation": feeder.substation_id,
        "kind": "subalimentador",
        "owner": "",
        "purchase_node": "",
        "nominal_voltage_kv": "12",
        "capacity_a": "400",
        "power_kva": "8000",
        "short_circuit_kva": "150000",
        "as_of": "2025-01-31",
    }
    response = client.post(admin_url(Feeder, "change", feeder.pk), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors


def test_staff_without_the_planners_group_is_forbidden(client, django_user_model):
    staff = django_user_model.objects.create_user("personal", password="x", is_staff=True)
    client.force_login(staff)
    assert client.get(admin_url(Pole, "changelist")).status_code == 403
    assert client.get(admin_url(Pole, "add")).status_code == 403


def test_planners_group_has_full_rights_on_the_network_model():
    group = Group.objects.get(name=PLANNERS_GROUP)
    granted = set(group.permissions.values_list("content_type__app_label", "codename"))
    for model in PLANNER_MODELS:
        for action in ("add", "change", "delete", "view"):
            codename = f"{action}_{model._meta.model_name}"
            if (model._meta.app_label, codename) in PLANNER_EXCLUDED_PERMISSIONS:
                assert (model._meta.app_label, codename) not in granted
            else:
                assert (model._meta.app_label, codename) in granted


def test_planners_group_cannot_manage_user_accounts_or_groups(planner):
    group = Group.objects.get(name=PLANNERS_GROUP)
    models = set(group.permissions.values_list("content_type__app_label", "content_type__model"))
    assert {app for app, model in models if (app, model) not in PLANNER_EXTRA_MODELS} <= set(
        PLANNER_APPS
    )
    assert not Permission.objects.filter(
        group=group, content_type__app_label__in=["accounts", "auth", "admin", "sessions"]
    ).exists()
    assert not planner.has_perm("accounts.change_user")
    assert not planner.has_perm("accounts.view_user")


def test_dates_typed_with_dashes_are_accepted_as_in_chile():
    from datetime import date, datetime

    from django import forms

    assert forms.DateField().clean("02-03-2026") == date(2026, 3, 2)
    assert forms.DateField().clean("02/03/2026") == date(2026, 3, 2)
    assert forms.DateTimeField().clean("02-03-2026 14:30").replace(tzinfo=None) == datetime(
        2026, 3, 2, 14, 30
    )
