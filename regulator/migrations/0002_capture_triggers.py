"""The capture triggers (regulator/capture.py) on every table SEC receives.

The list is frozen here as it stood when this migration was written; a table added to
capture.CAPTURED later gets a migration of its own (tests/regulator/test_capture.py checks the
database against CAPTURED).
"""

from django.db import migrations

from regulator.capture import (
    DROP_FUNCTION_SQL,
    FUNCTION_SQL,
    Captured,
    create_triggers_sql,
    drop_triggers_sql,
)

TABLES = [
    Captured("distribuidoras", "network_distributor"),
    Captured("subestaciones", "network_substation"),
    Captured("transformadores_poder", "network_powertransformer"),
    Captured("alimentadores", "network_feeder"),
    Captured("postes", "network_pole"),
    Captured("vanos", "network_span"),
    Captured("equipos", "network_equipment"),
    Captured("ajustes_equipos", "network_equipmentsetting"),
    Captured("transformadores_distribucion", "network_transformer"),
    Captured("clientes", "network_customer"),
    Captured("demandas_mensuales", "demand_monthlydemand"),
    Captured("codigos_vnr", "vnr_vnrcode"),
    Captured("facturaciones_mensuales", "metering_monthlybill"),
    Captured("documentos_facturacion", "metering_billingdocument"),
    Captured("movimientos_remanente", "metering_remanentemovement"),
    Captured("contratos_eg", "metering_egcontract"),
    Captured("lecturas_registro", "metering_registerread"),
]


class Migration(migrations.Migration):
    dependencies = [
        ("regulator", "0001_initial"),
        ("network", "0005_customer_transformer_label"),
        ("demand", "0003_monthlydemand_computed"),
        ("vnr", "0001_initial"),
        ("metering", "0005_ingest_corrections_and_interruptions"),
    ]

    operations = [
        migrations.RunSQL([FUNCTION_SQL], [DROP_FUNCTION_SQL]),
        migrations.RunSQL(create_triggers_sql(TABLES), drop_triggers_sql(TABLES)),
    ]
