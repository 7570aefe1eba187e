"""Batches and push attempts; the capture triggers' second form (regulator/capture.py):
updates flag a change of a column other records read (`{"refs": true}`), meters are captured
for those columns only, and the interval store by local month, once per statement.

The tables are frozen here; the SQL comes from regulator/capture.py as it stands, which
tests/regulator/test_capture.py checks against the database (a later change to it needs a
migration of its own)."""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

from regulator.capture import (
    FUNCTION_SQL,
    MONTHS,
    REFERENCES,
    Captured,
    create_triggers_sql,
    drop_triggers_sql,
)

# As migration 0002 installed them (insert, update, delete, truncate on each).
OLD_TABLES = [
    "network_distributor", "network_substation", "network_powertransformer", "network_feeder",
    "network_pole", "network_span", "network_equipment", "network_equipmentsetting",
    "network_transformer", "network_customer", "demand_monthlydemand", "vnr_vnrcode",
    "metering_monthlybill", "metering_billingdocument", "metering_remanentemovement",
    "metering_egcontract", "metering_registerread",
]  # fmt: skip
TABLES = [
    Captured("distribuidoras", "network_distributor", ("code",)),
    Captured("subestaciones", "network_substation", ("code", "distributor_id")),
    Captured("transformadores_poder", "network_powertransformer"),
    Captured("alimentadores", "network_feeder", ("code", "distributor_id")),
    Captured("postes", "network_pole", ("plate",)),
    Captured("vanos", "network_span"),
    Captured("equipos", "network_equipment", ("code", "distributor_id")),
    Captured("ajustes_equipos", "network_equipmentsetting"),
    Captured("transformadores_distribucion", "network_transformer", ("code", "distributor_id")),
    Captured("clientes", "network_customer", ("distributor_id", "number")),
    Captured("demandas_mensuales", "demand_monthlydemand"),
    Captured("codigos_vnr", "vnr_vnrcode", ("code",)),
    Captured("facturaciones_mensuales", "metering_monthlybill"),
    Captured("documentos_facturacion", "metering_billingdocument"),
    Captured("movimientos_remanente", "metering_remanentemovement"),
    Captured("contratos_eg", "metering_egcontract"),
    Captured("lecturas_registro", "metering_registerread"),
    Captured("_ref.metering_meter", "metering_meter", ("customer_id", "kind", "serial"), REFERENCES),
    Captured(
        "_lecturas_intervalo",
        "metering_intervalreading",
        mode=MONTHS,
        key="to_char(n.ts AT TIME ZONE 'America/Santiago', 'YYYY-MM')",
    ),
]
DROP_OLD = [
    f"DROP TRIGGER IF EXISTS regulator_capture_{event} ON {table};"
    for table in OLD_TABLES
    for event in ("insert", "update", "delete", "truncate")
]


class Migration(migrations.Migration):

    dependencies = [
        ('regulator', '0002_capture_triggers'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='Batch',
            fields=[
                ('number', models.PositiveBigIntegerField(primary_key=True, serialize=False, verbose_name='lote')),
                ('kind', models.CharField(choices=[('inicial', 'carga inicial'), ('delta', 'delta diario')], max_length=8, verbose_name='tipo')),
                ('created_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), verbose_name='cortado')),
                ('snapshot', models.TextField(help_text='pg_current_snapshot() del corte', verbose_name='instantánea')),
                ('changes', models.PositiveBigIntegerField(default=0, verbose_name='cambios capturados')),
                ('records', models.PositiveBigIntegerField(default=0, verbose_name='registros')),
                ('bytes', models.PositiveBigIntegerField(default=0, verbose_name='bytes de las páginas')),
                ('manifest_sha256', models.CharField(max_length=64, verbose_name='sha256 del manifiesto')),
                ('previous_manifest_sha256', models.CharField(blank=True, max_length=64, verbose_name='sha256 del manifiesto anterior')),
                ('seconds', models.FloatField(default=0, verbose_name='duración del corte (s)')),
                ('acknowledged_at', models.DateTimeField(blank=True, null=True, verbose_name='acusado')),
                ('acknowledged_via', models.CharField(blank=True, choices=[('push', 'envío'), ('pull', 'descarga')], max_length=8, verbose_name='acuse por')),
                ('push_attempts', models.PositiveIntegerField(default=0, verbose_name='intentos de envío')),
                ('next_push_at', models.DateTimeField(blank=True, null=True, verbose_name='próximo intento')),
                ('last_error', models.TextField(blank=True, verbose_name='último error')),
                ('alarm', models.BooleanField(default=False, verbose_name='alarma')),
                ('acknowledged_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='acusado por')),
            ],
            options={
                'verbose_name': 'lote para la SEC',
                'verbose_name_plural': 'lotes para la SEC',
                'db_table': 'regulator_batch',
                'ordering': ['number'],
            },
        ),
        migrations.CreateModel(
            name='PushAttempt',
            fields=[
                ('id', models.BigAutoField(primary_key=True, serialize=False)),
                ('started_at', models.DateTimeField(db_default=django.db.models.functions.datetime.Now(), verbose_name='inicio')),
                ('outcome', models.CharField(choices=[('acusado', 'acusado'), ('rechazado', 'rechazado por la SEC'), ('error_http', 'error HTTP'), ('respuesta_invalida', 'respuesta inválida'), ('sin_conexion', 'sin conexión o sin respuesta')], max_length=20, verbose_name='resultado')),
                ('status_code', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='código HTTP')),
                ('detail', models.TextField(blank=True, verbose_name='detalle')),
                ('batch', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attempts', to='regulator.batch')),
            ],
            options={
                'verbose_name': 'intento de envío',
                'verbose_name_plural': 'intentos de envío',
                'db_table': 'regulator_pushattempt',
                'ordering': ['batch', 'id'],
            },
        ),
        migrations.AddConstraint(
            model_name='batch',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'inicial'), ('number', 0)), models.Q(('kind', 'delta'), ('number__gt', 0)), _connector='OR'), name='regulator_batch_kind_number'),
        ),
        migrations.AddConstraint(
            model_name='batch',
            constraint=models.CheckConstraint(condition=models.Q(('manifest_sha256__regex', '^[0-9a-f]{64}$')), name='regulator_batch_sha256_hex'),
        ),
        migrations.RunSQL(DROP_OLD + [FUNCTION_SQL] + create_triggers_sql(TABLES),
                      drop_triggers_sql(TABLES)),
    ]
