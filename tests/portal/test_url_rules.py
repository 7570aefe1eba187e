"""Every URL pattern × the six personas, against the access rule declared for it here.

A URL added without a rule fails `test_every_url_pattern_has_a_declared_rule`; a rule the
server does not keep fails `test_each_url_answers_each_persona_as_its_rule_says`. The rules
follow SPEC.md's profile table (accounts/permissions.py holds them on the server side).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.contrib.admin.sites import site
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from network.models import Customer, Equipment, Feeder, Pole, Span, Substation, Transformer
from tests.conftest import PERSONAS

pytestmark = pytest.mark.django_db

REGISTERED = PERSONAS[1:]
OK = {200}
LOGIN = {302}  # to the login page


@dataclass(frozen=True)
class Rule:
    """Expected status codes for each persona; `args` builds the URL's arguments from the
    sample data (None: the pattern takes none)."""

    statuses: dict[str, set[int]]
    args: str | None = None
    query: str = ""


def everyone(codes: set[int] = OK) -> dict[str, set[int]]:
    return dict.fromkeys(PERSONAS, codes)


def registered(codes: set[int] = OK, anonymous: set[int] = LOGIN) -> dict[str, set[int]]:
    return {"anonymous": anonymous, **dict.fromkeys(REGISTERED, codes)}


def only(allowed: tuple[str, ...], denied: set[int], anonymous: set[int]) -> dict:
    return {
        "anonymous": anonymous,
        **{p: (OK if p in allowed else denied) for p in REGISTERED},
    }


NETWORK_PAGE = registered()
# DRF: no login page to send an API client to; 401 (WWW-Authenticate: Token) to get one.
NETWORK_API = registered(anonymous={401})
SEC_API = only(("sec",), {403}, {401})
SEC_FEED = {**SEC_API, "sec": {200, 404}}
MONITORING = only(("sec", "planner"), {403}, LOGIN)
DR_READ = only(("sec", "planner"), {403}, {401})
TILE = registered({200, 204}, anonymous={401})
ACCOUNT_PAGE = registered()
# A customer's own pages and files: the owner and SEC; 404 for everyone else, never 403.
CLIENT_ACCOUNT = only(("client", "sec"), {404}, LOGIN)
EG_ACCOUNT = only(("eg", "sec"), {404}, LOGIN)
# Login and registration: a logged-in user is sent on to the portal.
ANONYMOUS_ONLY = {"anonymous": OK, **dict.fromkeys(REGISTERED, {302})}

RULES: dict[str, Rule] = {
    "landing": Rule(everyone()),
    "favicon": Rule(everyone({301})),
    "login": Rule(ANONYMOUS_ONLY),
    "logout": Rule(dict.fromkeys(PERSONAS, {405})),  # POST only
    "register": Rule(ANONYMOUS_ONLY),
    "register_done": Rule(everyone()),
    "activate": Rule(everyone(), args="reset"),  # an invalid link: a page saying so
    "password_reset": Rule(everyone()),
    "password_reset_done": Rule(everyone()),
    "password_reset_confirm": Rule(everyone(), args="reset"),
    "password_reset_complete": Rule(everyone()),
    "password_change": Rule(ACCOUNT_PAGE),
    "password_change_done": Rule(ACCOUNT_PAGE),
    "captcha-image": Rule(everyone({404, 410}), args="captcha"),  # an unknown key: gone
    "captcha-image-2x": Rule(everyone({404, 410}), args="captcha"),
    "captcha-audio": Rule(everyone({404, 410}), args="captcha"),
    "captcha-refresh": Rule(everyone({200, 404})),  # answers only XMLHttpRequest (404 else)
    "network:search": Rule(NETWORK_PAGE),
    "network:options": Rule(registered(anonymous={401}), args="level", query="parent={region}"),
    "network:substation": Rule(NETWORK_PAGE, args="substation"),
    "network:feeder": Rule(NETWORK_PAGE, args="feeder"),
    "network:transformer": Rule(NETWORK_PAGE, args="transformer"),
    "network:transformer_search": Rule(NETWORK_PAGE),
    "network:vnr": Rule(NETWORK_PAGE),
    "maps:map": Rule(NETWORK_PAGE),
    "maps:search": Rule(registered(anonymous={401}), query="q={substation_code}"),
    "maps:feeder_kmz": Rule(NETWORK_PAGE, args="feeder"),
    "tiles:tile": Rule(TILE, args="tile"),
    "api:grid-location": Rule(NETWORK_API, query="region={region}&comuna={comuna}"),
    "api:grid-feeder-assets": Rule(NETWORK_API, args="feeder", query="tipo=poste"),
    "api:token": Rule(registered({405}, anonymous={401})),  # POST only
    "api:schema": Rule(NETWORK_API),
    "api:docs": Rule(NETWORK_PAGE),  # a page (Swagger UI): anonymous visitors go to login
    "api:region-list": Rule(NETWORK_API),
    "api:region-detail": Rule(NETWORK_API, args="region"),
    "api:comuna-list": Rule(NETWORK_API),
    "api:comuna-detail": Rule(NETWORK_API, args="comuna"),
    "api:substation-list": Rule(NETWORK_API),
    "api:substation-detail": Rule(NETWORK_API, args="substation"),
    "api:feeder-list": Rule(NETWORK_API),
    "api:feeder-detail": Rule(NETWORK_API, args="feeder"),
    "api:span-list": Rule(NETWORK_API),
    "api:span-detail": Rule(NETWORK_API, args="span"),
    "api:pole-list": Rule(NETWORK_API),
    "api:pole-detail": Rule(NETWORK_API, args="pole"),
    "api:equipment-list": Rule(NETWORK_API),
    "api:equipment-detail": Rule(NETWORK_API, args="equipment"),
    "api:transformer-list": Rule(NETWORK_API),
    "api:transformer-detail": Rule(NETWORK_API, args="transformer"),
    "api:demand-list": Rule(NETWORK_API),
    "api:demand-detail": Rule(NETWORK_API, args="demand"),
    "api:vnr-code-list": Rule(NETWORK_API),
    "api:vnr-code-detail": Rule(NETWORK_API, args="vnr"),
    # Capacity per pole is derived from the network: every registered profile.
    "capacity-api:pole-list": Rule(NETWORK_API),
    "capacity-api:pole-detail": Rule(NETWORK_API, args="pole"),
    "capacity-api:feeder": Rule(NETWORK_API, args="feeder"),
    "capacity-api:download": Rule(NETWORK_API, query="alimentador={feeder_pk}"),
    "api:customer-list": Rule(SEC_API),
    "api:customer-detail": Rule(SEC_API, args="customer"),
    "dr:participation": Rule(DR_READ),
    "dr:program-list": Rule(DR_READ),
    "dr:program-detail": Rule(DR_READ, args="program"),
    "dr:event-list": Rule(DR_READ),
    "dr:event-detail": Rule(DR_READ, args="event"),
    "dr:target-list": Rule(DR_READ),
    "dr:target-detail": Rule(DR_READ, args="target"),
    "dr:message-list": Rule(DR_READ),
    "dr:message-detail": Rule(DR_READ, args="message"),
    "metering:monitoring": Rule(MONITORING),
    "metering:vee": Rule(MONITORING),
    "metering:vee_day": Rule(MONITORING, args="vee_day"),
    "metering:backup": Rule(MONITORING),
    "metering:virtual": Rule(MONITORING),
    "metering:tasks": Rule(MONITORING),
    "metering:ingest_runs": Rule(MONITORING),
    "metering:ingest_run": Rule(MONITORING, args="ingest_run"),
    # The report file may be gone (404) in the test's data set.
    "metering:ingest_report": Rule(
        {**MONITORING, "sec": {200, 404}, "planner": {200, 404}}, args="ingest_run"
    ),
    "metering:dr_messages": Rule(MONITORING),
    "metering:reports": Rule(MONITORING),
    "metering:report_schema": Rule(MONITORING),
    "metering:report": Rule(MONITORING, args="report"),
    "metering:report_download": Rule(MONITORING, args="report_file"),
    "metering:meter_curves": Rule(MONITORING),
    "metering:group_curves": Rule(MONITORING),
    # Quality of supply (SAIDI / SAIFI, outage events): the same planners and SEC auditors.
    "outages:indices": Rule(MONITORING),
    "outages:events": Rule(MONITORING),
    "outages:event": Rule(MONITORING, args="outage_event"),
    # /mi-cuenta/ sends a customer to their own pages; other profiles have none.
    "customers:mine": Rule({**only((), {404}, LOGIN), "client": {302}, "eg": {302}}),
    "customers:search": Rule(only(("sec",), {403}, LOGIN), query="por=direccion&q=andes"),
    "customers:access_log": Rule(only(("sec",), {403}, LOGIN)),
    "regulator:volume": Rule(only(("sec", "planner"), {403}, LOGIN)),
    "regulator:deliveries": Rule(only(("sec", "planner"), {403}, LOGIN)),
    # SEC's pull API; the sample batch may not exist in the demo set (404 to SEC only).
    "regulator-api:batches": Rule(SEC_API),
    "regulator-api:manifest": Rule(SEC_FEED, args="batch"),
    "regulator-api:file": Rule(SEC_FEED, args="batch_file"),
    "regulator-api:acknowledge": Rule({**SEC_API, "sec": {405}}, args="batch"),  # POST only
    "regulator:schemas": Rule(everyone()),  # the contract holds no data
    "regulator:schema": Rule(everyone(), args="schema"),
    "customers:home": Rule(CLIENT_ACCOUNT, args="client_customer"),
    "customers:explained": Rule(CLIENT_ACCOUNT, args="client_customer"),
    "customers:documents": Rule(CLIENT_ACCOUNT, args="client_customer"),
    "customers:document_pdf": Rule(CLIENT_ACCOUNT, args="client_document"),
    "customers:demand_response": Rule(CLIENT_ACCOUNT, args="client_customer"),
    "customers:data": Rule(CLIENT_ACCOUNT, args="client_customer"),
    "customers:data_readings": Rule(CLIENT_ACCOUNT, args="client_customer"),
    "customers:data_bills": Rule(CLIENT_ACCOUNT, args="client_customer"),
    "customers:data_espi": Rule(CLIENT_ACCOUNT, args="client_customer"),
    # The EG pages (§5 IV, VI–IX) answer only for an EG customer's own account.
    "customers:injections": Rule(EG_ACCOUNT, args="eg_customer"),
    "customers:history": Rule(EG_ACCOUNT, args="eg_customer"),
    "customers:remanentes": Rule(EG_ACCOUNT, args="eg_customer"),
    "customers:meter": Rule(EG_ACCOUNT, args="eg_customer"),
    "customers:contract": Rule(EG_ACCOUNT, args="eg_customer"),
    "customers:contract_pdf": Rule(EG_ACCOUNT, args="eg_contract_pdf"),
}


def url_patterns(resolver=None, prefix: str = "", namespace: str = ""):
    """(pattern text, name with namespace) of every URL of the project."""
    for entry in (resolver or get_resolver()).url_patterns:
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from url_patterns(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else entry.name
            yield prefix + str(entry.pattern), name


def is_admin(pattern: str) -> bool:
    # The admin keeps its own rule: staff only, then the model permissions of each user
    # (test_the_admin_answers_only_staff_with_the_model_permission below).
    return pattern.startswith("admin/")


def test_every_url_pattern_has_a_declared_rule():
    missing = [
        f"{pattern} ({name})"
        for pattern, name in url_patterns()
        if not is_admin(pattern) and name not in RULES
    ]
    assert not missing, "URLs without an access rule in this file: " + ", ".join(missing)
    stale = set(RULES) - {name for _, name in url_patterns()}
    assert not stale, f"rules for URLs that no longer exist: {sorted(stale)}"


@pytest.fixture
def sample_args(demo_network, persona_users) -> dict:
    from demand.models import MonthlyDemand
    from metering.models import (
        BillingDocument,
        DrEvent,
        DrEventTarget,
        DrMessage,
        DrProgram,
        IngestRun,
        Meter,
        MeteringReport,
        ValidationDay,
    )
    from outages.models import OutageEvent
    from vnr.models import VnrCode

    substation = Substation.objects.select_related("comuna__region").order_by("pk").first()
    event = DrEvent.objects.order_by("pk").first()
    return {
        "query": {
            "region": substation.comuna.region.code,
            "comuna": substation.comuna.code,
            "substation_code": substation.code,
            "feeder_pk": Feeder.objects.order_by("pk").values_list("pk", flat=True)[0],
        },
        "level": {"level": "comuna"},
        "reset": {"uidb64": "MQ", "token": "no-es-un-token"},
        "captcha": {"key": "0" * 40},
        "schema": {"name": "postes"},
        "batch": {"number": 0},
        "batch_file": {"number": 0, "name": "clientes-0001.jsonl.gz"},
        "tile": {"layer": "red", "z": 12, "x": 1217, "y": 2466},
        "region": {"pk": substation.comuna.region_id},
        "comuna": {"pk": substation.comuna_id},
        "substation": {"pk": substation.pk},
        "feeder": {"pk": Feeder.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "transformer": {"pk": Transformer.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "span": {"pk": Span.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "pole": {"pk": Pole.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "equipment": {"pk": Equipment.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "demand": {"pk": MonthlyDemand.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "vnr": {"pk": VnrCode.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "outage_event": {"pk": OutageEvent.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "customer": {"pk": persona_users["client"].customer_id},
        "client_customer": {"pk": persona_users["client"].customer_id},
        "eg_customer": {"pk": persona_users["eg"].customer_id},
        "client_document": {
            "pk": persona_users["client"].customer_id,
            "document": BillingDocument.objects.filter(customer=persona_users["client"].customer)
            .values_list("pk", flat=True)
            .first(),
        },
        "eg_contract_pdf": {"pk": persona_users["eg"].customer_id, "document": "contrato"},
        # The demo customers' personal data, by the persona that owns it (see the scan below).
        "personal": {
            persona: [v for v in (c.rut, c.name, c.email, c.phone, c.address) if v and len(v) > 5]
            for persona in ("client", "eg")
            for c in [persona_users[persona].customer]
        },
        "ingest_run": {"pk": IngestRun.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "report": {"pk": MeteringReport.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "report_file": {
            "pk": MeteringReport.objects.order_by("pk").values_list("pk", flat=True)[0],
            "extension": "xml",
        },
        "vee_day": {
            "serial": Meter.objects.order_by("pk").values_list("serial", flat=True)[0],
            "day": str(
                ValidationDay.objects.order_by("day").values_list("day", flat=True).first()
                or "2026-01-01"
            ),
        },
        "program": {"code": DrProgram.objects.order_by("pk").values_list("code", flat=True)[0]},
        "event": {"correlation_id": event.correlation_id},
        "target": {"pk": DrEventTarget.objects.order_by("pk").values_list("pk", flat=True)[0]},
        "message": {
            "message_id": DrMessage.objects.order_by("pk").values_list("message_id", flat=True)[0]
        },
    }


@pytest.mark.parametrize("name", sorted(RULES))
def test_each_url_answers_each_persona_as_its_rule_says(name, login_as, sample_args):
    rule = RULES[name]
    url = reverse(name, kwargs=sample_args[rule.args] if rule.args else None)
    if rule.query:
        url += "?" + rule.query.format(**sample_args["query"])
    wrong, leaks = {}, {}
    for persona in PERSONAS:
        response = login_as(persona).get(url)
        if response.status_code not in rule.statuses[persona]:
            wrong[persona] = response.status_code
        # Every answer to a persona who may not see a demo customer (forbidden pages, public
        # pages, the other customer's pages) is scanned for that customer's personal data.
        if persona != "sec":
            body = body_text(response)
            found = [s for owner, data in sample_args["personal"].items() if owner != persona
                     for s in data if s in body]  # fmt: skip
            if found:
                leaks[persona] = found
    assert not wrong, f"{url}: {wrong} (expected {rule.statuses})"
    assert not leaks, f"{url} shows personal data: {leaks}"


def body_text(response) -> str:
    """What a response shows: HTML, JSON, CSV or a PDF's text."""
    import subprocess

    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response.get("Content-Type", "").startswith("application/pdf"):
        done = subprocess.run(
            ["pdftotext", "-", "-"], input=content, capture_output=True, check=True
        )
        return done.stdout.decode()
    return content.decode("utf-8", "replace")


def test_the_admin_answers_only_staff_with_the_model_permission(login_as, persona_users):
    for persona in PERSONAS:
        browser = login_as(persona)
        user = persona_users[persona]
        for model in site._registry:
            meta = model._meta
            url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
            status = browser.get(url).status_code
            if user is None or not user.is_staff:
                assert status == 302, (persona, url, status)
            else:
                allowed = user.has_perm(f"{meta.app_label}.view_{meta.model_name}") or (
                    user.has_perm(f"{meta.app_label}.change_{meta.model_name}")
                )
                assert status == (200 if allowed else 403), (persona, url, status)


def test_another_customers_id_answers_404_to_a_customer(login_as, persona_users):
    from django.http import Http404

    from accounts.permissions import get_customer_for_user

    mine = persona_users["client"].customer
    theirs = Customer.objects.exclude(pk=mine.pk).order_by("pk").first()
    assert get_customer_for_user(persona_users["client"], pk=mine.pk) == mine
    for persona in ("client", "eg", "public", "planner"):
        with pytest.raises(Http404):
            get_customer_for_user(persona_users[persona], pk=theirs.pk)
    assert get_customer_for_user(persona_users["sec"], pk=theirs.pk) == theirs
    assert list(Customer.objects.visible_to(persona_users["eg"])) == [persona_users["eg"].customer]
    assert not Customer.objects.visible_to(persona_users["planner"]).exists()
    assert Customer.objects.visible_to(persona_users["sec"]).count() == Customer.objects.count()


def test_the_personal_data_scan_finds_the_data_where_it_may_be_shown(login_as, sample_args):
    """The scan above is not vacuous: the same strings are on the owner's and SEC's pages."""
    url = reverse("customers:home", kwargs=sample_args["client_customer"])
    for persona in ("client", "sec"):
        body = body_text(login_as(persona).get(url))
        assert all(s in body for s in sample_args["personal"]["client"]), persona
    assert len(sample_args["personal"]["client"]) >= 4
