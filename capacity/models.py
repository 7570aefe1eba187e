"""Short circuit and indicative hosting capacity per pole, per computation run, and the
connection queue (solicitudes de conexión) that is deducted from it.

The values are derived from the network: every row names the run that computed it, and a
topology change marks its feeders' rows stale until they are recomputed.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.models import Dated
from network.models import Distributor, Feeder, Pole


class Criterion(models.TextChoices):
    # The values of capacity.lib.engine.Criterion.
    RISE = "alza_tension", "Alza de tensión en el punto de conexión"
    VMAX = "tension_maxima", "Tensión máxima en el alimentador"
    THERMAL = "capacidad_vano", "Capacidad térmica de un vano"
    TRANSFORMER = "capacidad_transformador", "Capacidad del transformador AT/MT"


class Run(models.Model):
    """One computation: all feeders, the feeders a topology change touched, or the nightly
    catch-up of those left stale."""

    class Scope(models.TextChoices):
        ALL = "completo", "Toda la red"
        FEEDERS = "alimentadores", "Alimentadores modificados"
        CATCH_UP = "pendientes", "Alimentadores pendientes"

    class Status(models.TextChoices):
        RUNNING = "en_curso", "En curso"
        DONE = "terminado", "Terminado"
        FAILED = "fallido", "Fallido"

    started_at = models.DateTimeField("inicio", auto_now_add=True)
    finished_at = models.DateTimeField("término", null=True, blank=True)
    scope = models.CharField("alcance", max_length=16, choices=Scope.choices)
    trigger = models.CharField("origen", max_length=80)
    status = models.CharField(
        "estado", max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    feeders = models.PositiveIntegerField("alimentadores", default=0)
    poles = models.PositiveIntegerField("postes", default=0)
    without_data = models.PositiveIntegerField("alimentadores sin datos suficientes", default=0)
    seconds = models.FloatField("duración (s)", null=True, blank=True)
    parameters = models.JSONField("parámetros", default=dict)
    error = models.TextField("error", blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "cálculo de capacidad"
        verbose_name_plural = "cálculos de capacidad"

    def __str__(self) -> str:
        return f"Cálculo {self.pk} ({self.started_at:%d-%m-%Y %H:%M})"


class FeederCapacity(models.Model):
    """A feeder's state in the capacity computation."""

    class Status(models.TextChoices):
        OK = "calculado", "Calculado"
        MISSING = "sin_datos", "Sin datos suficientes"

    feeder = models.OneToOneField(
        Feeder, primary_key=True, on_delete=models.CASCADE, related_name="capacity"
    )
    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="+")
    computed_at = models.DateTimeField("calculado")
    status = models.CharField("estado", max_length=10, choices=Status.choices)
    missing = models.JSONField(
        "datos faltantes", default=list, help_text="Lo que falta para calcular, para planificación."
    )
    min_load_kw = models.FloatField("demanda mínima considerada (kW)", default=0)
    stale = models.BooleanField(
        "desactualizado", default=False, help_text="Su topología cambió después del cálculo."
    )

    class Meta:
        verbose_name = "capacidad de alimentador"
        verbose_name_plural = "capacidades de alimentadores"

    def __str__(self) -> str:
        return f"{self.feeder_id}: {self.get_status_display()}"


class PoleCapacity(models.Model):
    """Short circuit (IEC 60909) and indicative hosting capacity at one pole."""

    class Limit(models.TextChoices):
        POLE = "poste", "Poste"
        SPAN = "vano", "Vano"
        TRANSFORMER = "transformador", "Transformador AT/MT"

    pole = models.OneToOneField(
        Pole, primary_key=True, on_delete=models.CASCADE, related_name="capacity"
    )
    feeder = models.ForeignKey(Feeder, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(Run, on_delete=models.PROTECT, related_name="+")
    distance_km = models.FloatField("distancia a la subestación (km)", default=0)
    ik3_max_ka = models.FloatField("Ik''3 máx. (kA)")
    ik3_min_ka = models.FloatField("Ik''3 mín. (kA)")
    ik1_min_ka = models.FloatField("Ik''1 mín. (kA)")
    scc_mva = models.FloatField("potencia de cortocircuito (MVA)")
    hosting_mw = models.FloatField("capacidad indicativa (MW)")
    criterion = models.CharField("criterio limitante", max_length=24, choices=Criterion.choices)
    limit_kind = models.CharField("elemento limitante", max_length=14, choices=Limit.choices)
    limit_code = models.CharField("id del elemento limitante", max_length=80)
    limit_value = models.FloatField("valor en el límite")
    base_voltage_pu = models.FloatField("tensión a demanda mínima (pu)")
    downstream_mw = models.FloatField(
        "generación conectada y en cola aguas abajo de la restricción (MW)", default=0
    )
    remaining_mw = models.FloatField("capacidad disponible (MW)")

    class Meta:
        verbose_name = "capacidad en poste"
        verbose_name_plural = "capacidades en postes"
        indexes = [models.Index(fields=["feeder"], name="polecapacity_feeder")]

    def __str__(self) -> str:
        return f"{self.pole_id}: {self.hosting_mw:.2f} MW"

    @property
    def limit_unit(self) -> str:
        return {
            Criterion.RISE: "%",
            Criterion.VMAX: "% de la nominal",
            Criterion.THERMAL: "A",
            Criterion.TRANSFORMER: "MVA",
        }[self.criterion]


class ConnectionRequest(Dated):
    """A solicitud de conexión of a PMGD (or a connected one) from the distributor's
    registry; its public id never changes, so a re-import updates it."""

    class State(models.TextChoices):
        SUBMITTED = "presentada", "Solicitud presentada (SCR)"
        STUDY = "en_estudio", "En estudio"
        APPROVED = "aprobada", "Informe de criterios de conexión emitido"
        BUILDING = "en_construccion", "En construcción"
        CONNECTED = "conectada", "Conectada (en operación)"
        WITHDRAWN = "desistida", "Desistida"
        REJECTED = "rechazada", "Rechazada"
        EXPIRED = "caducada", "Caducada"

    QUEUED = (State.SUBMITTED, State.STUDY, State.APPROVED, State.BUILDING)

    distributor = models.ForeignKey(
        Distributor, verbose_name="empresa distribuidora", on_delete=models.PROTECT,
        related_name="+",
    )  # fmt: skip
    public_id = models.CharField("id público", max_length=40)
    state = models.CharField("estado", max_length=16, choices=State.choices)
    submitted_on = models.DateField("fecha de solicitud")
    mw = models.DecimalField("potencia (MW)", max_digits=7, decimal_places=3)
    pole = models.ForeignKey(
        Pole, verbose_name="poste de conexión", on_delete=models.PROTECT, related_name="+"
    )
    feeder = models.ForeignKey(
        Feeder, verbose_name="alimentador", on_delete=models.PROTECT, related_name="+"
    )
    technology = models.CharField("tecnología", max_length=40, blank=True)

    class Meta:
        ordering = ["submitted_on", "public_id"]
        verbose_name = "solicitud de conexión"
        verbose_name_plural = "solicitudes de conexión"
        constraints = [
            models.UniqueConstraint(
                fields=["distributor", "public_id"], name="connection_request_public_id"
            ),
            models.CheckConstraint(condition=Q(mw__gt=0), name="connection_request_mw_gt0"),
        ]

    def __str__(self) -> str:
        return self.public_id
