"""The interval store's months from the first and last instant of a statement, not from every
row: `to_char(ts AT TIME ZONE …)` and a DISTINCT over each row a COPY inserted cost the readings
ingest about 1 µs a reading (bench/RESULTS.md, regulator change capture, seed and ingest
paths), as much as PostgreSQL's own COPY of the row.

The local month of an instant only moves backwards when the clock is set back (America/Santiago:
in April), so over a statement whose first and last instants have the same UTC offset, and
whose months are the same or consecutive, the months touched are exactly those two: a change
of offset needs a transition, and Santiago's are months apart. Any other statement (one that
spans the April transition, more than two months, or another key) keeps the DISTINCT over its
rows; the change rows are the same either way (tests/regulator/test_interval_months.py).

The function is frozen here, as in regulator/capture.py when written, with the months branch
replaced; the reverse puts that version back."""

from django.db import migrations

# The interval store's key (regulator.capture.INTERVALS), the only one this shortcut knows.
MONTH_KEY = "to_char(n.ts AT TIME ZONE 'America/Santiago', 'YYYY-MM')"

BODY = """
CREATE OR REPLACE FUNCTION regulator_capture() RETURNS trigger LANGUAGE plpgsql AS $$
-- TG_ARGV: the entity, the aggregateid and payload expressions over the transition table's
-- rows (named n), the condition over the old row (o) and the new (n) under which an update
-- changed a column other records read, and the mode: 'entity' (a table SEC receives),
-- 'references' (only updates that change such a column) or 'months' (one change per local
-- month a statement touched).
DECLARE
    low timestamptz;
    high timestamptz;
    first_month text;
    last_month text;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO regulator_change (aggregatetype, aggregateid, type, payload)
        VALUES (TG_ARGV[0], '*', 'truncate', jsonb_build_object('table', TG_TABLE_NAME));
    ELSIF TG_ARGV[4] = 'months' THEN
%(months)s
    ELSIF TG_OP = 'UPDATE' THEN
        EXECUTE format(
            'INSERT INTO regulator_change (aggregatetype, aggregateid, type, payload) '
            'SELECT %%L, %%s, ''update'', %%s || CASE WHEN %%s THEN ''{"refs": true}''::jsonb '
            'ELSE ''{}''::jsonb END FROM changed n JOIN old_rows o ON o.id = n.id %%s',
            TG_ARGV[0], TG_ARGV[1], TG_ARGV[2], TG_ARGV[3],
            CASE WHEN TG_ARGV[4] = 'references' THEN 'WHERE ' || TG_ARGV[3] ELSE '' END);
    ELSE
        EXECUTE format(
            'INSERT INTO regulator_change (aggregatetype, aggregateid, type, payload) '
            'SELECT %%L, %%s, %%L, %%s FROM changed n',
            TG_ARGV[0], TG_ARGV[1], lower(TG_OP), TG_ARGV[2]);
    END IF;
    RETURN NULL;
END
$$;
"""

EVERY_ROW = """
        EXECUTE format(
            'INSERT INTO regulator_change (aggregatetype, aggregateid, type, payload) '
            'SELECT DISTINCT %L, %s, %L, %s FROM changed n',
            TG_ARGV[0], TG_ARGV[1], lower(TG_OP), TG_ARGV[2]);"""

FROM_BOUNDS = (
    """
        IF TG_ARGV[1] = '%(key)s' THEN
            SELECT min(n.ts), max(n.ts) INTO low, high FROM changed n;
            IF low IS NULL THEN
                RETURN NULL;  -- no row: no month, as the DISTINCT over none
            END IF;
            first_month := to_char(low AT TIME ZONE 'America/Santiago', 'YYYY-MM');
            last_month := to_char(high AT TIME ZONE 'America/Santiago', 'YYYY-MM');
            IF (low AT TIME ZONE 'America/Santiago') - (low AT TIME ZONE 'UTC')
                   = (high AT TIME ZONE 'America/Santiago') - (high AT TIME ZONE 'UTC')
               AND last_month IN (first_month, to_char(to_date(first_month, 'YYYY-MM')
                                                       + interval '1 month', 'YYYY-MM')) THEN
                INSERT INTO regulator_change (aggregatetype, aggregateid, type, payload)
                SELECT TG_ARGV[0], month, lower(TG_OP), jsonb_build_object('month', month)
                  FROM unnest(ARRAY[first_month, last_month]) WITH ORDINALITY AS m(month, k)
                 WHERE k = 1 OR month <> first_month
                 ORDER BY k;
                RETURN NULL;
            END IF;
        END IF;"""
    % {"key": MONTH_KEY.replace("'", "''")}
    + EVERY_ROW
)

NEW_FUNCTION = BODY % {"months": FROM_BOUNDS}
OLD_FUNCTION = BODY % {"months": EVERY_ROW}


class Migration(migrations.Migration):

    dependencies = [
        ("regulator", "0005_capture_connection_requests"),
    ]

    operations = [
        migrations.RunSQL([NEW_FUNCTION], [OLD_FUNCTION]),
    ]
