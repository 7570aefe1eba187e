"""Quality of supply: interruptions per customer, outage events per transformer and feeder,
planned outages and the monthly SAIDI / SAIFI (docs/outages.md).

Interruptions and events are results: `outages.services.rebuild.rebuild_month` replaces a
month of them (and its indices) in one transaction. Planned outages are what planners enter;
they survive every rebuild and mark the events they cover.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

__all__ = ["PlannedOutage", "OutageEvent", "Interruption", "ReliabilityIndex"]


class PlannedOutage(models.Model):
    """An outage the distributor scheduled (maintenance, works): its events do not count in
    the indices. A whole feeder, or one transformer of it."""

    feeder = models.ForeignKey(
        "network.Feeder", verbose_name="alimentador", on_delete=models.PROTECT, related_name="+"
    )
    transformer = models.ForeignKey(
        "network.Transformer",
        verbose_name="transformador",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Vacío: todo el alimentador.",
    )
    starts_at = models.DateTimeField("inicio programado")
    ends_at = models.DateTimeField("término programado")
    reason = models.CharField("motivo", max_length=255)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="registrada por",
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField("registrada el", auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = "interrupción programada"
        verbose_name_plural = "interrupciones programadas"
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")),
                name="planned_outage_ends_after",
                violation_error_message="El término programado debe ser posterior al inicio.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.reason} ({self.starts_at:%d/%m/%Y %H:%M})"

    def clean(self) -> None:
        if (
            self.transformer_id
            and self.feeder_id
            and (self.transformer.feeder_id != self.feeder_id)
        ):
            raise ValidationError(
                {"transformer": "El transformador no pertenece al alimentador indicado."}
            )


class OutageEvent(models.Model):
    """One fault (or one planned outage) seen by the meters: every interruption downstream of
    one element that started within the grouping tolerance."""

    class Kind(models.TextChoices):
        FEEDER = "feeder", "alimentador"
        TRANSFORMER = "transformer", "transformador"
        CUSTOMER = "customer", "empalme"

    id = models.BigAutoField(primary_key=True)
    month = models.DateField("mes", db_index=True)
    kind = models.CharField("elemento", max_length=12, choices=Kind.choices)
    feeder = models.ForeignKey(
        "network.Feeder", verbose_name="alimentador", on_delete=models.CASCADE, related_name="+"
    )
    transformer = models.ForeignKey(
        "network.Transformer",
        verbose_name="transformador",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Vacío en un evento de alimentador (varios transformadores).",
    )
    started_at = models.DateTimeField("inicio")
    ended_at = models.DateTimeField("término", null=True, blank=True)
    transformers = models.PositiveIntegerField("transformadores afectados", default=0)
    customers = models.PositiveIntegerField("clientes afectados", default=0)
    customer_minutes = models.FloatField("minutos-cliente", default=0)
    reporting_meters = models.PositiveIntegerField("medidores que informaron", default=0)
    silent_customers = models.PositiveIntegerField(
        "clientes sin datos del medidor",
        default=0,
        help_text="Contados por estar aguas abajo del elemento, sin eventos de su medidor.",
    )
    planned = models.ForeignKey(
        PlannedOutage,
        verbose_name="interrupción programada",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
    )
    computed_at = models.DateTimeField("calculado el", auto_now_add=True)

    class Meta:
        ordering = ["-started_at", "id"]
        verbose_name = "evento de interrupción"
        verbose_name_plural = "eventos de interrupción"
        indexes = [models.Index(fields=["month", "feeder"], name="outage_event_month_feeder")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.started_at:%d/%m/%Y %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None


class Interruption(models.Model):
    """One customer without supply: from its meter's last gasp to its power restore, from a
    run of missing intervals, or counted from the network (its meter sent nothing while its
    transformer's event lasted)."""

    class Source(models.TextChoices):
        EVENTS = "events", "eventos del medidor"
        MISSING = "missing", "datos faltantes"
        NETWORK = "network", "red (medidor sin datos)"
        RESTORE_ONLY = "restore_only", "reposición sin corte"

    class Excluded(models.TextChoices):
        COUNTED = "", "cuenta"
        PLANNED = "planned", "programada"
        SHORT = "short", "breve (no supera la duración mínima)"
        ISOLATED = "isolated", "aislada (posible falla de comunicaciones)"
        NO_START = "no_start", "sin inicio conocido"

    id = models.BigAutoField(primary_key=True)
    # Few indexes: a national month writes a million rows. The month's reads go through
    # (month, feeder), the event page through event, the indices through customer.
    month = models.DateField("mes")
    event = models.ForeignKey(
        OutageEvent,
        verbose_name="evento",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="interruptions",
    )
    meter = models.ForeignKey(
        "metering.Meter",
        verbose_name="medidor",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    customer = models.ForeignKey(
        "network.Customer", verbose_name="cliente", on_delete=models.CASCADE, related_name="+"
    )
    transformer = models.ForeignKey(
        "network.Transformer",
        verbose_name="transformador",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    feeder = models.ForeignKey(
        "network.Feeder",
        verbose_name="alimentador",
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
    )
    started_at = models.DateTimeField("inicio")
    ended_at = models.DateTimeField("término", null=True, blank=True)
    minutes = models.FloatField(
        "duración (min)", help_text="Abierta: hasta el fin del mes (o ahora, si es antes)."
    )
    source = models.CharField("origen", max_length=12, choices=Source.choices)
    excluded = models.CharField(
        "exclusión", max_length=10, choices=Excluded.choices, blank=True, default=""
    )

    class Meta:
        ordering = ["-started_at", "id"]
        verbose_name = "interrupción"
        verbose_name_plural = "interrupciones"
        indexes = [
            models.Index(fields=["month", "feeder"], name="interruption_month_feeder"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(minutes__gte=0), name="interruption_minutes")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.started_at:%d/%m/%Y %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.ended_at is None and self.source != self.Source.RESTORE_ONLY


class ReliabilityIndex(models.Model):
    """SAIFI and SAIDI of one month over one feeder, comuna or the whole distributor."""

    class Level(models.TextChoices):
        FEEDER = "feeder", "alimentador"
        COMUNA = "comuna", "comuna"
        DISTRIBUTOR = "distributor", "empresa distribuidora"

    id = models.BigAutoField(primary_key=True)
    month = models.DateField("mes")
    level = models.CharField("nivel", max_length=12, choices=Level.choices)
    feeder = models.ForeignKey(
        "network.Feeder", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    comuna = models.ForeignKey(
        "geo.Comuna", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    distributor = models.ForeignKey(
        "network.Distributor", on_delete=models.CASCADE, related_name="+"
    )
    customers_served = models.PositiveIntegerField("clientes servidos")
    customer_interruptions = models.PositiveIntegerField("interrupciones de clientes")
    customer_minutes = models.FloatField("minutos-cliente")
    open_interruptions = models.PositiveIntegerField("interrupciones abiertas", default=0)
    saifi = models.FloatField("SAIFI (veces)")
    saidi = models.FloatField("SAIDI (min)")
    computed_at = models.DateTimeField("calculado el", auto_now_add=True)

    class Meta:
        ordering = ["month", "level", "id"]
        verbose_name = "índice de continuidad"
        verbose_name_plural = "índices de continuidad"
        constraints = [
            models.UniqueConstraint(
                fields=["month", "level", "distributor", "feeder", "comuna"],
                name="reliability_index_scope",
                nulls_distinct=False,
            )
        ]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.get_level_display()}"
