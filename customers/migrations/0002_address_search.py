"""The SEC's address search (§3): accents and case ignored, partial words matched.

`unaccent()` is only STABLE (its dictionary could change), so an index cannot use it; the
usual wrapper names the dictionary explicitly and is declared IMMUTABLE. The trigram GIN index
over it serves `LIKE '%palabra%'` for words of three letters or more.
"""

from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION portal_unaccent(text) RETURNS text
AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, lower($1)) $$
LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
"""


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0001_initial"),
        ("network", "0001_initial"),
    ]

    operations = [
        UnaccentExtension(),
        TrigramExtension(),
        migrations.RunSQL(FUNCTION, "DROP FUNCTION IF EXISTS portal_unaccent(text)"),
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS customer_address_trgm ON network_customer "
            "USING gin (portal_unaccent(address) gin_trgm_ops)",
            "DROP INDEX IF EXISTS customer_address_trgm",
        ),
    ]
