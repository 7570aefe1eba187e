from django.db import migrations


class Migration(migrations.Migration):
    """TileCache now belongs to the maps app (maps 0001); its table is not touched."""

    dependencies = [("geo", "0004_tile_cache_lz4"), ("maps", "0001_initial")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="TileCache")],
            database_operations=[],
        ),
    ]
