"""Fixtures and helpers the billing import tests share (this module holds no tests).

The CSVs are small hand-written files under tests/fixtures/metering/billing/; the PDFs they
name are rendered here with WeasyPrint into a copy of the export, so that every PDF is a real
one and the repository keeps no binaries.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import date
from decimal import Decimal
from functools import cache
from pathlib import Path

import pytest
from weasyprint import HTML

from metering.models.billing import (
    BillingDocument,
    BillingPdf,
    EgContract,
    MonthlyBill,
    RemanenteMovement,
)
from metering.services.billing import BillingImportResult, import_billing
from network.models import Customer
from tests import factories as f

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metering" / "billing"
TODAY = date(2026, 3, 15)
DISTRIBUTOR = "CIS-TEST"

# The PDFs each fixture export names (relative to its pdf/ folder).
EXPORT_PDFS = [
    "boleta-1234.pdf",
    "2025/boleta-1240.pdf",
    "factura-88001.pdf",
    "anexo-88001.pdf",
    "contrato-e2001.pdf",
    "protocolo-e2001.pdf",
    "contrato-e2002.pdf",
]
MALFORMED_PDFS = ["boleta-5001.pdf"]


@cache
def pdf_bytes(text: str) -> bytes:
    return HTML(string=f"<h1>{text}</h1><p>Documento de prueba</p>").write_pdf()


def write_pdf(path: Path, text: str | None = None) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    content = pdf_bytes(text or path.name)
    path.write_bytes(content)
    return content


def copy_export(name: str, target: Path, pdf_names: list[str]) -> Path:
    directory = target / name
    shutil.copytree(FIXTURES / name, directory)
    for pdf_name in pdf_names:
        write_pdf(directory / "pdf" / pdf_name)
    return directory


@pytest.fixture(autouse=True)
def billing_store(settings, tmp_path) -> Path:
    """Every test stores PDFs in its own directory; public directories are temporary too, so a
    test can look into them."""
    settings.BILLING_DIR = tmp_path / "billing"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    return settings.BILLING_DIR


@pytest.fixture
def customers(db) -> dict[str, Customer]:
    distributor = f.make_distributor(code=DISTRIBUTOR, name="Distribuidora CIS de prueba")
    transformer = f.make_transformer(feeder=f.make_feeder(distributor=distributor))
    made = {}
    for number, is_eg in (("C-1001", False), ("C-1002", False), ("E-2001", True), ("E-2002", True)):
        made[number] = f.make_customer(
            transformer=transformer, distributor=distributor, number=number, is_eg=is_eg
        )
    return made


@pytest.fixture
def export(tmp_path) -> Path:
    return copy_export("export", tmp_path, EXPORT_PDFS)


@pytest.fixture
def malformed(tmp_path) -> Path:
    directory = copy_export("malformed", tmp_path, MALFORMED_PDFS)
    # A PDF cut in half by the transfer: the right header, no end.
    (directory / "pdf" / "cortado.pdf").write_bytes(pdf_bytes("cortado")[:400])
    return directory


def run(directory: Path, **kwargs) -> BillingImportResult:
    kwargs.setdefault("today", TODAY)
    return import_billing(directory, DISTRIBUTOR, **kwargs)


def only(directory: Path, *names: str) -> Path:
    """Leave in the export only the CSVs `names` (the pdf/ folder stays)."""
    for csv_file in directory.glob("*.csv"):
        if csv_file.name not in names:
            csv_file.unlink()
    return directory


def problems_of(result: BillingImportResult, file: str) -> dict[int | None, list[tuple[str, str]]]:
    """{line: [(field, reason), …]} of one file."""
    found: dict[int | None, list[tuple[str, str]]] = {}
    for problem in result.problems:
        if problem.file == file:
            found.setdefault(problem.line, []).append((problem.field, problem.reason))
    return found


# Factories of one row each (tests/test_admin.py's MAKERS can take them as they are).


def make_bill(customer: Customer | None = None, **kwargs) -> MonthlyBill:
    defaults = {
        "month": date(2025, 1, 1),
        "consumption_kwh": Decimal("210.5"),
        "charges_clp": 45230,
    }
    return MonthlyBill.objects.create(
        customer=customer or f.make_customer(), **{**defaults, **kwargs}
    )


def make_pdf() -> BillingPdf:
    content = pdf_bytes("documento de prueba")
    sha256 = hashlib.sha256(content).hexdigest()
    # The row only: the file would land in BILLING_DIR, which outside these tests is the repo's.
    pdf, _ = BillingPdf.objects.get_or_create(sha256=sha256, defaults={"size": len(content)})
    return pdf


def make_document(customer: Customer | None = None, **kwargs) -> BillingDocument:
    customer = customer or f.make_customer()
    defaults = {
        "kind": BillingDocument.Kind.BOLETA,
        "folio": str(BillingDocument.objects.count() + 1000),
        "issued_on": date(2025, 2, 3),
        "period": date(2025, 1, 1),
        "amount_clp": 45230,
    }
    return BillingDocument.objects.create(
        distributor=customer.distributor,
        customer=customer,
        pdf=kwargs.pop("pdf", None) or make_pdf(),
        **{**defaults, **kwargs},
    )


def make_movement(customer: Customer | None = None, **kwargs) -> RemanenteMovement:
    customer = customer or f.make_customer(is_eg=True)
    defaults = {
        "external_id": f"RM-{RemanenteMovement.objects.count() + 1}",
        "date": date(2025, 1, 31),
        "kind": RemanenteMovement.Kind.GENERATED,
        "amount_clp": 12500,
        "balance_clp": 12500,
    }
    return RemanenteMovement.objects.create(
        distributor=customer.distributor, customer=customer, **{**defaults, **kwargs}
    )


def make_contract(customer: Customer | None = None, **kwargs) -> EgContract:
    defaults = {
        "number": "CC-2022-0153",
        "signed_on": date(2022, 2, 10),
        "liquidation_form": EgContract.LiquidationForm.TRANSFER,
        "liquidation_date": date(2025, 11, 11),
    }
    return EgContract.objects.create(
        customer=customer or f.make_customer(is_eg=True), **{**defaults, **kwargs}
    )
