"""The quality of supply pages over the demo data set, per persona, and the planners' marking
of a planned outage in the admin."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import AccessLog
from outages.models import Interruption, OutageEvent, PlannedOutage, ReliabilityIndex
from tests.conftest import PERSONAS

pytestmark = pytest.mark.django_db

ALLOWED = {"planner", "sec"}
EVENTS_QUERIES = 8
INDICES_QUERIES = 11


def demo_month():
    return ReliabilityIndex.objects.order_by("-month").values_list("month", flat=True).first()


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("pdf", [False, True])
def test_the_indices_page_and_its_pdf_answer_planners_and_sec_only(login_as, persona, pdf):
    url = reverse("outages:indices") + ("?formato=pdf" if pdf else "")
    response = login_as(persona).get(url)
    if persona == "anonymous":
        assert response.status_code == 302 and "/cuentas/ingresar/" in response["Location"]
    elif persona in ALLOWED:
        assert response.status_code == 200
        if pdf:
            assert response["Content-Type"].startswith("application/pdf")
            assert response.content.startswith(b"%PDF")
        else:
            assert "SAIDI" in response.content.decode()
    else:
        assert response.status_code == 403


def test_the_indices_page_shows_the_months_figures_and_logs_the_view(login_as, persona_users):
    month = demo_month()
    company = ReliabilityIndex.objects.get(month=month, level="distributor")
    assert company.customer_interruptions > 0  # the demo month has outages to show
    body = login_as("planner").get(reverse("outages:indices")).content.decode()
    assert company.distributor.name in body
    assert f"{company.customers_served:,}".replace(",", ".") in body
    log = AccessLog.objects.filter(user=persona_users["planner"], kind="calidad").get()
    assert log.reference == f"índices {month:%Y-%m}"


def test_the_event_list_filters_by_kind_planned_and_feeder(login_as):
    month = demo_month()
    browser = login_as("sec")
    base = reverse("outages:events") + f"?mes={month:%Y-%m}"
    every = browser.get(base).context["events"].paginator.count
    assert every == OutageEvent.objects.filter(month=month).count() >= 3
    only = browser.get(base + "&tipo=transformer").context["events"]
    assert {e.kind for e in only} == {"transformer"}
    assert browser.get(base + "&programada=si").context["events"].paginator.count == 0
    feeder = OutageEvent.objects.filter(month=month, kind="feeder").get().feeder
    by_feeder = browser.get(base + f"&alimentador={feeder.pk}").context["events"]
    assert {e.feeder_id for e in by_feeder} == {feeder.pk}


@pytest.mark.parametrize("value", ["abc", "999999999"])
def test_a_bad_feeder_filter_is_said_in_spanish_not_a_500(login_as, value):
    response = login_as("planner").get(reverse("outages:events") + f"?alimentador={value}")
    assert response.status_code == 200
    assert "alimentador" in response.context["error"]


def test_an_open_event_says_abierta_and_its_detail_lists_customers_by_number(login_as):
    open_event = OutageEvent.objects.filter(ended_at__isnull=True).order_by("pk").first()
    assert open_event is not None  # the demo's gasp without restore
    listing = login_as("planner").get(reverse("outages:events") + f"?mes={open_event.month:%Y-%m}")
    assert "abierta" in listing.content.decode()
    detail = login_as("planner").get(reverse("outages:event", args=[open_event.pk]))
    body = detail.content.decode()
    interruption = Interruption.objects.get(event=open_event)
    assert interruption.customer.number in body
    # To planners a customer is a number tied to a transformer: never the name or address.
    assert interruption.customer.name not in body
    assert interruption.customer.address not in body
    assert "abierta" in body


def test_an_unknown_event_answers_404(login_as):
    for pk in (0, 10**20):
        assert login_as("sec").get(f"/calidad-de-servicio/eventos/{pk}/").status_code == 404


def test_a_planner_marks_an_event_planned_from_the_admin_and_the_indices_drop_it(
    login_as, persona_users
):
    month = demo_month()
    event = OutageEvent.objects.get(month=month, kind="transformer")
    company = ReliabilityIndex.objects.get(month=month, level="distributor")
    browser = login_as("planner")
    response = browser.post(
        reverse("admin:outages_outageevent_changelist"),
        {"action": "mark_planned", "_selected_action": [event.pk]},
    )
    assert response.status_code == 302
    plan = PlannedOutage.objects.get()
    assert plan.created_by == persona_users["planner"] and plan.reason
    event.refresh_from_db()
    assert event.planned == plan
    after = ReliabilityIndex.objects.get(month=month, level="distributor")
    assert after.customer_interruptions == company.customer_interruptions - event.customers
    assert after.saidi < company.saidi


def test_a_planned_outage_entered_in_the_admin_form_records_who_and_recomputes(
    login_as, persona_users
):
    month = demo_month()
    event = OutageEvent.objects.get(month=month, kind="feeder")
    local = timezone.localtime(event.started_at)
    response = login_as("planner").post(
        reverse("admin:outages_plannedoutage_add"),
        {
            "feeder": event.feeder_id,
            "transformer": "",
            "starts_at_0": local.strftime("%d/%m/%Y"),
            "starts_at_1": local.strftime("%H:%M:%S"),
            "ends_at_0": local.strftime("%d/%m/%Y"),
            "ends_at_1": "23:59:00",
            "reason": "Poda programada",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    plan = PlannedOutage.objects.get()
    assert plan.created_by == persona_users["planner"]
    event.refresh_from_db()
    assert event.planned == plan
    assert set(Interruption.objects.filter(event=event).values_list("excluded", flat=True)) == {
        "planned"
    }


def test_the_event_list_and_the_indices_read_a_fixed_number_of_queries(login_as):
    """However many events and feeders the month has: no query per row."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    browser = login_as("sec")
    counts = {}
    for name in ("outages:events", "outages:indices"):
        # The session, the user and the alarms (remembered by the process) are read before.
        browser.get(reverse(name))
        with CaptureQueriesContext(connection) as queries:
            assert browser.get(reverse(name)).status_code == 200
        counts[name] = len(queries)
    assert counts == {"outages:events": EVENTS_QUERIES, "outages:indices": INDICES_QUERIES}


def test_the_planned_outage_form_says_what_is_wrong_in_spanish(login_as):
    event = OutageEvent.objects.filter(kind="transformer").order_by("pk").first()
    from network.models import Transformer

    other = Transformer.objects.exclude(feeder=event.feeder).order_by("pk").first()
    response = login_as("planner").post(
        reverse("admin:outages_plannedoutage_add"),
        {
            "feeder": event.feeder_id,
            "transformer": other.pk,
            "starts_at_0": "05/11/2026",
            "starts_at_1": "10:00:00",
            "ends_at_0": "05/11/2026",
            "ends_at_1": "09:00:00",
            "reason": "Prueba",
        },
    )
    assert response.status_code == 200  # the form again, nothing saved
    body = response.content.decode()
    assert "El transformador no pertenece al alimentador indicado." in body
    assert "El término programado debe ser posterior al inicio." in body
    assert not PlannedOutage.objects.exists()
