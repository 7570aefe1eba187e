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
