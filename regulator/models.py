from __future__ import annotations

from django.db import models
from django.db.models.functions import Now


class TxidField(models.BigIntegerField):
    """A PostgreSQL xid8 (a 64-bit transaction id that never wraps), read as an int."""

    def db_type(self, connection) -> str:
        return "xid8"

    def from_db_value(self, value, expression, connection):
        return None if value is None else int(value)

    def get_db_prep_value(self, value, connection, prepared=False):
        # xid8 has no cast from bigint, only from text.
        return None if value is None else str(value)


class CurrentTxid(models.Func):
    function = "pg_current_xact_id"
    output_field = TxidField()


class Change(models.Model):
    """One captured change to a row SEC receives, written by the capture triggers
    (regulator/capture.py) in the shape of Debezium's outbox event router: aggregatetype,
    aggregateid, type and payload. `batch` stays empty until the daily cut assigns it."""

    class Type(models.TextChoices):
        INSERT = "insert", "alta"
        UPDATE = "update", "modificación"
        DELETE = "delete", "baja"
        TRUNCATE = "truncate", "vaciado"

    id = models.BigAutoField(primary_key=True)
    aggregatetype = models.CharField("entidad", max_length=64)
    aggregateid = models.TextField("clave")
    type = models.CharField("tipo", max_length=8, choices=Type.choices)
    payload = models.JSONField("contenido")
    txid = TxidField("transacción", db_default=CurrentTxid())
    captured_at = models.DateTimeField("capturado", db_default=Now())
    batch = models.BigIntegerField("lote", null=True, blank=True)

    class Meta:
        db_table = "regulator_change"
        verbose_name = "cambio capturado"
        verbose_name_plural = "cambios capturados"
        indexes = [
            # The cut reads the changes no batch holds yet, in id order.
            models.Index(
                fields=["id"], condition=models.Q(batch__isnull=True), name="regulator_change_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.aggregatetype} {self.aggregateid}"


class Batch(models.Model):
    """One numbered, immutable batch: the initial load (0) or a daily delta. Its pages and
    manifest are files under settings.REGULATOR_BATCH_DIR; the row is written in the same
    transaction that assigns the batch its changes, so a batch exists whole or not at all."""

    class Kind(models.TextChoices):
        INITIAL = "inicial", "carga inicial"
        DELTA = "delta", "delta diario"

    number = models.PositiveBigIntegerField("lote", primary_key=True)
    kind = models.CharField("tipo", max_length=8, choices=Kind.choices)
    created_at = models.DateTimeField("cortado", db_default=Now())
    snapshot = models.TextField("instantánea", help_text="pg_current_snapshot() del corte")
    changes = models.PositiveBigIntegerField("cambios capturados", default=0)
    records = models.PositiveBigIntegerField("registros", default=0)
    bytes = models.PositiveBigIntegerField("bytes de las páginas", default=0)
    manifest_sha256 = models.CharField("sha256 del manifiesto", max_length=64)
    previous_manifest_sha256 = models.CharField(
        "sha256 del manifiesto anterior", max_length=64, blank=True
    )
    seconds = models.FloatField("duración del corte (s)", default=0)
    acknowledged_at = models.DateTimeField("acusado", null=True, blank=True)
    acknowledged_via = models.CharField(
        "acuse por", max_length=8, blank=True, choices=[("push", "envío"), ("pull", "descarga")]
    )
    acknowledged_by = models.ForeignKey(
        "accounts.User",
        verbose_name="acusado por",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    push_attempts = models.PositiveIntegerField("intentos de envío", default=0)
    next_push_at = models.DateTimeField("próximo intento", null=True, blank=True)
    last_error = models.TextField("último error", blank=True)
    alarm = models.BooleanField("alarma", default=False)

    class Meta:
        db_table = "regulator_batch"
        verbose_name = "lote para la SEC"
        verbose_name_plural = "lotes para la SEC"
        ordering = ["number"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(kind="inicial", number=0) | models.Q(kind="delta", number__gt=0),
                name="regulator_batch_kind_number",
            ),
            models.CheckConstraint(
                condition=models.Q(manifest_sha256__regex=r"^[0-9a-f]{64}$"),
                name="regulator_batch_sha256_hex",
            ),
        ]

    def __str__(self) -> str:
        return f"lote {self.number}"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


class PushAttempt(models.Model):
    """One attempt to push a batch to SEC's endpoint, whatever came of it."""

    class Outcome(models.TextChoices):
        ACKNOWLEDGED = "acusado", "acusado"
        REFUSED = "rechazado", "rechazado por la SEC"
        HTTP_ERROR = "error_http", "error HTTP"
        GARBAGE = "respuesta_invalida", "respuesta inválida"
        UNREACHABLE = "sin_conexion", "sin conexión o sin respuesta"

    id = models.BigAutoField(primary_key=True)
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="attempts")
    started_at = models.DateTimeField("inicio", db_default=Now())
    outcome = models.CharField("resultado", max_length=20, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField("código HTTP", null=True, blank=True)
    detail = models.TextField("detalle", blank=True)

    class Meta:
        db_table = "regulator_pushattempt"
        verbose_name = "intento de envío"
        verbose_name_plural = "intentos de envío"
        ordering = ["batch", "id"]

    def __str__(self) -> str:
        return f"lote {self.batch_id}: {self.get_outcome_display()}"
