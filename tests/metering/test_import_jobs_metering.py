"""Readings and billing files imported from the admin (core.ImportJob): the check is a dry run
that leaves nothing behind (rows, runs, stored PDFs), the application stores them."""

# Fixtures come from test_billing_support; as parameters they shadow the imported names.
# ruff: noqa: F811
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.models import ImportJob
from metering.models import IngestRun, IntervalReading, RegisterRead
from metering.models.billing import BillingPdf, MonthlyBill
from tests.factories import make_meter
from tests.metering.test_billing_support import (  # noqa: F401
    DISTRIBUTOR,
    billing_store,
    customers,
    export,
)

pytestmark = pytest.mark.django_db
READINGS = Path(__file__).resolve().parent.parent / "fixtures" / "metering" / "readings"
ADD = "/admin/core/importjob/add/"


@pytest.fixture(autouse=True)
def private_uploads(settings, tmp_path):
    settings.IMPORT_UPLOAD_DIR = tmp_path / "importaciones"


def run_step(client, callbacks, url, data=None):
    with callbacks(execute=True):
        return client.post(url, data or {})


def test_readings_are_checked_without_a_trace_then_stored(
    admin_client, django_capture_on_commit_callbacks
):
    make_meter("customer", serial="MC-0001")
    make_meter("totalizer", serial="TT-0001")
    upload = SimpleUploadedFile("lecturas_ok.csv", (READINGS / "lecturas_ok.csv").read_bytes())
    run_step(admin_client, django_capture_on_commit_callbacks, ADD, {
        "kind": "lecturas", "file": upload, "lecturas__decimal": "", "lecturas__correccion": "",
    })  # fmt: skip
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.CHECKED, job.summary
    assert "simulación" in job.summary and job.counts["leidos"] > 0
    assert not IntervalReading.objects.exists() and not RegisterRead.objects.exists()
    assert not IngestRun.objects.exists()

    run_step(
        admin_client,
        django_capture_on_commit_callbacks,
        reverse("admin:core_importjob_apply", args=[job.pk]),
    )
    job.refresh_from_db()
    assert job.status == ImportJob.Status.APPLIED, job.summary
    stored = IntervalReading.objects.count() + RegisterRead.objects.count()
    assert stored == job.counts["nuevos"] > 0
    assert IngestRun.objects.get().status == IngestRun.Status.DONE
    report = admin_client.get(reverse("admin:core_importjob_report", args=[job.pk]))
    assert report.getvalue().decode("utf-8-sig").startswith("archivo;")


def test_a_billing_export_is_checked_without_a_trace_then_stored(
    admin_client, customers, export, billing_store, django_capture_on_commit_callbacks
):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(export.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(export.parent).as_posix())
    upload = SimpleUploadedFile("export.zip", buffer.getvalue(), "application/zip")
    run_step(admin_client, django_capture_on_commit_callbacks, ADD, {
        "kind": "facturacion", "file": upload, "facturacion__distribuidora": DISTRIBUTOR,
    })  # fmt: skip
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.CHECKED, job.summary
    assert not MonthlyBill.objects.exists() and not BillingPdf.objects.exists()
    stored = [p for p in billing_store.rglob("*") if p.is_file()] if billing_store.exists() else []
    assert stored == []  # the PDFs the dry run copied are gone again

    run_step(
        admin_client,
        django_capture_on_commit_callbacks,
        reverse("admin:core_importjob_apply", args=[job.pk]),
    )
    job.refresh_from_db()
    assert job.status in (ImportJob.Status.APPLIED, ImportJob.Status.APPLIED_WITH_ERRORS)
    assert MonthlyBill.objects.exists() and BillingPdf.objects.exists()
    assert any(p.is_file() for p in billing_store.rglob("*"))


def test_planners_get_only_the_network_export(client, planner):
    client.force_login(planner)
    page = client.get(ADD).content.decode()
    assert 'value="red"' in page
    assert 'value="lecturas"' not in page and 'value="facturacion"' not in page
