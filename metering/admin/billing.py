"""Admin of the CIS billing data: read-only, staff with the metering permissions only.

These rows are customers' personal data and the CIS owns them: nobody adds or edits them here
(the next import would undo it). Planners do not get the metering permissions
(accounts.services.PLANNER_APPS), so only a superuser or a group given them explicitly sees
this. A PDF is served by the admin view below, after the permission check; the store itself is
outside every public directory. Deleting is allowed, for the one case the import refuses to
decide (a folio the CIS moved to another customer), and takes the PDFs only it referred to.
"""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import capfirst

from core.admin import LargeTableMixin, MonthFilter
from metering.models.billing import (
    BillingDocument,
    BillingPdf,
    EgContract,
    MonthlyBill,
    RemanenteMovement,
)
from metering.services.billing import delete_with_pdfs


class ReadOnlyAdmin(LargeTableMixin, admin.ModelAdmin):
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    # "=": a customer number or folio is an exact match on its index, never a LIKE scan.
    search_fields = ["=customer__number"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(MonthlyBill)
class MonthlyBillAdmin(ReadOnlyAdmin):
    list_display = [
        "customer",
        "month",
        "consumption_kwh",
        "charges_clp",
        "injection_kwh",
        "net_charge_clp",
        "as_of",
    ]
    list_filter = [MonthFilter]
    ordering = ["customer_id", "-month"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PdfDownloadMixin:
    """A `<pk>/pdf/<field>/` admin URL that streams one stored PDF to a user who may view it."""

    pdf_fields: tuple[str, ...] = ()

    def get_urls(self):
        opts = self.model._meta
        name = f"{opts.app_label}_{opts.model_name}_pdf"
        view = self.admin_site.admin_view(self.pdf_view)
        return [path("<int:pk>/pdf/<str:field>/", view, name=name), *super().get_urls()]

    def pdf_view(self, request, pk: int, field: str):
        if field not in self.pdf_fields:
            raise Http404
        obj = get_object_or_404(self.get_queryset(request).select_related(field), pk=pk)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        stored: BillingPdf | None = getattr(obj, field)
        if stored is None or not stored.path.is_file():
            raise Http404("El PDF no está en el almacén de facturación.")
        name = f"{self.download_name(obj, field)}.pdf"
        response = FileResponse(
            stored.path.open("rb"),
            as_attachment=True,
            filename=name,
            content_type="application/pdf",
        )
        response["Cache-Control"] = "private, no-store"
        return response

    def download_name(self, obj, field: str) -> str:
        return f"{obj._meta.model_name}-{obj.pk}-{field}"

    def pdf_url(self, obj, field: str) -> str:
        opts = self.model._meta
        return reverse(
            f"admin:{opts.app_label}_{opts.model_name}_pdf",
            args=[obj.pk, field],
            current_app=self.admin_site.name,
        )

    def delete_model(self, request, obj) -> None:
        delete_with_pdfs(self.model.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        delete_with_pdfs(queryset)


@admin.register(BillingDocument)
class BillingDocumentAdmin(PdfDownloadMixin, ReadOnlyAdmin):
    pdf_fields = ("pdf",)
    list_display = ["folio", "kind", "customer", "issued_on", "period", "amount_clp", "pdf_link"]
    list_display_links = ["folio"]
    list_filter = ["kind"]
    search_fields = ["=folio", "=customer__number"]
    ordering = ["customer_id", "-issued_on"]
    readonly_fields = ["pdf_link"]
    exclude = ["pdf"]

    def download_name(self, obj, field: str) -> str:
        return f"{obj.kind}-{obj.folio}"

    @admin.display(description="PDF")
    def pdf_link(self, obj) -> str:
        return format_html('<a href="{}">Descargar</a>', self.pdf_url(obj, "pdf"))


@admin.register(RemanenteMovement)
class RemanenteMovementAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "customer", "date", "kind", "amount_clp", "balance_clp"]
    list_display_links = ["external_id"]
    list_filter = ["kind"]
    search_fields = ["=external_id", "=customer__number"]
    ordering = ["customer_id", "-date"]


@admin.register(EgContract)
class EgContractAdmin(PdfDownloadMixin, ReadOnlyAdmin):
    pdf_fields = ("contract_pdf", "protocol_pdf", "study_pdf")
    list_display = ["number", "customer", "signed_on", "liquidation_form", "liquidation_date"]
    list_display_links = ["number"]
    list_filter = ["liquidation_form"]
    search_fields = ["=number", "=customer__number"]
    ordering = ["customer_id"]
    readonly_fields = ["documents"]
    exclude = list(pdf_fields)

    def download_name(self, obj, field: str) -> str:
        return f"contrato-{obj.number}-{field.removesuffix('_pdf')}"

    @admin.display(description="documentos")
    def documents(self, obj) -> str:
        links = [
            (self.pdf_url(obj, name), capfirst(obj._meta.get_field(name).verbose_name))
            for name in obj.documents()
        ]
        return format_html_join(", ", '<a href="{}">{}</a>', links) or "—"
