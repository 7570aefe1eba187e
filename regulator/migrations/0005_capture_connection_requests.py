"""The connection queue (capacity.ConnectionRequest) is captured: the feeder page shows it.

Frozen as in regulator/capture.py when written; tests/regulator/test_capture.py checks the
database against that list."""

from django.db import migrations

from regulator.capture import Captured, create_triggers_sql, drop_triggers_sql

NEW = [Captured("solicitudes_conexion", "capacity_connectionrequest")]


class Migration(migrations.Migration):

    dependencies = [
        ("capacity", "0001_initial"),
        ("regulator", "0004_capture_capacity_data"),
    ]

    operations = [
        migrations.RunSQL(create_triggers_sql(NEW), drop_triggers_sql(NEW)),
    ]
