from django.db import migrations


class Migration(migrations.Migration):
    """The tile cache's epoch (maps.tiles.cache): a sequence every invalidation advances, so
    that tiles rendered before it and not yet stored are not stored. A sequence, not a row:
    reading and advancing it never waits for another transaction."""

    dependencies = [("maps", "0001_initial")]

    operations = [
        migrations.RunSQL(
            "CREATE SEQUENCE maps_tile_epoch", reverse_sql="DROP SEQUENCE maps_tile_epoch"
        ),
    ]
