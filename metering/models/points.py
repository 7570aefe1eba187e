"""Measurement points beyond one meter (Hemera Fronteira): virtual meters, whose channels are
sums and differences of other meters' channels under dated definitions, and main/backup pairs
compared day by day."""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

__all__ = ["VirtualTerm", "BackupComparison", "MeteringReport"]


class VirtualTerm(models.Model):
    """One term of a virtual channel's definition: + or − a source channel, valid from a day
    to a day (inclusive; open when empty). The terms of a channel valid on a day are its
    formula that day; metering.services.virtual checks and computes them."""

    class Sign(models.IntegerChoices):
        PLUS = 1, "+"
        MINUS = -1, "−"

    channel = models.ForeignKey(
        "metering.Channel",
        verbose_name="canal virtual",
        on_delete=models.CASCADE,
        related_name="terms",
    )
    source = models.ForeignKey(
        "metering.Channel",
        verbose_name="canal de origen",
        on_delete=models.PROTECT,
        related_name="used_in",
    )
    sign = models.SmallIntegerField("signo", choices=Sign.choices, default=Sign.PLUS)
    valid_from = models.DateField("vigente desde")
    valid_to = models.DateField("vigente hasta", null=True, blank=True)

    class Meta:
        ordering = ["channel", "valid_from", "source"]
        verbose_name = "término de medidor virtual"
        verbose_name_plural = "términos de medidores virtuales"
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "source", "valid_from"], name="virtual_term_unique"
            ),
            models.CheckConstraint(condition=Q(sign__in=[1, -1]), name="virtual_term_sign"),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=F("valid_from")),
                name="virtual_term_period",
            ),
            models.CheckConstraint(
                condition=~Q(source=F("channel")), name="virtual_term_not_itself"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_sign_display()}{self.source_id} → {self.channel_id}"


class BackupComparison(models.Model):
    """A day of a main meter against its backup, channel by channel: the energies, their
    difference, and the largest difference of one interval; flagged above
    METERING_BACKUP_DEVIATION_PCT."""

    id = models.BigAutoField(primary_key=True)
    channel = models.ForeignKey(
        "metering.Channel",
        verbose_name="canal principal",
        on_delete=models.CASCADE,
        related_name="backup_comparisons",
    )
    backup_channel = models.ForeignKey(
        "metering.Channel", verbose_name="canal de respaldo", on_delete=models.CASCADE,
        related_name="+",
    )  # fmt: skip
    day = models.DateField("día")
    intervals = models.PositiveSmallIntegerField("intervalos comparados")
    main_missing = models.PositiveSmallIntegerField("faltantes del principal")
    backup_missing = models.PositiveSmallIntegerField("faltantes del respaldo")
    main_kwh = models.FloatField("energía del principal")
    backup_kwh = models.FloatField("energía del respaldo")
    difference = models.FloatField("diferencia (respaldo − principal)")
    difference_pct = models.FloatField("diferencia (%)", null=True)
    max_interval_difference = models.FloatField("mayor diferencia de un intervalo")
    max_interval_at = models.DateTimeField("intervalo de la mayor diferencia", null=True)
    flagged = models.BooleanField("sobre el umbral", default=False)
    compared_at = models.DateTimeField("comparado el", auto_now=True)

    class Meta:
        ordering = ["-day", "-flagged"]
        verbose_name = "comparación principal/respaldo"
        verbose_name_plural = "comparaciones principal/respaldo"
        constraints = [
            models.UniqueConstraint(fields=["channel", "day"], name="backup_comparison_day")
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.day}"


class MeteringReport(models.Model):
    """A period report of measurement points or of groups, with its figures as computed
    when it was generated (metering.services.reports): kept, listed, and downloadable as XML,
    CSV and PDF. The monthly task generates the scheduled ones."""

    class Kind(models.TextChoices):
        POINTS = "points", "puntos de medición"
        GROUPS = "groups", "grupos de medidores"

    kind = models.CharField("tipo", max_length=6, choices=Kind.choices)
    title = models.CharField("título", max_length=200)
    period_start = models.DateField("desde")
    period_end = models.DateField("hasta")
    rows = models.JSONField("filas", default=list)
    scheduled = models.BooleanField("programado", default=False)
    generated_at = models.DateTimeField("generado el", auto_now_add=True)
    generated_by = models.ForeignKey(
        "accounts.User",
        verbose_name="generado por",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-generated_at", "-id"]
        verbose_name = "reporte de medición"
        verbose_name_plural = "reportes de medición"
        constraints = [
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start")), name="report_period"
            )
        ]

    def __str__(self) -> str:
        return self.title
