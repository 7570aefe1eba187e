"""The careful path of register reads: rows staged in a temporary table, then moved by one
set-based statement per batch that inserts what the store lacks and says why each line left
out did not go in. (Interval readings are compared in numpy: diff.py.)"""

from __future__ import annotations

# Register reads, staged before a set-based
# insert; they stay here until the insert has answered (and, on the rare path, been explained).
CHUNK_TABLE = """
    CREATE TEMPORARY TABLE metering_chunk (
        line bigint NOT NULL,
        channel_id integer NOT NULL,
        ts timestamptz NOT NULL,
        value double precision NOT NULL,
        quality smallint NOT NULL,
        register boolean NOT NULL
    ) ON COMMIT DROP
"""


# The careful path, one statement per batch: every line is compared with what was stored before
# the statement (its snapshot does not see the rows it inserts), the first line of each key
# the store lacks is inserted, and the comparison says why a line did not go in: a later line
# of a key the batch repeats, a key an earlier batch of this file stored, or one an earlier run
# stored (the same value: counted as already loaded; another: reported). Answers the lines to
# report and one row of counts.
REPORT = """
    SELECT 'line' AS kind, c.line, m.serial, c.value,
           coalesce(c.stored, c.first_value) AS kept, coalesce(c.this_run, false) AS this_run,
           c.first_line, NULL::bigint, NULL::bigint, NULL::bigint
      FROM compared c
      JOIN metering_meter m ON m.id = {meter}
     WHERE c.line > c.first_line OR c.this_run OR c.value <> c.stored
     UNION ALL
    SELECT 'counts', NULL, NULL, NULL, NULL, NULL, NULL,
           (SELECT count(*) FROM inserted),
           count(*) FILTER (WHERE c.line = c.first_line AND c.stored IS NULL),
           count(*) FILTER (WHERE c.line = c.first_line AND NOT c.this_run
                              AND c.value = c.stored)
      FROM compared c
"""
INSERT_REGISTERS = """
    WITH source AS MATERIALIZED (
        SELECT s.line, c.meter_id, rt.obis_id, s.ts, s.value, s.quality,
               first_value(s.line) OVER same_key AS first_line,
               first_value(s.value) OVER same_key AS first_value
          FROM metering_chunk s
          JOIN metering_channel c ON c.id = s.channel_id
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE s.register
        WINDOW same_key AS (PARTITION BY c.meter_id, rt.obis_id, s.ts ORDER BY s.line)
    ), compared AS MATERIALIZED (
        SELECT s.line, s.meter_id, s.obis_id, s.ts, s.value, s.quality, s.first_line,
               s.first_value, r.value::double precision AS stored,
               r.run_id = %(run)s AS this_run
          FROM source s
          LEFT JOIN metering_registerread r
            ON r.meter_id = s.meter_id AND r.obis_id = s.obis_id AND r.ts = s.ts
    ), inserted AS (
        INSERT INTO metering_registerread (meter_id, obis_id, ts, value, quality, run_id)
        SELECT meter_id, obis_id, ts, value, quality, %(run)s FROM compared
         WHERE line = first_line AND stored IS NULL
        ON CONFLICT (meter_id, obis_id, ts) DO NOTHING
        RETURNING 1
    )
""" + REPORT.format(meter="c.meter_id")
