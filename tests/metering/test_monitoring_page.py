"""The planners' page of energy balances and alarms: content and who may see it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from metering.models import Alarm
from metering.services import monitoring
from tests.metering.test_monitoring import MARCH, network  # noqa: F401  (fixture)

pytestmark = pytest.mark.django_db

URL = reverse("metering:monitoring")


@pytest.fixture
def monitored(network):  # noqa: F811
    monitoring.monitor(MARCH)
    return network


def test_a_planner_sees_the_month_s_balances_and_alarms(client, planner, monitored):
    _, transformer = monitored
    client.force_login(planner)
    response = client.get(URL, {"mes": "2026-03"})

    assert response.status_code == 200
    page = response.content.decode()
    assert transformer.code in page
    assert "18,75" in page and "Sobre el umbral" in page
    assert "Cambio de hábito de consumo" in page
    assert response.context["alarms"].paginator.count == Alarm.objects.count()


def test_the_filters_keep_flagged_balances_and_one_kind_of_alarm(client, planner, monitored):
    client.force_login(planner)
    response = client.get(URL, {"mes": "2026-03", "solo": "sobre-umbral", "alarma": "voltage"})
    assert response.context["balances"].paginator.count == 1
    kinds = {a.kind for a in response.context["alarms"]}
    assert kinds == {"voltage"}


def test_a_sec_auditor_may_see_it(client, django_user_model, monitored):
    auditor = django_user_model.objects.create_user("auditor", "a@sec.cl", "x", profile="sec")
    client.force_login(auditor)
    assert client.get(URL).status_code == 200


def test_the_public_profile_may_not_and_has_no_link_to_it(public_client, monitored):
    assert public_client.get(URL).status_code == 403
    assert URL not in public_client.get(reverse("network:vnr")).content.decode()


def test_planners_have_a_link_to_it_in_the_menu(client, planner):
    client.force_login(planner)
    assert URL in client.get(reverse("network:vnr")).content.decode()


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(URL)
    assert response.status_code == 302 and "/cuentas/" in response["Location"]


def test_the_page_saves_as_pdf(client, planner, monitored):
    client.force_login(planner)
    response = client.get(URL, {"mes": "2026-03", "formato": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_each_visit_and_pdf_is_in_the_access_log(client, planner, monitored):
    from accounts.models import AccessLog

    client.force_login(planner)
    client.get(URL, {"mes": "2026-03"})
    client.get(URL, {"mes": "2026-03", "formato": "pdf"})
    assert list(
        AccessLog.objects.filter(user=planner).order_by("pk").values_list("kind", "reference")
    ) == [("balances", "2026-03"), ("balances", "2026-03 (PDF)")]
