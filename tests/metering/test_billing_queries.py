# Fixtures come from test_billing_support; as parameters they shadow the imported names.
# ruff: noqa: F811
"""The reads the §4 and §5 pages will make: always one customer's rows, bounded in time."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.months import add_months, month_start
from metering.models.billing import (
    BillingDocument,
    BillingPdf,
    MonthlyBill,
    RemanenteMovement,
    normalize_folio,
)
from tests.metering.test_billing_support import billing_store, customers  # noqa: F401

pytestmark = pytest.mark.django_db

TODAY = date(2026, 3, 15)


def bills(customer, months: int) -> None:
    MonthlyBill.objects.bulk_create(
        MonthlyBill(
            customer=customer,
            month=add_months(month_start(TODAY), -back),
            consumption_kwh=Decimal(100 + back),
            charges_clp=1000 * back,
        )
        for back in range(months)
    )


def documents(customer, kind: str, count: int, prefix: str = "") -> None:
    pdf = BillingPdf.objects.get_or_create(sha256="a" * 64, defaults={"size": 10})[0]
    BillingDocument.objects.bulk_create(
        BillingDocument(
            distributor=customer.distributor,
            customer=customer,
            kind=kind,
            folio=f"{prefix}{1000 + n}",
            issued_on=TODAY - timedelta(days=30 * n),
            period=add_months(month_start(TODAY), -(n + 1)),
            amount_clp=5000,
            pdf=pdf,
        )
        for n in range(count)
    )


def test_last_36_months_of_bills_oldest_first_and_only_the_customers(customers):
    mine, other = customers["C-1001"], customers["C-1002"]
    bills(mine, 40)
    bills(other, 12)

    shown = list(MonthlyBill.objects.of_customer(mine).last_months(36, today=TODAY))

    assert len(shown) == 36
    assert shown[0].month == date(2023, 4, 1)
    assert shown[-1].month == date(2026, 3, 1)
    assert {b.customer_id for b in shown} == {mine.pk}
    last_year = MonthlyBill.objects.of_customer(mine).last_months(12, today=TODAY)
    assert [b.month for b in last_year][:2] == [date(2025, 4, 1), date(2025, 5, 1)]


def test_last_36_invoices_and_annexes_are_separate_lists_newest_first(customers):
    eg, other = customers["E-2001"], customers["E-2002"]
    documents(eg, "boleta", 30)
    documents(eg, "factura", 10, prefix="F")
    documents(eg, "anexo_inyeccion", 40, prefix="A")
    documents(other, "boleta", 5, prefix="O")

    invoices = list(BillingDocument.objects.of_customer(eg).invoices().last_issued(36))
    annexes = list(BillingDocument.objects.of_customer(eg).injection_annexes().last_issued())

    assert len(invoices) == 36
    assert {d.kind for d in invoices} == {"boleta", "factura"}
    assert [d.issued_on for d in invoices] == sorted((d.issued_on for d in invoices), reverse=True)
    assert len(annexes) == 36
    assert {d.kind for d in annexes} == {"anexo_inyeccion"}
    assert annexes[0].folio == "A1000"
    assert {d.customer_id for d in invoices + annexes} == {eg.pk}


def test_folio_search_finds_only_the_customers_own_document(customers):
    mine, other = customers["C-1001"], customers["C-1002"]
    documents(mine, "boleta", 3)
    documents(other, "boleta", 3, prefix="9")

    found = BillingDocument.objects.of_customer(mine).with_folio(" 0001001 ")

    assert [d.folio for d in found] == ["1001"]
    assert not BillingDocument.objects.of_customer(mine).with_folio("91001").exists()
    assert BillingDocument.objects.of_customer(other).with_folio("91001").exists()


def test_remanentes_of_the_last_five_years_newest_first(customers):
    eg, other = customers["E-2001"], customers["E-2002"]
    RemanenteMovement.objects.bulk_create(
        RemanenteMovement(
            distributor=customer.distributor,
            customer=customer,
            external_id=f"{customer.number}-{n}",
            date=day,
            kind="generado",
            amount_clp=100,
            balance_clp=100 * n,
        )
        for customer in (eg, other)
        for n, day in enumerate(
            [date(2020, 12, 31), date(2021, 4, 1), date(2024, 6, 30), date(2026, 3, 1)]
        )
    )

    shown = list(RemanenteMovement.objects.of_customer(eg).last_years(5, today=TODAY))

    assert [m.date for m in shown] == [date(2026, 3, 1), date(2024, 6, 30), date(2021, 4, 1)]
    assert {m.customer_id for m in shown} == {eg.pk}


@pytest.mark.parametrize(
    ("typed", "stored"), [("0001234", "1234"), (" 1234 ", "1234"), ("a-0012", "A-0012")]
)
def test_folios_are_normalised_the_same_way_on_import_and_search(typed, stored):
    assert normalize_folio(typed) == stored
