"""Every URL of the customer's profile × the six personas: who gets the page, and that no other
customer's personal data or amounts reach the body, the PDF or the downloaded file.

The URLs are enumerated from the URLconf (the `customers` namespace), so a new page or
download is covered without editing this file.
"""

from __future__ import annotations

import re
import subprocess

import pytest
from django.urls import get_resolver, reverse

from accounts.models import AccessLog
from core.numbers import clp
from metering.models import BillingDocument, MonthlyBill
from network.models import Customer
from tests.conftest import PERSONAS

pytestmark = pytest.mark.django_db

EG_ONLY = {"injections", "history", "remanentes", "meter", "contract", "contract_pdf"}
# The SEC auditor's own pages (§3): no customer in the URL; everyone else gets 403.
SEC_ONLY = {"search", "access_log"}
NOT_AN_ACCOUNT = {"mine", *SEC_ONLY}


def customer_urls() -> list[tuple[str, list[str]]]:
    """(name, its keyword arguments) of every URL of the customers namespace."""
    resolver = get_resolver().namespace_dict["customers"][1]
    found = []
    for pattern in resolver.url_patterns:
        found.append((pattern.name, sorted(pattern.pattern.converters)))
    return found


def url_for(name: str, customer: Customer, converters: list[str]) -> str:
    kwargs = {}
    if "pk" in converters:
        kwargs["pk"] = customer.pk
    if "document" in converters:
        if name == "contract_pdf":
            kwargs["document"] = "contrato"
        else:
            kwargs["document"] = BillingDocument.objects.filter(customer=customer).values_list(
                "pk", flat=True
            )[0]
    return reverse(f"customers:{name}", kwargs=kwargs or None)


def text_of(response) -> str:
    content = b"".join(response.streaming_content) if response.streaming else response.content
    if response["Content-Type"].startswith("application/pdf"):
        done = subprocess.run(
            ["pdftotext", "-layout", "-", "-"], input=content, capture_output=True, check=True
        )
        return done.stdout.decode()
    return content.decode("utf-8-sig")


def secrets_of(customer: Customer, own: Customer) -> list[str]:
    """What must never show on `own`'s pages: the other customer's RUT, name, e-mail, phone
    and billed amounts (those that `own` does not happen to share)."""
    mine = set(MonthlyBill.objects.filter(customer=own).values_list("charges_clp", flat=True))
    amounts = {
        clp(v)
        for v in MonthlyBill.objects.filter(customer=customer).values_list("charges_clp", flat=True)
        if v not in mine and v >= 1000
    }
    fields = [customer.rut, customer.name, customer.email, customer.phone]
    return [f for f in fields if f] + sorted(amounts)


@pytest.fixture
def accounts(persona_users):
    return {"client": persona_users["client"].customer, "eg": persona_users["eg"].customer}


def expected(persona: str, owner: str) -> set[int]:
    if persona == "anonymous":
        return {302}
    return {200} if persona in (owner, "sec") else {404}


@pytest.mark.parametrize("name", sorted(SEC_ONLY))
def test_the_sec_pages_answer_only_sec(name, login_as):
    url = reverse(f"customers:{name}")
    for persona in PERSONAS:
        expected_status = {"anonymous": 302, "sec": 200}.get(persona, 403)
        assert login_as(persona).get(url).status_code == expected_status, (persona, url)


def test_the_profile_has_urls_to_check():
    names = {name for name, _ in customer_urls()}
    assert {"home", "documents", "document_pdf", "data_espi", "contract"} <= names


@pytest.mark.parametrize(
    "name,converters", [u for u in customer_urls() if u[0] not in NOT_AN_ACCOUNT]
)
def test_each_customer_url_answers_only_its_owner_and_sec(name, converters, login_as, accounts):
    owners = ["eg"] if name in EG_ONLY else ["client", "eg"]
    for owner in owners:
        if (
            name == "document_pdf"
            and not BillingDocument.objects.filter(customer=accounts[owner]).exists()
        ):
            continue
        url = url_for(name, accounts[owner], converters)
        wrong = {}
        for persona in PERSONAS:
            status = login_as(persona).get(url).status_code
            if status not in expected(persona, owner):
                wrong[persona] = status
        assert not wrong, f"{url}: {wrong}"


def test_eg_pages_answer_404_for_a_customer_without_generation(login_as, accounts):
    for name, converters in customer_urls():
        if name not in EG_ONLY:
            continue
        url = (
            url_for(name, accounts["client"], converters)
            if name != "contract_pdf"
            else (reverse("customers:contract_pdf", args=[accounts["client"].pk, "contrato"]))
        )
        for persona in ("client", "sec"):
            assert login_as(persona).get(url).status_code == 404, (persona, url)


def test_another_customers_id_answers_404_on_every_url(login_as, accounts):
    other = Customer.objects.exclude(pk__in=[c.pk for c in accounts.values()]).first()
    for name, converters in customer_urls():
        if "pk" not in converters:
            continue
        url = url_for(name, accounts["client"], converters).replace(
            f"/clientes/{accounts['client'].pk}/", f"/clientes/{other.pk}/", 1
        )
        for persona in ("client", "eg"):
            assert login_as(persona).get(url).status_code == 404, (persona, url)


def test_a_document_of_another_customer_answers_404_under_ones_own_id(login_as, accounts):
    theirs = BillingDocument.objects.exclude(customer=accounts["client"]).first()
    url = reverse("customers:document_pdf", args=[accounts["client"].pk, theirs.pk])
    assert login_as("client").get(url).status_code == 404


@pytest.mark.parametrize("owner,other", [("client", "eg"), ("eg", "client")])
def test_no_other_customers_data_in_any_page_pdf_or_file(owner, other, login_as, accounts):
    browser = login_as(owner)
    secrets = secrets_of(accounts[other], accounts[owner])
    assert len(secrets) > 4  # the other customer has bills to leak
    checked = 0
    for name, converters in customer_urls():
        if name in NOT_AN_ACCOUNT or (name in EG_ONLY and owner != "eg"):
            continue
        if (
            name == "document_pdf"
            and not BillingDocument.objects.filter(customer=accounts[owner]).exists()
        ):
            continue
        url = url_for(name, accounts[owner], converters)
        variants = [url]
        if not re.search(r"(pdf/|\.csv|\.xml)$", url):
            variants.append(url + "?formato=pdf")
        for variant in variants:
            response = browser.get(variant)
            assert response.status_code == 200, variant
            body = text_of(response)
            leaked = [s for s in secrets if s in body]
            assert not leaked, f"{variant} shows another customer's {leaked}"
            checked += 1
    assert checked >= 10


def test_every_view_and_download_is_in_the_access_log(login_as, accounts, persona_users):
    browser = login_as("eg")
    user = persona_users["eg"]
    before = AccessLog.objects.filter(user=user).count()
    requests = 0
    for name, converters in customer_urls():
        if name in NOT_AN_ACCOUNT:
            continue
        response = browser.get(url_for(name, accounts["eg"], converters))
        assert response.status_code == 200, name
        if response.streaming:
            b"".join(response.streaming_content)
        requests += 1
    rows = list(AccessLog.objects.filter(user=user).order_by("-id")[:requests])
    assert AccessLog.objects.filter(user=user).count() - before == requests
    assert {r.kind for r in rows} == {"cliente", "documento", "mis_datos"}
    assert all(accounts["eg"].number in r.reference for r in rows)
