"""Transformer and feeder monitoring: load transfers, energy balances and alarms.

Monthly max/min demand is written to demand.MonthlyDemand (what the detail pages read);
the records here are what the planners' page lists (metering/views.py).
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from core.models import Dated

__all__ = ["LoadTransfer", "EnergyBalance", "Alarm"]


class LoadTransfer(Dated):
    """A period in which a feeder (or a transformer) carried load that is not its own, or
    gave its load to another: excluded from its monthly demand ("operación normal")."""

    feeder = models.ForeignKey(
        "network.Feeder",
        verbose_name="alimentador",
        on_delete=models.CASCADE,
        related_name="load_transfers",
    )
    transformer = models.ForeignKey(
        "network.Transformer",
        verbose_name="transformador",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="load_transfers",
        help_text="Solo si el traspaso afecta también a un transformador monitoreado.",
    )
    starts_at = models.DateTimeField("inicio")
    ends_at = models.DateTimeField("término")
    reason = models.CharField("motivo", max_length=200, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = "traspaso de carga"
        verbose_name_plural = "traspasos de carga"
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="transfer_period")
        ]

    def __str__(self) -> str:
        return f"{self.feeder} {self.starts_at:%d/%m/%Y %H:%M}"


class EnergyBalance(Dated):
    """A month's energy balance of a distribution transformer: its totalizer against the sum
    of its customers' meters. A loss above METERING_LOSS_THRESHOLD_PCT is flagged (possible
    non-technical losses)."""

    transformer = models.ForeignKey(
        "network.Transformer",
        verbose_name="transformador",
        on_delete=models.CASCADE,
        related_name="energy_balances",
    )
    month = models.DateField("mes")
    supplied_kwh = models.DecimalField(
        "energía del totalizador (kWh)", max_digits=14, decimal_places=3
    )
    metered_kwh = models.DecimalField(
        "energía medida a clientes (kWh)", max_digits=14, decimal_places=3
    )
    loss_kwh = models.DecimalField("pérdida (kWh)", max_digits=14, decimal_places=3)
    loss_pct = models.DecimalField("pérdida (%)", max_digits=7, decimal_places=2, null=True)
    customers = models.PositiveIntegerField("clientes")
    metered_customers = models.PositiveIntegerField("clientes con medidor")
    flagged = models.BooleanField("sobre el umbral", default=False)

    class Meta:
        ordering = ["-month", "-loss_pct"]
        verbose_name = "balance de energía"
        verbose_name_plural = "balances de energía"
        constraints = [
            models.UniqueConstraint(fields=["transformer", "month"], name="balance_month"),
            models.CheckConstraint(condition=Q(month__day=1), name="balance_first_day"),
        ]

    def __str__(self) -> str:
        return f"{self.transformer} {self.month:%m/%Y}"


class Alarm(models.Model):
    class Kind(models.TextChoices):
        VOLTAGE = "voltage", "tensión fuera de banda"
        HABIT = "habit", "cambio de hábito de consumo"
        TAMPER = "tamper", "manipulación del medidor"
        OUTAGE = "outage", "interrupción de suministro"
        MISSING = "missing", "datos faltantes"

    id = models.BigAutoField(primary_key=True)
    kind = models.CharField("tipo", max_length=10, choices=Kind.choices)
    meter = models.ForeignKey(
        "metering.Meter", verbose_name="medidor", on_delete=models.CASCADE, related_name="alarms"
    )
    started_at = models.DateTimeField("inicio")
    ended_at = models.DateTimeField("término", null=True, blank=True)
    value = models.FloatField("valor", null=True, blank=True)
    detail = models.CharField("detalle", max_length=200, blank=True)
    raised_at = models.DateTimeField("detectada el", auto_now=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "alarma"
        verbose_name_plural = "alarmas"
        constraints = [
            models.UniqueConstraint(fields=["kind", "meter", "started_at"], name="alarm_unique")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.meter} {self.started_at:%d/%m/%Y %H:%M}"
