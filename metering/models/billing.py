"""Billing data from the distributor's CIS: what §4 and §5 of the customer pages show.

Every row belongs to one customer and is personal data: these models are read only through
QuerySets that start from a customer (`of_customer`), their admin is staff-only, and the PDFs
live under `billing_dir()`, a directory no URL serves. The CIS is the source of truth:
`metering.services.billing` upserts these rows by natural key and nothing edits them here.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from core.models import Dated
from core.months import add_months, month_start

__all__ = [
    "BillingDocument",
    "BillingPdf",
    "EgContract",
    "MonthlyBill",
    "RemanenteMovement",
]

KWH = {"max_digits": 14, "decimal_places": 3}


def billing_dir() -> Path:
    """Where the CIS PDFs are kept; outside STATIC_ROOT and MEDIA_ROOT on purpose."""
    default = Path(settings.BASE_DIR) / "data" / "billing"
    return Path(getattr(settings, "BILLING_DIR", default))


def normalize_folio(folio: str) -> str:
    """SII folios are integers, so leading zeros mean nothing; CIS annex folios may have letters."""
    text = folio.strip().upper()
    return str(int(text)) if text.isascii() and text.isdigit() else text


class CustomerQuerySet(models.QuerySet):
    def of_customer(self, customer) -> CustomerQuerySet:
        return self.filter(customer=customer)


class BillingPdf(Dated):
    """One stored PDF, named by its content: identical files are kept once."""

    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    size = models.PositiveBigIntegerField("tamaño (bytes)")

    class Meta:
        verbose_name = "PDF de facturación"
        verbose_name_plural = "PDF de facturación"
        constraints = [
            models.CheckConstraint(
                condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="billingpdf_sha256_hex"
            ),
            models.CheckConstraint(condition=Q(size__gt=0), name="billingpdf_size_gt0"),
        ]

    def __str__(self) -> str:
        return self.sha256[:12]

    @property
    def path(self) -> Path:
        return pdf_path(self.sha256)


def pdf_path(sha256: str) -> Path:
    # Two-character fan-out: millions of invoices never share one directory.
    return billing_dir() / "pdf" / sha256[:2] / f"{sha256}.pdf"


class MonthlyBillQuerySet(CustomerQuerySet):
    def last_months(self, count: int = 36, today: date | None = None) -> MonthlyBillQuerySet:
        """The bills of the last `count` calendar months (this one included), oldest first,
        as the §4/§5 bar charts draw them."""
        today = today or timezone.localdate()
        start = add_months(month_start(today), 1 - count)
        return self.filter(month__gte=start, month__lte=today).order_by("month")


class MonthlyBill(Dated):
    """One customer's billed month: consumption, charges, injections and the meter readings."""

    customer = models.ForeignKey(
        "network.Customer",
        verbose_name="cliente",
        on_delete=models.CASCADE,
        related_name="bills",
    )
    month = models.DateField("mes", help_text="Primer día del mes facturado.")
    consumption_kwh = models.DecimalField("consumo (kWh)", **KWH)
    charges_clp = models.BigIntegerField("cargos ($)")
    injection_kwh = models.DecimalField("inyección (kWh)", null=True, blank=True, **KWH)
    injection_value_clp = models.BigIntegerField(
        "valorización inyección ($)", null=True, blank=True
    )
    # Charges minus the valued injections; negative when the CIS shows a balance in favour.
    net_charge_clp = models.BigIntegerField("cargo neto ($)", null=True, blank=True)
    meter = models.CharField("medidor", max_length=30, blank=True)
    read_from = models.DateField("lectura anterior", null=True, blank=True)
    read_to = models.DateField("lectura actual", null=True, blank=True)
    consumption_start_kwh = models.DecimalField(
        "lectura consumo inicial (kWh)", null=True, blank=True, **KWH
    )
    consumption_end_kwh = models.DecimalField(
        "lectura consumo final (kWh)", null=True, blank=True, **KWH
    )
    injection_start_kwh = models.DecimalField(
        "lectura inyección inicial (kWh)", null=True, blank=True, **KWH
    )
    injection_end_kwh = models.DecimalField(
        "lectura inyección final (kWh)", null=True, blank=True, **KWH
    )

    objects = MonthlyBillQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "-month"]
        verbose_name = "facturación mensual"
        verbose_name_plural = "facturaciones mensuales"
        constraints = [
            models.UniqueConstraint(fields=["customer", "month"], name="bill_customer_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="bill_month_first_day"),
            models.CheckConstraint(
                condition=Q(consumption_kwh__gte=0, charges_clp__gte=0), name="bill_non_negative"
            ),
            models.CheckConstraint(
                condition=(Q(injection_kwh__isnull=True) | Q(injection_kwh__gte=0))
                & (Q(injection_value_clp__isnull=True) | Q(injection_value_clp__gte=0)),
                name="bill_injection_non_negative",
            ),
            # Registers may roll over or the meter be replaced: an end below the start is real.
            models.CheckConstraint(
                condition=(Q(consumption_start_kwh__isnull=True) | Q(consumption_start_kwh__gte=0))
                & (Q(consumption_end_kwh__isnull=True) | Q(consumption_end_kwh__gte=0))
                & (Q(injection_start_kwh__isnull=True) | Q(injection_start_kwh__gte=0))
                & (Q(injection_end_kwh__isnull=True) | Q(injection_end_kwh__gte=0)),
                name="bill_readings_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(read_from__isnull=True)
                | Q(read_to__isnull=True)
                | Q(read_from__lte=F("read_to")),
                name="bill_read_from_le_to",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.month:%m/%Y}"


class BillingDocumentQuerySet(CustomerQuerySet):
    def invoices(self) -> BillingDocumentQuerySet:
        """Boletas and facturas of supply (§5 V)."""
        kinds = [BillingDocument.Kind.BOLETA, BillingDocument.Kind.FACTURA]
        return self.filter(kind__in=kinds)

    def injection_annexes(self) -> BillingDocumentQuerySet:
        return self.filter(kind=BillingDocument.Kind.INJECTION_ANNEX)

    def last_issued(self, count: int = 36) -> BillingDocumentQuerySet:
        return self.order_by("-issued_on", "-folio")[:count]

    def with_folio(self, folio: str) -> BillingDocumentQuerySet:
        """The search box of §5 V: a folio as typed ("000123", " b-7 "), normalised as stored."""
        return self.filter(folio=normalize_folio(folio)).order_by("-issued_on", "kind")


class BillingDocument(Dated):
    """A supply invoice (boleta or factura) or an injection annex, with its PDF."""

    class Kind(models.TextChoices):
        BOLETA = "boleta", "Boleta"
        FACTURA = "factura", "Factura"
        INJECTION_ANNEX = "anexo_inyeccion", "Anexo de inyecciones"

    # Denormalised from the customer so that the folio is unique per distributor in the database.
    distributor = models.ForeignKey(
        "network.Distributor",
        verbose_name="empresa distribuidora",
        on_delete=models.PROTECT,
        related_name="+",
    )
    customer = models.ForeignKey(
        "network.Customer",
        verbose_name="cliente",
        on_delete=models.CASCADE,
        related_name="billing_documents",
    )
    kind = models.CharField("tipo", max_length=20, choices=Kind.choices)
    folio = models.CharField("folio", max_length=20)
    issued_on = models.DateField("fecha de emisión")
    period = models.DateField("periodo", help_text="Primer día del mes facturado.")
    amount_clp = models.BigIntegerField("monto ($)")
    pdf = models.ForeignKey(
        BillingPdf, verbose_name="PDF", on_delete=models.PROTECT, related_name="+"
    )

    objects = BillingDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "-issued_on"]
        verbose_name = "documento de facturación"
        verbose_name_plural = "documentos de facturación"
        constraints = [
            models.UniqueConstraint(
                fields=["distributor", "kind", "folio"], name="billingdocument_folio"
            ),
            models.CheckConstraint(
                condition=Q(period__day=1), name="billingdocument_period_first_day"
            ),
            models.CheckConstraint(
                condition=Q(amount_clp__gte=0), name="billingdocument_amount_gte0"
            ),
        ]
        indexes = [
            models.Index(fields=["customer", "kind", "-issued_on"], name="billingdocument_latest"),
            models.Index(fields=["pdf"], name="billingdocument_pdf"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.folio}"

    @property
    def download_name(self) -> str:
        return f"{self.kind}-{self.folio}.pdf"


class RemanenteMovementQuerySet(CustomerQuerySet):
    def last_years(self, years: int = 5, today: date | None = None) -> RemanenteMovementQuerySet:
        """Movements of the last `years` × 12 calendar months (§5 VII), newest first."""
        today = today or timezone.localdate()
        start = add_months(month_start(today), 1 - years * 12)
        return self.filter(date__gte=start, date__lte=today).order_by("-date", "-id")


class RemanenteMovement(Dated):
    """One movement of a customer's remanente (net billing credit, Ley 20.571), as the CIS
    books it; `balance_clp` is the remanente left after it."""

    class Kind(models.TextChoices):
        GENERATED = "generado", "Generado"
        APPLIED = "descontado", "Descontado en boleta o factura"
        PAID = "pagado", "Pagado al cliente"
        EXPIRED = "vencido", "Vencido"
        ADJUSTMENT = "ajuste", "Ajuste"

    distributor = models.ForeignKey(
        "network.Distributor",
        verbose_name="empresa distribuidora",
        on_delete=models.PROTECT,
        related_name="+",
    )
    customer = models.ForeignKey(
        "network.Customer",
        verbose_name="cliente",
        on_delete=models.CASCADE,
        related_name="remanente_movements",
    )
    external_id = models.CharField("id de movimiento (CIS)", max_length=40)
    date = models.DateField("fecha")
    kind = models.CharField("tipo", max_length=12, choices=Kind.choices)
    # Positive: the kind says which way it moves the balance; only adjustments carry a sign.
    amount_clp = models.BigIntegerField("monto ($)")
    kwh = models.DecimalField("energía (kWh)", null=True, blank=True, **KWH)
    balance_clp = models.BigIntegerField("saldo remanente ($)")

    objects = RemanenteMovementQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "-date"]
        verbose_name = "movimiento de remanente"
        verbose_name_plural = "movimientos de remanentes"
        constraints = [
            models.UniqueConstraint(
                fields=["distributor", "external_id"], name="remanente_external_id"
            ),
            models.CheckConstraint(
                condition=Q(amount_clp__gt=0) | Q(kind="ajuste", amount_clp__lt=0),
                name="remanente_amount_sign",
            ),
            models.CheckConstraint(condition=Q(balance_clp__gte=0), name="remanente_balance_gte0"),
            models.CheckConstraint(
                condition=Q(kwh__isnull=True) | Q(kwh__gte=0), name="remanente_kwh_gte0"
            ),
        ]
        indexes = [models.Index(fields=["customer", "-date"], name="remanente_latest")]

    def __str__(self) -> str:
        return f"{self.external_id} {self.get_kind_display()}"


class EgContract(Dated):
    """The EG connection contract: how and when remanentes are liquidated (§5 VII) and the
    signed documents the customer downloads (§5 IX)."""

    class LiquidationForm(models.TextChoices):
        DISCOUNT = "descuento", "Descuento en boletas o facturas posteriores"
        TRANSFER = "transferencia", "Pago por transferencia electrónica"
        VALE_VISTA = "vale_vista", "Pago con vale vista"
        CHEQUE = "cheque", "Pago con cheque"

    customer = models.OneToOneField(
        "network.Customer",
        verbose_name="cliente",
        on_delete=models.CASCADE,
        related_name="eg_contract",
    )
    number = models.CharField("número de contrato", max_length=30)
    signed_on = models.DateField("fecha de firma")
    liquidation_form = models.CharField(
        "forma de liquidación de remanentes", max_length=15, choices=LiquidationForm.choices
    )
    liquidation_date = models.DateField("fecha de liquidación de remanentes")
    contract_pdf = models.ForeignKey(
        BillingPdf,
        verbose_name="contrato de conexión firmado",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    protocol_pdf = models.ForeignKey(
        BillingPdf,
        verbose_name="protocolo de conexión",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    study_pdf = models.ForeignKey(
        BillingPdf,
        verbose_name="estudio de conexión",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = "contrato de conexión EG"
        verbose_name_plural = "contratos de conexión EG"

    def __str__(self) -> str:
        return self.number

    def documents(self) -> dict[str, BillingPdf]:
        """The stored copies (§5 IX), by field name; a missing one is left out."""
        return {
            name: pdf
            for name in ("contract_pdf", "protocol_pdf", "study_pdf")
            if (pdf := getattr(self, name)) is not None
        }
