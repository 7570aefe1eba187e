"""Meters, their channels and readings (AMI), as the head-end sends them.

A meter is a customer's meter, a distribution transformer's totalizer or a feeder-head meter.
Each quantity it records is a channel, identified by its CIM ReadingType (IEC 61968-9, the
18-field code) and by its OBIS code (IEC 62056-6-1). Interval readings (15-minute load
profiles) go to `metering_intervalreading`, a table partitioned by month (created by the
migration, partitions by `metering.services.partitions`); register reads (cumulative
registers, maximum demand, instantaneous values) to `RegisterRead`. Every value carries a
quality flag. Values estimated by the VEE are kept apart in `EstimatedReading`: a raw value is
never overwritten.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from core.models import Dated

__all__ = [
    "ObisCode",
    "ReadingType",
    "MeterEventType",
    "Meter",
    "Channel",
    "IngestRun",
    "IntervalReading",
    "ReadingRevision",
    "RegisterRead",
    "MeterEvent",
    "EstimatedReading",
    "ValidationDay",
    "VeeEdit",
    "Quality",
]


class Quality(models.IntegerChoices):
    """Quality of a value: 0 is valid; otherwise the bits of the checks it failed (a value may
    fail several). SOURCE is the head-end's own flag (a ReadingQuality other than valid)."""

    VALID = 0, "válido"
    SOURCE = 1, "marcado por el sistema de medición"
    SPIKE = 2, "pico"
    NEGATIVE = 4, "negativo"
    FLAT = 8, "línea plana"
    CLOCK = 16, "deriva de reloj"
    # A virtual meter's value computed from at least one estimated value of its sources.
    FROM_ESTIMATES = 32, "calculado con valores estimados"


class ObisCode(models.Model):
    """An OBIS code of IEC 62056-6-1 (value groups C.D.E of an electricity meter, A=1, B=0),
    with its Spanish name and unit. Loaded from metering/data/obis.csv by a migration."""

    code = models.CharField(
        "código OBIS", max_length=20, unique=True, help_text="C.D.E, p. ej. 1.8.0"
    )
    name = models.CharField("nombre", max_length=120)
    unit = models.CharField("unidad", max_length=10, blank=True)
    cumulative = models.BooleanField(
        "registro acumulado", default=False, help_text="Energía acumulada desde la instalación."
    )

    class Meta:
        ordering = ["code"]
        verbose_name = "código OBIS"
        verbose_name_plural = "códigos OBIS"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ReadingType(models.Model):
    """A CIM ReadingType: the 18 fields of IEC 61968-9 Annex C (macroPeriod, aggregate,
    measuringPeriod, accumulation, flowDirection, commodity, measurementKind, interharmonic
    numerator and denominator, argument numerator and denominator, tou, cpp, consumptionTier,
    phases, multiplier, unit, currency), e.g. 0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0 for the
    15-minute kWh delivered to the customer (flowDirection 1, forward) and …4.19.1.12… for the
    kWh the customer exports (flowDirection 19, reverse)."""

    code = models.CharField("código CIM", max_length=80, unique=True)
    name = models.CharField("nombre", max_length=120)
    unit = models.CharField("unidad", max_length=10)
    interval_minutes = models.PositiveSmallIntegerField(
        "periodo de integración (min)", default=0, help_text="0 para registros (no perfiles)."
    )
    obis = models.ForeignKey(
        ObisCode, verbose_name="código OBIS", on_delete=models.PROTECT, related_name="reading_types"
    )
    is_energy = models.BooleanField("energía", default=False)

    class Meta:
        ordering = ["code"]
        verbose_name = "tipo de lectura (CIM)"
        verbose_name_plural = "tipos de lectura (CIM)"

    def __str__(self) -> str:
        return self.name

    @property
    def is_interval(self) -> bool:
        return self.interval_minutes > 0


class MeterEventType(models.Model):
    """A CIM EndDeviceEventType (device type.domain.subdomain.event or action) the portal
    acts on. Matched on its last three parts: head-ends differ in the device type they send."""

    class Category(models.TextChoices):
        OUTAGE_START = "outage_start", "inicio de interrupción"
        OUTAGE_END = "outage_end", "fin de interrupción"
        TAMPER = "tamper", "manipulación"
        CLOCK = "clock", "reloj"
        VOLTAGE = "voltage", "tensión"
        OTHER = "other", "otro"

    code = models.CharField(
        "código CIM", max_length=30, unique=True, help_text="dominio.subdominio.evento"
    )
    name = models.CharField("nombre", max_length=120)
    category = models.CharField("categoría", max_length=15, choices=Category.choices)

    class Meta:
        ordering = ["code"]
        verbose_name = "tipo de evento de medidor"
        verbose_name_plural = "tipos de evento de medidor"

    def __str__(self) -> str:
        return self.name


class Meter(Dated):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", "medidor de cliente"
        TOTALIZER = "totalizer", "totalizador de transformador"
        FEEDER_HEAD = "feeder_head", "medidor de cabecera de alimentador"
        BORDER = "border", "punto de frontera"

    serial = models.CharField(
        "número de serie (mRID)", max_length=40, unique=True, help_text="El mRID del head-end."
    )
    kind = models.CharField("tipo", max_length=12, choices=Kind.choices)
    customer = models.ForeignKey(
        "network.Customer",
        verbose_name="cliente",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meters",
    )
    transformer = models.ForeignKey(
        "network.Transformer",
        verbose_name="transformador",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meters",
    )
    feeder = models.ForeignKey(
        "network.Feeder",
        verbose_name="alimentador",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="meters",
    )
    interval_minutes = models.PositiveSmallIntegerField("periodo del perfil (min)", default=15)
    virtual = models.BooleanField(
        "medidor virtual",
        default=False,
        help_text="Sus canales se calculan como sumas o diferencias de canales de otros "
        "medidores (definiciones fechadas); no recibe lecturas del head-end.",
    )
    backup_for = models.OneToOneField(
        "self",
        verbose_name="respaldo de",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="backup",
        help_text="El medidor principal del mismo punto de medición, si este es su respaldo.",
    )
    installed_on = models.DateField("fecha de instalación")
    removed_on = models.DateField("fecha de retiro", null=True, blank=True)

    class Meta:
        ordering = ["serial"]
        verbose_name = "medidor"
        verbose_name_plural = "medidores"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    kind="customer",
                    customer__isnull=False,
                    transformer__isnull=True,
                    feeder__isnull=True,
                )
                | Q(
                    kind="totalizer",
                    customer__isnull=True,
                    transformer__isnull=False,
                    feeder__isnull=True,
                )
                | Q(
                    kind="feeder_head",
                    customer__isnull=True,
                    transformer__isnull=True,
                    feeder__isnull=False,
                )
                | Q(kind="border", customer__isnull=True, transformer__isnull=True),
                name="meter_asset_matches_kind",
            ),
            models.CheckConstraint(
                condition=Q(backup_for__isnull=True) | (Q(virtual=False) & ~Q(backup_for=F("pk"))),
                name="meter_backup_is_real_and_other",
            ),
            models.CheckConstraint(
                condition=Q(interval_minutes__in=[5, 10, 15, 30, 60]), name="meter_interval"
            ),
        ]

    def __str__(self) -> str:
        return self.serial

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        main = self.backup_for
        if main is None:
            return
        errors = []
        if main.pk == self.pk:
            errors.append("un medidor no puede ser su propio respaldo")
        if self.virtual or main.virtual:
            errors.append("un medidor virtual no tiene ni es respaldo")
        if main.backup_for_id is not None:
            errors.append(f"{main.serial} es a su vez un medidor de respaldo")
        same = (main.kind, main.customer_id, main.transformer_id, main.feeder_id)
        if same != (self.kind, self.customer_id, self.transformer_id, self.feeder_id):
            errors.append(
                f"el respaldo mide el mismo punto que {main.serial}: mismo tipo y mismo "
                "cliente, transformador o alimentador"
            )
        if errors:
            raise ValidationError({"backup_for": errors})


class Channel(models.Model):
    """One quantity a meter records. A 4-byte key: it is repeated in every reading."""

    id = models.AutoField(primary_key=True)
    meter = models.ForeignKey(
        Meter, verbose_name="medidor", on_delete=models.CASCADE, related_name="channels"
    )
    reading_type = models.ForeignKey(
        ReadingType, verbose_name="tipo de lectura", on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = "canal"
        verbose_name_plural = "canales"
        constraints = [
            models.UniqueConstraint(fields=["meter", "reading_type"], name="channel_meter_type")
        ]

    def __str__(self) -> str:
        return f"{self.meter_id}/{self.reading_type_id}"


class IngestRun(models.Model):
    """One run of ingest_readings over one file: what it read, loaded and rejected."""

    class Status(models.TextChoices):
        RUNNING = "running", "en curso"
        DONE = "done", "terminada"
        FAILED = "failed", "fallida"
        # The process stopped (killed, Ctrl-C) before closing the run: nothing of it stayed.
        # A run left `running` by a killed process is marked so when the next run starts.
        INTERRUPTED = "interrupted", "interrumpida"

    id = models.AutoField(primary_key=True)
    file_name = models.CharField("archivo", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64)
    file_format = models.CharField("formato", max_length=4)
    message_id = models.CharField("MessageID", max_length=100, blank=True)
    correlation_id = models.CharField("CorrelationID", max_length=100, blank=True)
    started_at = models.DateTimeField("inicio", auto_now_add=True)
    finished_at = models.DateTimeField("término", null=True, blank=True)
    status = models.CharField(
        "estado", max_length=12, choices=Status.choices, default=Status.RUNNING
    )
    values_read = models.BigIntegerField("valores leídos", default=0)
    inserted = models.BigIntegerField("valores nuevos", default=0)
    already_present = models.BigIntegerField("ya cargados", default=0)
    corrected = models.BigIntegerField("valores corregidos", default=0)
    rejected = models.BigIntegerField("rechazados", default=0)
    correction = models.CharField(
        "motivo de la corrección",
        max_length=255,
        blank=True,
        help_text="Solo en una corrección: sus valores reemplazan los guardados.",
    )
    report = models.CharField("informe", max_length=255, blank=True)
    error = models.TextField("error", blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "carga de lecturas"
        verbose_name_plural = "cargas de lecturas"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"


class IntervalReading(models.Model):
    """A 15-minute (or other interval) value of a channel, as received (raw).

    The table is created by the migration as a table PARTITIONED BY RANGE (ts), one partition
    per month, with the primary key (channel_id, ts): the unique (meter, channel, timestamp),
    since a channel belongs to one meter. No foreign keys on it: rows only enter through the
    ingest's join with metering_channel, and a per-row RI check would halve the load rate.
    `ts` is the end of the interval, as in IEC 61968-9."""

    pk = models.CompositePrimaryKey("channel", "ts")
    channel = models.ForeignKey(
        Channel, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    ts = models.DateTimeField("fin del intervalo")
    value = models.FloatField("valor")
    quality = models.SmallIntegerField("calidad", default=Quality.VALID)
    run = models.ForeignKey(
        IngestRun, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )

    class Meta:
        managed = False
        db_table = "metering_intervalreading"
        verbose_name = "lectura de intervalo"
        verbose_name_plural = "lecturas de intervalo"

    def __str__(self) -> str:
        return f"{self.channel_id} {self.ts:%Y-%m-%d %H:%M} {self.value:g}"


class ReadingRevision(models.Model):
    """A stored reading a correction replaced: the value it had (and its quality and run), the
    value that replaced it, and when, by which run (its file) and why."""

    id = models.BigAutoField(primary_key=True)
    channel = models.ForeignKey(
        Channel, verbose_name="canal", on_delete=models.CASCADE, related_name="revisions"
    )
    register = models.BooleanField("lectura de registro", default=False)
    ts = models.DateTimeField("fecha y hora")
    previous_value = models.FloatField("valor anterior")
    previous_quality = models.SmallIntegerField("calidad anterior")
    previous_run = models.ForeignKey(
        IngestRun,
        verbose_name="carga del valor anterior",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    value = models.FloatField("valor nuevo")
    run = models.ForeignKey(
        IngestRun, verbose_name="corrección", on_delete=models.PROTECT, related_name="revisions"
    )
    line = models.BigIntegerField("línea del archivo")
    reason = models.CharField("motivo", max_length=255)
    revised_at = models.DateTimeField("corregido el", auto_now_add=True)

    class Meta:
        ordering = ["-revised_at", "channel", "ts"]
        verbose_name = "corrección de lectura"
        verbose_name_plural = "correcciones de lecturas"
        indexes = [models.Index(fields=["channel", "ts"], name="reading_revision_key")]

    def __str__(self) -> str:
        before, after = self.previous_value, self.value
        return f"{self.channel_id} {self.ts:%Y-%m-%d %H:%M} {before:g} → {after:g}"


class RegisterRead(models.Model):
    """A register value (cumulative energy, maximum demand, instantaneous quantity) by OBIS
    code: what the meter displays and stores (§5 VIII)."""

    id = models.BigAutoField(primary_key=True)
    meter = models.ForeignKey(
        Meter, verbose_name="medidor", on_delete=models.CASCADE, related_name="register_reads"
    )
    obis = models.ForeignKey(
        ObisCode, verbose_name="código OBIS", on_delete=models.PROTECT, related_name="+"
    )
    ts = models.DateTimeField("fecha y hora")
    value = models.DecimalField("valor", max_digits=16, decimal_places=4)
    quality = models.SmallIntegerField("calidad", default=Quality.VALID)
    run = models.ForeignKey(IngestRun, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = "lectura de registro"
        verbose_name_plural = "lecturas de registro"
        constraints = [
            models.UniqueConstraint(fields=["meter", "obis", "ts"], name="register_read_unique")
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.obis_id} {self.ts:%Y-%m-%d %H:%M}"


class MeterEvent(models.Model):
    """An event a meter reported (EndDeviceEvent): outages, tamper, clock adjustments…"""

    id = models.BigAutoField(primary_key=True)
    meter = models.ForeignKey(
        Meter, verbose_name="medidor", on_delete=models.CASCADE, related_name="events"
    )
    event_type = models.ForeignKey(
        MeterEventType, verbose_name="tipo", on_delete=models.PROTECT, related_name="+"
    )
    ts = models.DateTimeField("fecha y hora")
    run = models.ForeignKey(IngestRun, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-ts"]
        verbose_name = "evento de medidor"
        verbose_name_plural = "eventos de medidor"
        constraints = [
            models.UniqueConstraint(fields=["meter", "event_type", "ts"], name="meter_event_unique")
        ]

    def __str__(self) -> str:
        return f"{self.meter_id} {self.event_type_id} {self.ts:%Y-%m-%d %H:%M}"


class EstimatedReading(models.Model):
    """A value the VEE estimated for an interval the meter did not deliver (or delivered
    invalid): apart from the raw readings, which stay as received."""

    class Method(models.TextChoices):
        INTERPOLATION = "interpolation", "interpolación lineal"
        LIKE_DAYS = "like_days", "días similares"
        BACKUP = "backup", "medidor de respaldo"
        MANUAL = "manual", "valor manual"

    id = models.BigAutoField(primary_key=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="estimates")
    ts = models.DateTimeField("fin del intervalo")
    value = models.FloatField("valor estimado")
    method = models.CharField("método", max_length=13, choices=Method.choices)
    replaces_invalid = models.BooleanField(
        "reemplaza un valor inválido", default=False, help_text="Falso si el intervalo faltaba."
    )
    estimated_at = models.DateTimeField("estimado el", auto_now=True)
    # An accepted estimate and a manual value are kept by later VEE runs (VeeEdit says who).
    accepted_at = models.DateTimeField("aceptado el", null=True, blank=True)

    class Meta:
        verbose_name = "lectura estimada"
        verbose_name_plural = "lecturas estimadas"
        constraints = [
            models.UniqueConstraint(fields=["channel", "ts"], name="estimated_reading_unique"),
            models.CheckConstraint(
                condition=~Q(method="manual") | Q(accepted_at__isnull=False),
                name="estimated_manual_is_accepted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.ts:%Y-%m-%d %H:%M} {self.value:g}"


class ValidationDay(models.Model):
    """The VEE's report for one channel and one local day: what was expected and received,
    what each check found, and how many intervals were estimated."""

    id = models.BigAutoField(primary_key=True)
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="validation_days")
    day = models.DateField("día")
    expected = models.PositiveSmallIntegerField("intervalos esperados")
    received = models.PositiveSmallIntegerField("intervalos recibidos")
    missing = models.PositiveSmallIntegerField("intervalos faltantes")
    duplicates = models.PositiveSmallIntegerField("duplicados", default=0)
    spikes = models.PositiveSmallIntegerField("picos", default=0)
    negatives = models.PositiveSmallIntegerField("negativos", default=0)
    flat = models.PositiveSmallIntegerField("en línea plana", default=0)
    clock = models.PositiveSmallIntegerField("con deriva de reloj", default=0)
    estimated = models.PositiveSmallIntegerField("estimados", default=0)
    validated_at = models.DateTimeField("validado el", auto_now=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = "validación diaria"
        verbose_name_plural = "validaciones diarias"
        constraints = [
            models.UniqueConstraint(fields=["channel", "day"], name="validation_day_unique")
        ]

    def __str__(self) -> str:
        return f"{self.channel} {self.day}"

    @property
    def complete(self) -> bool:
        return self.missing == 0 and not (self.spikes or self.negatives or self.flat or self.clock)


class VeeEdit(models.Model):
    """An edit of the VEE by a planner: an estimate accepted, or a slot given a manual value,
    with who, when and why. The raw readings are never touched; an edit is never changed."""

    class Action(models.TextChoices):
        ACCEPT = "accept", "estimación aceptada"
        MANUAL = "manual", "valor manual"

    id = models.BigAutoField(primary_key=True)
    channel = models.ForeignKey(
        Channel, verbose_name="canal", on_delete=models.CASCADE, related_name="vee_edits"
    )
    ts = models.DateTimeField("fin del intervalo")
    action = models.CharField("acción", max_length=6, choices=Action.choices)
    previous_value = models.FloatField("valor estimado anterior", null=True, blank=True)
    previous_method = models.CharField("método anterior", max_length=13, blank=True)
    value = models.FloatField("valor")
    reason = models.CharField("motivo", max_length=255, blank=True)
    user = models.ForeignKey(
        "accounts.User", verbose_name="usuario", on_delete=models.PROTECT, related_name="+"
    )
    edited_at = models.DateTimeField("fecha", auto_now_add=True)

    class Meta:
        ordering = ["-edited_at", "-id"]
        verbose_name = "edición de VEE"
        verbose_name_plural = "ediciones de VEE"
        indexes = [models.Index(fields=["channel", "ts"], name="vee_edit_key")]
        constraints = [
            models.CheckConstraint(
                condition=~Q(action="manual") | ~Q(reason=""), name="vee_manual_has_reason"
            )
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.ts:%Y-%m-%d %H:%M} {self.get_action_display()}"
