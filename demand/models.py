from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from core.models import Dated


class MonthlyDemandQuerySet(models.QuerySet):
    def last_months(self, count: int = 12) -> MonthlyDemandQuerySet:
        return self.order_by("-month")[:count]


class MonthlyDemand(Dated):
    """Maximum and minimum demand of a feeder or a distribution transformer in one month."""

    feeder = models.ForeignKey(
        "network.Feeder",
        verbose_name="alimentador",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="demands",
    )
    transformer = models.ForeignKey(
        "network.Transformer",
        verbose_name="transformador",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="demands",
    )
    month = models.DateField("mes", help_text="Primer día del mes.")
    max_kw = models.DecimalField("demanda máxima (kW)", max_digits=10, decimal_places=1)
    min_kw = models.DecimalField("demanda mínima (kW)", max_digits=10, decimal_places=1)
    excludes_load_transfer = models.BooleanField(
        "excluye traspasos de carga",
        default=True,
        help_text="Las cifras excluyen los periodos de traspaso de carga (operación normal).",
    )
    computed = models.BooleanField(
        "calculada desde la medición",
        db_default=False,  # the seed and imports write rows by COPY without this column
        help_text="Calculada de las lecturas del medidor de cabecera o totalizador "
        "(monitor_metering); si no, informada por la distribuidora.",
    )

    objects = MonthlyDemandQuerySet.as_manager()

    class Meta:
        ordering = ["-month"]
        verbose_name = "demanda mensual"
        verbose_name_plural = "demandas mensuales"
        constraints = [
            models.CheckConstraint(
                condition=Q(feeder__isnull=False, transformer__isnull=True)
                | Q(feeder__isnull=True, transformer__isnull=False),
                name="demand_exactly_one_asset",
            ),
            models.CheckConstraint(condition=Q(month__day=1), name="demand_first_day"),
            models.CheckConstraint(
                condition=Q(min_kw__gte=0, min_kw__lte=F("max_kw")), name="demand_min_le_max"
            ),
            models.UniqueConstraint(
                fields=["feeder", "month"],
                condition=Q(feeder__isnull=False),
                name="demand_feeder_month",
            ),
            models.UniqueConstraint(
                fields=["transformer", "month"],
                condition=Q(transformer__isnull=False),
                name="demand_transformer_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feeder or self.transformer} {self.month:%m/%Y}"
