# Fixtures come from test_billing_support; as parameters they shadow the imported names.
# ruff: noqa: F811
from __future__ import annotations

import hashlib
import stat
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.urls import reverse

from metering.models.billing import BillingDocument, BillingPdf, EgContract, billing_dir
from metering.services.billing import BillingImportError, delete_with_pdfs
from tests.metering.test_billing_support import (  # noqa: F401
    billing_store,
    customers,
    export,
    make_bill,
    make_contract,
    make_document,
    make_movement,
    only,
    pdf_bytes,
    problems_of,
    run,
    write_pdf,
)

pytestmark = pytest.mark.django_db


def stored_files(store: Path) -> list[Path]:
    return sorted(p for p in store.rglob("*") if p.is_file())


def test_pdfs_are_stored_once_under_their_hash_outside_public_paths(
    customers, export, billing_store, settings
):
    run(export)

    files = stored_files(billing_store)
    assert len(files) == BillingPdf.objects.count() == 7
    for pdf in BillingPdf.objects.all():
        content = pdf.path.read_bytes()
        assert hashlib.sha256(content).hexdigest() == pdf.sha256
        assert pdf.path == billing_store / "pdf" / pdf.sha256[:2] / f"{pdf.sha256}.pdf"
        assert pdf.size == len(content)
        assert not pdf.path.stat().st_mode & stat.S_IROTH  # not world-readable
    for public in (settings.MEDIA_ROOT, settings.STATIC_ROOT):
        assert not Path(public).exists() or not any(Path(public).rglob("*"))


def test_two_documents_with_the_same_pdf_share_one_stored_file(customers, export, billing_store):
    same = (export / "pdf" / "boleta-1234.pdf").read_bytes()
    (export / "pdf" / "factura-88001.pdf").write_bytes(same)

    run(only(export, "documentos.csv"))

    boleta = BillingDocument.objects.get(folio="1234")
    factura = BillingDocument.objects.get(folio="88001")
    assert boleta.pdf_id == factura.pdf_id
    assert len(stored_files(billing_store)) == 3


def test_reimporting_the_same_pdfs_writes_no_file(customers, export, billing_store):
    run(export)
    before = {p: p.stat().st_mtime_ns for p in stored_files(billing_store)}

    run(export)

    assert {p: p.stat().st_mtime_ns for p in stored_files(billing_store)} == before


def test_a_changed_pdf_for_the_same_folio_replaces_the_stored_one(
    customers, export, billing_store, django_capture_on_commit_callbacks
):
    run(only(export, "documentos.csv"))
    old = BillingDocument.objects.get(folio="1234").pdf
    old_path = old.path
    write_pdf(export / "pdf" / "boleta-1234.pdf", "boleta 1234 corregida")

    with django_capture_on_commit_callbacks(execute=True):
        result = run(export)

    assert (result.files["documentos.csv"].updated, result.files["documentos.csv"].unchanged) == (
        1,
        3,
    )
    new = BillingDocument.objects.get(folio="1234").pdf
    assert new.path.read_bytes() == pdf_bytes("boleta 1234 corregida")
    assert not BillingPdf.objects.filter(pk=old.pk).exists()
    assert not old_path.exists()
    assert len(stored_files(billing_store)) == 4


def test_a_replaced_pdf_still_used_by_another_document_is_kept(
    customers, export, billing_store, django_capture_on_commit_callbacks
):
    same = (export / "pdf" / "boleta-1234.pdf").read_bytes()
    (export / "pdf" / "factura-88001.pdf").write_bytes(same)
    run(only(export, "documentos.csv"))
    shared = BillingDocument.objects.get(folio="1234").pdf
    write_pdf(export / "pdf" / "boleta-1234.pdf", "otra boleta")

    with django_capture_on_commit_callbacks(execute=True):
        run(export)

    assert BillingDocument.objects.get(folio="88001").pdf == shared
    assert shared.path.is_file()


def test_an_empty_contract_document_cell_keeps_the_stored_copy(customers, export):
    run(only(export, "contratos_eg.csv"))
    stored = EgContract.objects.get(customer=customers["E-2001"]).protocol_pdf
    path = export / "contratos_eg.csv"
    path.write_text(path.read_text().replace("protocolo-e2001.pdf", ""))

    result = run(export)

    assert result.files["contratos_eg.csv"].unchanged == 2
    assert EgContract.objects.get(customer=customers["E-2001"]).protocol_pdf == stored


def test_deleting_a_document_removes_a_pdf_nothing_else_uses(
    customers, export, django_capture_on_commit_callbacks
):
    run(only(export, "documentos.csv"))
    document = BillingDocument.objects.get(folio="1234")
    path = document.pdf.path

    with django_capture_on_commit_callbacks(execute=True):
        delete_with_pdfs(BillingDocument.objects.filter(pk=document.pk))

    assert not path.exists()
    assert BillingPdf.objects.count() == 3


@pytest.mark.parametrize("public", ["MEDIA_ROOT", "STATIC_ROOT"])
def test_a_billing_dir_inside_a_public_directory_is_refused(customers, export, settings, public):
    settings.BILLING_DIR = Path(getattr(settings, public)) / "billing"

    with pytest.raises(BillingImportError, match="es público"):
        run(export)
    assert not BillingPdf.objects.exists()


def test_the_default_billing_dir_is_data_billing_in_the_repository(settings):
    del settings.BILLING_DIR
    root = Path(django_settings.BASE_DIR)
    assert billing_dir() == root / "data" / "billing"
    for public in [
        django_settings.STATIC_ROOT,
        django_settings.MEDIA_ROOT,
        *django_settings.STATICFILES_DIRS,
    ]:
        assert not billing_dir().resolve().is_relative_to(Path(public).resolve())


def test_a_pdf_that_changes_between_check_and_copy_refuses_its_line(customers, export, monkeypatch):
    from metering.services.billing import pdfs

    real_store = pdfs.store

    def tampered(ref):
        if ref.source.endswith("boleta-1234.pdf"):
            Path(ref.source).write_bytes(pdf_bytes("cambiada a mitad"))
        return real_store(ref)

    monkeypatch.setattr(pdfs, "store", tampered)

    result = run(only(export, "documentos.csv"))

    assert problems_of(result, "documentos.csv") == {
        2: [("archivo_pdf", "el archivo cambió durante la importación")]
    }
    assert not BillingDocument.objects.filter(folio="1234").exists()
    assert BillingDocument.objects.count() == 3


def pdf_url(document: BillingDocument) -> str:
    return reverse("admin:metering_billingdocument_pdf", args=[document.pk, "pdf"])


def test_staff_with_the_permission_downloads_a_pdf_from_the_admin(
    client, customers, export, admin_user
):
    run(only(export, "documentos.csv"))
    document = BillingDocument.objects.get(folio="1234")
    client.force_login(admin_user)

    response = client.get(pdf_url(document))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert 'filename="boleta-1234.pdf"' in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    assert b"".join(response.streaming_content) == document.pdf.path.read_bytes()


def test_planners_and_anonymous_users_cannot_get_billing_pdfs_or_lists(
    client, customers, export, planner
):
    run(only(export, "documentos.csv"))
    document = BillingDocument.objects.get(folio="1234")

    anonymous = client.get(pdf_url(document))
    assert anonymous.status_code == 302
    assert "/login/" in anonymous["Location"]

    client.force_login(planner)
    assert client.get(pdf_url(document)).status_code == 403
    assert client.get(reverse("admin:metering_billingdocument_changelist")).status_code == 403
    assert client.get(reverse("admin:metering_monthlybill_changelist")).status_code == 403


def test_a_user_allowed_to_view_documents_opens_them_read_only(client, customers, export, planner):
    run(export)
    planner.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="metering",
            codename__in=["view_billingdocument", "view_egcontract", "view_monthlybill"],
        )
    )
    client.force_login(planner)
    document = BillingDocument.objects.get(folio="1234")
    contract = EgContract.objects.get(customer=customers["E-2001"])

    listing = client.get(reverse("admin:metering_billingdocument_changelist"), {"q": "1234"})
    change = client.get(reverse("admin:metering_billingdocument_change", args=[document.pk]))
    contract_page = client.get(reverse("admin:metering_egcontract_change", args=[contract.pk]))

    assert list(listing.context["cl"].result_list) == [document]
    assert change.status_code == 200
    assert pdf_url(document) in change.content.decode()
    assert 'name="_save"' not in change.content.decode()
    assert "Contrato de conexión firmado" in contract_page.content.decode()
    assert client.get(reverse("admin:metering_billingdocument_add")).status_code == 403
    assert client.get(pdf_url(document)).status_code == 200


@pytest.mark.parametrize(
    "make", [make_bill, make_document, make_movement, make_contract], ids=lambda m: m.__name__
)
def test_a_superuser_opens_the_list_search_and_read_only_page_of_each_model(
    client, admin_user, make
):
    obj = make()
    opts = obj._meta
    client.force_login(admin_user)
    for url in (
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"),
        reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + "?q=zz-1",
        reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]),
    ):
        assert client.get(url).status_code == 200, url
    add = reverse(f"admin:{opts.app_label}_{opts.model_name}_add")
    assert client.get(add).status_code == 403
