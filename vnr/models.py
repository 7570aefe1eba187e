from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import Dated

COST_FIELDS = (
    "recargos_1",
    "montaje",
    "stotal_1",
    "ing_gg",
    "stotal_2",
    "int_int",
    "total_sin_derechos",
)


def _cost(label: str) -> models.DecimalField:
    return models.DecimalField(label, max_digits=16, decimal_places=2, help_text="Pesos chilenos")


class VnrCode(Dated):
    """A VNR (valor nuevo de reemplazo) unit cost, as in the SEC annex §2.5 (fig. 18)."""

    code = models.CharField("código VNR", max_length=30, unique=True)
    description = models.CharField("descripción", max_length=200, blank=True)
    unit = models.CharField("unidad", max_length=20, blank=True)
    recargos_1 = _cost("Recargos 1")
    montaje = _cost("Montaje")
    stotal_1 = _cost("Stotal 1")
    ing_gg = _cost("ING + GG")
    stotal_2 = _cost("Stotal 2")
    int_int = _cost("IntInt")
    total_sin_derechos = _cost("Total instalación s/derechos")

    class Meta:
        ordering = ["code"]
        verbose_name = "código VNR"
        verbose_name_plural = "códigos VNR"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    recargos_1__gte=0,
                    montaje__gte=0,
                    stotal_1__gte=0,
                    ing_gg__gte=0,
                    stotal_2__gte=0,
                    int_int__gte=0,
                    total_sin_derechos__gte=0,
                ),
                name="vnr_costs_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.code
