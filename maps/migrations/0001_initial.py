from django.db import migrations, models


class Migration(migrations.Migration):
    """TileCache moves from geo to maps: the table geo_tilecache stays as it is, rows and all
    (created by geo 0003, compressed by geo 0004); only Django's state changes app."""

    initial = True

    dependencies = [("geo", "0004_tile_cache_lz4")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="TileCache",
                    fields=[
                        (
                            "pk",
                            models.CompositePrimaryKey(
                                "z",
                                "x",
                                "y",
                                "layer",
                                blank=True,
                                editable=False,
                                primary_key=True,
                                serialize=False,
                            ),
                        ),
                        ("layer", models.CharField(max_length=20, verbose_name="capa")),
                        ("z", models.PositiveSmallIntegerField(verbose_name="zoom")),
                        ("x", models.PositiveIntegerField(verbose_name="columna")),
                        ("y", models.PositiveIntegerField(verbose_name="fila")),
                        ("etag", models.CharField(max_length=40, verbose_name="ETag")),
                        ("data", models.BinaryField(verbose_name="tesela MVT")),
                        (
                            "created",
                            models.DateTimeField(auto_now_add=True, verbose_name="generada"),
                        ),
                    ],
                    options={
                        "verbose_name": "tesela en caché",
                        "verbose_name_plural": "teselas en caché",
                        "db_table": "geo_tilecache",
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
