"""The conductor catalogue is captured (spans read its codes), and spans flag a change of
their code, which equipment records now read (the span an equipment switches).

Frozen as in regulator/capture.py when written; tests/regulator/test_capture.py checks the
database against that list."""

from django.db import migrations

from regulator.capture import Captured, create_triggers_sql, drop_triggers_sql

OLD = [Captured("vanos", "network_span")]
NEW = [
    Captured("tipos_conductor", "network_conductortype", ("code",)),
    Captured("vanos", "network_span", ("code",)),
]


class Migration(migrations.Migration):

    dependencies = [
        ("network", "0006_capacity_data"),
        ("regulator", "0003_batches_and_capture_references"),
    ]

    operations = [
        migrations.RunSQL(
            drop_triggers_sql(OLD) + create_triggers_sql(NEW),
            drop_triggers_sql(NEW) + create_triggers_sql(OLD),
        ),
    ]
