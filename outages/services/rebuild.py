"""(Re)build one month of quality of supply: interruptions, outage events, SAIFI and SAIDI.

Every step is a set-based statement over temporary tables (docs/outages.md explains the
rules):

1. `collect`: candidate interruptions per customer meter into `outage_cand`: from the last
   gasp / power restore events (CIM EndDeviceEvents, `metering_meterevent`), and from runs of
   at least OUTAGES_MISSING_INTERVALS missing intervals of the energy channel where the meter
   sent no event;
2. `group`: per transformer, interruptions whose starts chain within
   OUTAGES_GROUP_TOLERANCE_MINUTES are one group; a group covering most of the transformer's
   meters is a transformer event, transformer events of one feeder starting together are one
   feeder event, anything smaller is one event per service point; inferred interruptions of a
   single meter are isolated (flagged, not counted); customers of an affected transformer
   whose meter sent nothing are counted from the network;
3. `apply_plans`: events covered by a planned outage are marked, and every interruption's
   exclusion (planned, short, isolated, no start) is set;
4. `indices`: SAIFI and SAIDI per feeder, comuna and distributor over the customers served.

`rebuild_month` runs them in one transaction after deleting the month's results, so running
it again gives the same rows; `replan` runs 3 and 4 after a planned outage changed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from core.months import next_month
from metering.services.monitoring import A_PLUS

# How far around the month events are read: a restore up to this long after its gasp still
# closes it, and the event before the month's first tells a repeat from a first restore.
EVENT_WINDOW = timedelta(days=31)

TEMP_TABLES = ("outage_cand", "outage_tr", "outage_grp", "outage_fd", "outage_ev", "outage_cev")

MINUTES = "greatest(0, extract(epoch FROM coalesce({end}, %(cutoff)s) - {start}) / 60)"

CANDIDATES = """
    CREATE TEMP TABLE outage_cand (
        id bigserial PRIMARY KEY,
        meter_id bigint,
        customer_id bigint NOT NULL,
        transformer_id bigint NOT NULL,
        feeder_id bigint NOT NULL,
        started_at timestamptz NOT NULL,
        ended_at timestamptz,
        source varchar(12) NOT NULL
    )
"""

# Last gasps and restores of customer meters, in time order per meter. The same instant sent
# twice (two event types of one category) is one event; a gasp right after a gasp is a repeat
# (the first one opened the interruption); a restore closes the gasp just before it, and a
# restore with no earlier event in the window is a restore without a gasp. Ties put the gasp
# first, so a restore stamped at its gasp's instant closes it (zero minutes: not counted).
FROM_EVENTS = """
    WITH ev AS (
        SELECT DISTINCT e.meter_id, e.ts, t.category = 'outage_start' AS gasp
          FROM metering_meterevent e
          JOIN metering_metereventtype t ON t.id = e.event_type_id
         WHERE t.category IN ('outage_start', 'outage_end')
           AND e.ts >= %(lookback)s AND e.ts < %(horizon)s
    ), marked AS (
        SELECT ev.*, lag(gasp) OVER (PARTITION BY meter_id ORDER BY ts, gasp DESC) AS prev_gasp
          FROM ev
    ), kept AS (
        SELECT * FROM marked
         WHERE (gasp AND prev_gasp IS NOT TRUE) OR (NOT gasp AND prev_gasp IS NOT FALSE)
    ), seq AS (
        SELECT kept.*, lead(gasp) OVER w AS next_gasp, lead(ts) OVER w AS next_ts
          FROM kept WINDOW w AS (PARTITION BY meter_id ORDER BY ts, gasp DESC)
    )
    INSERT INTO outage_cand (meter_id, customer_id, transformer_id, feeder_id, started_at,
                             ended_at, source)
    SELECT s.meter_id, cu.id, cu.transformer_id, t.feeder_id, s.ts,
           CASE WHEN NOT s.gasp THEN s.ts WHEN s.next_gasp IS FALSE THEN s.next_ts END,
           CASE WHEN s.gasp THEN 'events' ELSE 'restore_only' END
      FROM seq s
      JOIN metering_meter m ON m.id = s.meter_id AND m.kind = 'customer'
      JOIN network_customer cu ON cu.id = m.customer_id
      JOIN network_transformer t ON t.id = cu.transformer_id
     WHERE s.ts >= %(start)s AND s.ts < %(end)s AND (s.gasp OR s.prev_gasp IS NULL)
"""

# Runs of missing intervals in a customer meter's energy channel (A+): between two readings
# more than N slots apart. The supply was off from the end of the last interval received to
# the start of the next one received. Any reading counts as delivered, whatever its quality
# (a flagged value still proves the meter had voltage); VEE estimates do not. A run that
# overlaps an interruption from the meter's own events is that interruption, not another.
FROM_GAPS = """
    WITH channels AS (
        SELECT c.id AS channel_id, c.meter_id, m.interval_minutes AS minutes
          FROM metering_channel c
          JOIN metering_meter m ON m.id = c.meter_id AND m.kind = 'customer'
          JOIN metering_readingtype rt ON rt.id = c.reading_type_id
         WHERE rt.code = %(a_plus)s
    ), gaps AS (
        SELECT ch.meter_id, ch.minutes, r.ts AS started_at,
               lead(r.ts) OVER (PARTITION BY r.channel_id ORDER BY r.ts) AS next_ts
          FROM metering_intervalreading r
          JOIN channels ch ON ch.channel_id = r.channel_id
         WHERE r.ts > %(start)s - interval '1 day' AND r.ts <= %(end)s + interval '1 day'
    )
    INSERT INTO outage_cand (meter_id, customer_id, transformer_id, feeder_id, started_at,
                             ended_at, source)
    SELECT g.meter_id, cu.id, cu.transformer_id, t.feeder_id, g.started_at,
           g.next_ts - make_interval(mins => g.minutes), 'missing'
      FROM gaps g
      JOIN metering_meter m ON m.id = g.meter_id
      JOIN network_customer cu ON cu.id = m.customer_id
      JOIN network_transformer t ON t.id = cu.transformer_id
     WHERE g.started_at >= %(start)s AND g.started_at < %(end)s
       AND g.next_ts - g.started_at >= make_interval(mins => g.minutes * (%(missing)s + 1))
       AND NOT EXISTS (
           SELECT FROM outage_cand e
            WHERE e.meter_id = g.meter_id AND e.source = 'events'
              AND e.started_at < g.next_ts + %(tolerance)s
              AND coalesce(e.ended_at, 'infinity') > g.started_at - %(tolerance)s)
"""

# Per transformer, interruptions in start order; a start more than the tolerance after the
# previous one opens a new group (island). Chained: a slow cascade of gasps stays one group.
TRANSFORMER_ISLANDS = """
    CREATE TEMP TABLE outage_tr AS
    SELECT c.*, sum(CASE WHEN c.prev IS NULL OR c.started_at - c.prev > %(tolerance)s
                         THEN 1 ELSE 0 END)
                OVER (PARTITION BY c.transformer_id ORDER BY c.started_at, c.id) AS island
      FROM (SELECT o.*, lag(o.started_at) OVER (
                       PARTITION BY o.transformer_id ORDER BY o.started_at, o.id) AS prev
              FROM outage_cand o WHERE o.source IN ('events', 'missing')) c
"""

# `{meters}`: (transformer_id, meters) for the transformers of `g`: its customers with a meter
# in service (METERED), or, in the bench, every customer as if metered.
METERED = """
        SELECT cu.transformer_id, count(DISTINCT cu.id) AS meters
          FROM network_customer cu
          JOIN metering_meter m ON m.customer_id = cu.id AND m.kind = 'customer'
                               AND m.removed_on IS NULL
         WHERE cu.transformer_id IN (SELECT transformer_id FROM g)
         GROUP BY cu.transformer_id
"""

# A group is a transformer event when it holds at least OUTAGES_TRANSFORMER_SHARE of the
# transformer's customer meters (and two of them, unless the transformer has one); a group of
# only inferred interruptions of fewer than OUTAGES_INFERRED_MIN_METERS meters is isolated;
# anything else is a fault at each service point.
TRANSFORMER_GROUPS = """
    CREATE TEMP TABLE outage_grp AS
    WITH g AS (
        SELECT transformer_id, island, min(feeder_id) AS feeder_id,
               count(DISTINCT customer_id) AS meters,
               count(DISTINCT customer_id) FILTER (WHERE source = 'events') AS event_meters,
               min(started_at) AS started_at,
               CASE WHEN bool_or(ended_at IS NULL) THEN NULL ELSE max(ended_at) END AS ended_at
          FROM outage_tr GROUP BY transformer_id, island
    ), tm AS ({meters})
    SELECT g.*, coalesce(tm.meters, 0) AS transformer_meters,
           CASE WHEN g.event_meters = 0 AND g.meters < %(min_meters)s THEN 'isolated'
                WHEN g.meters >= greatest(least(2, coalesce(tm.meters, 0)),
                                          %(share)s * coalesce(tm.meters, 0))
                     AND g.meters > 0 THEN 'transformer'
                ELSE 'customer' END AS kind,
           NULL::bigint AS event_id
      FROM g LEFT JOIN tm USING (transformer_id)
"""

# Transformer groups of one feeder whose starts chain within the tolerance: one feeder event
# when there are several transformers.
FEEDER_ISLANDS = """
    CREATE TEMP TABLE outage_fd AS
    SELECT g.transformer_id, g.island, g.feeder_id,
           sum(CASE WHEN g.prev IS NULL OR g.started_at - g.prev > %(tolerance)s
                    THEN 1 ELSE 0 END)
           OVER (PARTITION BY g.feeder_id ORDER BY g.started_at, g.transformer_id, g.island)
           AS fisland
      FROM (SELECT o.*, lag(o.started_at) OVER (
                       PARTITION BY o.feeder_id ORDER BY o.started_at, o.transformer_id, o.island
                   ) AS prev
              FROM outage_grp o WHERE o.kind = 'transformer') g
"""

EVENTS = """
    CREATE TEMP TABLE outage_ev AS
    SELECT nextval(pg_get_serial_sequence('outages_outageevent', 'id')) AS id, e.*
      FROM (SELECT f.feeder_id, f.fisland,
                   CASE WHEN count(*) > 1 THEN 'feeder' ELSE 'transformer' END AS kind,
                   CASE WHEN count(*) > 1 THEN NULL ELSE min(f.transformer_id) END
                       AS transformer_id,
                   min(g.started_at) AS started_at,
                   CASE WHEN bool_or(g.ended_at IS NULL) THEN NULL ELSE max(g.ended_at) END
                       AS ended_at
              FROM outage_fd f
              JOIN outage_grp g USING (transformer_id, island)
             GROUP BY f.feeder_id, f.fisland) e;
    UPDATE outage_grp g SET event_id = e.id
      FROM outage_fd f JOIN outage_ev e USING (feeder_id, fisland)
     WHERE f.transformer_id = g.transformer_id AND f.island = g.island;
    CREATE TEMP TABLE outage_cev AS
    SELECT nextval(pg_get_serial_sequence('outages_outageevent', 'id')) AS id, t.id AS cand_id,
           t.feeder_id, t.transformer_id, t.started_at, t.ended_at
      FROM outage_tr t JOIN outage_grp g USING (transformer_id, island)
     WHERE g.kind = 'customer';
    INSERT INTO outages_outageevent (id, month, kind, feeder_id, transformer_id, started_at,
                                     ended_at, transformers, customers, customer_minutes,
                                     reporting_meters, silent_customers, computed_at)
    SELECT id, %(month)s, kind, feeder_id, transformer_id, started_at, ended_at, 0, 0, 0, 0, 0,
           now()
      FROM outage_ev
     UNION ALL
    SELECT id, %(month)s, 'customer', feeder_id, transformer_id, started_at, ended_at,
           0, 0, 0, 0, 0, now()
      FROM outage_cev
"""

INTERRUPTIONS = (
    """
    INSERT INTO outages_interruption (month, event_id, meter_id, customer_id, transformer_id,
                                      feeder_id, started_at, ended_at, minutes, source, excluded)
    SELECT %(month)s, coalesce(cev.id, g.event_id), c.meter_id, c.customer_id,
           c.transformer_id, c.feeder_id, c.started_at, c.ended_at, """
    + MINUTES.format(start="c.started_at", end="c.ended_at")
    + """, c.source, ''
      FROM outage_cand c
      LEFT JOIN outage_tr t ON t.id = c.id
      LEFT JOIN outage_grp g ON g.transformer_id = t.transformer_id AND g.island = t.island
      LEFT JOIN outage_cev cev ON cev.cand_id = c.id;
    -- The customers of an affected transformer that sent nothing: off while their transformer
    -- was, from the group's first start to its last restore.
    INSERT INTO outages_interruption (month, event_id, meter_id, customer_id, transformer_id,
                                      feeder_id, started_at, ended_at, minutes, source, excluded)
    SELECT %(month)s, g.event_id,
           (SELECT min(m.id) FROM metering_meter m
             WHERE m.customer_id = cu.id AND m.kind = 'customer'),
           cu.id, cu.transformer_id, g.feeder_id, g.started_at, g.ended_at, """
    + MINUTES.format(start="g.started_at", end="g.ended_at")
    + """, 'network', ''
      FROM outage_grp g
      JOIN network_customer cu ON cu.transformer_id = g.transformer_id
     WHERE g.kind = 'transformer'
       AND NOT EXISTS (SELECT FROM outage_tr t
                        WHERE t.transformer_id = g.transformer_id AND t.island = g.island
                          AND t.customer_id = cu.id);
    -- The tables' statistics as they are now, this transaction's rows included: stale ones
    -- (an empty table) make the planner loop over every event for every event.
    ANALYZE outages_outageevent;
    ANALYZE outages_interruption;
    UPDATE outages_outageevent e
       SET customers = a.customers, customer_minutes = a.minutes, reporting_meters = a.reporting,
           silent_customers = a.silent, transformers = a.transformers
      FROM (SELECT event_id, count(DISTINCT customer_id) AS customers, sum(minutes) AS minutes,
                   count(DISTINCT meter_id) FILTER (WHERE source <> 'network') AS reporting,
                   count(DISTINCT customer_id) FILTER (WHERE source = 'network') AS silent,
                   count(DISTINCT transformer_id) AS transformers
              FROM outages_interruption
             WHERE month = %(month)s AND event_id IS NOT NULL
             GROUP BY event_id) a
     WHERE a.event_id = e.id
"""
)

# Why an interruption does not count ('' when it does), in this order.
EXCLUDED = """CASE
           WHEN i.source = 'restore_only' THEN 'no_start'
           WHEN i.event_id IS NULL THEN 'isolated'
           WHEN {planned} THEN 'planned'
           WHEN i.minutes <= %(min_minutes)s THEN 'short'
           ELSE '' END"""

# A planned outage covers the events of its feeder (or of its transformer) that started from
# a tolerance before its scheduled start to its scheduled end.
PLANS = (
    """
    UPDATE outages_outageevent e
       SET planned_id = (
           SELECT p.id FROM outages_plannedoutage p
            WHERE p.feeder_id = e.feeder_id
              AND (p.transformer_id IS NULL OR p.transformer_id = e.transformer_id)
              AND e.started_at >= p.starts_at - %(tolerance)s AND e.started_at <= p.ends_at
            ORDER BY p.starts_at, p.id LIMIT 1)
     WHERE e.month = %(month)s;
    UPDATE outages_interruption i SET excluded = x.excluded
      FROM (SELECT i.id, """
    + EXCLUDED.format(planned="e.planned_id IS NOT NULL")
    + """ AS excluded
              FROM outages_interruption i
              LEFT JOIN outages_outageevent e ON e.id = i.event_id
             WHERE i.month = %(month)s) x
     -- Only the rows whose exclusion changes: most stay as the rebuild wrote them.
     WHERE x.id = i.id AND i.excluded <> x.excluded
"""
)

# SAIFI = customer interruptions / customers served; SAIDI = customer minutes of interruption
# / customers served; over the interruptions that count, per feeder (the customer's
# transformer's), comuna (the customer's) and distributor, in one pass over the customers.
INDICES = """
    DELETE FROM outages_reliabilityindex WHERE month = %(month)s;
    WITH hit AS (
        SELECT customer_id, count(*) AS n, sum(minutes) AS minutes,
               count(*) FILTER (WHERE ended_at IS NULL) AS open
          FROM outages_interruption
         WHERE month = %(month)s AND excluded = ''
         GROUP BY customer_id
    )
    INSERT INTO outages_reliabilityindex (month, level, feeder_id, comuna_id, distributor_id,
                                          customers_served, customer_interruptions,
                                          customer_minutes, open_interruptions, saifi, saidi,
                                          computed_at)
    SELECT %(month)s,
           CASE WHEN GROUPING(t.feeder_id) = 0 THEN 'feeder'
                WHEN GROUPING(cu.comuna_id) = 0 THEN 'comuna' ELSE 'distributor' END,
           t.feeder_id, cu.comuna_id, cu.distributor_id, count(*),
           coalesce(sum(h.n), 0), coalesce(sum(h.minutes), 0), coalesce(sum(h.open), 0),
           coalesce(sum(h.n), 0)::float8 / count(*), coalesce(sum(h.minutes), 0) / count(*),
           now()
      FROM network_customer cu
      JOIN network_transformer t ON t.id = cu.transformer_id
      LEFT JOIN hit h ON h.customer_id = cu.id
     GROUP BY GROUPING SETS ((cu.distributor_id, t.feeder_id), (cu.distributor_id, cu.comuna_id),
                             (cu.distributor_id))
"""


@dataclass
class RebuildResult:
    month: date
    interruptions: int = 0
    events: dict[str, int] = field(default_factory=dict)
    open: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    indices: int = 0

    def summary(self) -> str:
        events = ", ".join(f"{k}: {v}" for k, v in sorted(self.events.items())) or "ninguno"
        excluded = ", ".join(f"{k}: {v}" for k, v in sorted(self.excluded.items())) or "ninguna"
        return (
            f"{self.month:%Y-%m}: {self.interruptions} interrupciones ({self.open} abiertas), "
            f"eventos: {events}; excluidas: {excluded}; {self.indices} índices"
        )


def params(month: date, now: datetime | None = None) -> dict:
    zone = ZoneInfo(settings.TIME_ZONE)
    after = next_month(month)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end = datetime(after.year, after.month, 1, tzinfo=zone)
    now = now or timezone.now()
    return {
        "month": month,
        "start": start,
        "end": end,
        "lookback": start - EVENT_WINDOW,
        "horizon": end + EVENT_WINDOW,
        # An interruption still open counts up to the end of the month, or to now within it.
        "cutoff": max(start, min(now, end)),
        "tolerance": timedelta(minutes=settings.OUTAGES_GROUP_TOLERANCE_MINUTES),
        "min_minutes": settings.OUTAGES_MIN_MINUTES,
        "missing": settings.OUTAGES_MISSING_INTERVALS,
        "min_meters": settings.OUTAGES_INFERRED_MIN_METERS,
        "share": settings.OUTAGES_TRANSFORMER_SHARE,
        "a_plus": A_PLUS,
    }


def run(cur, sql: str, p: dict) -> int:
    """Each statement of `sql` in turn; the rows the last one touched."""
    for statement in re.split(r";\s*\n", sql):
        if statement.strip():
            cur.execute(statement, p)
    return cur.rowcount


def drop_temp_tables(cur) -> None:
    cur.execute("DROP TABLE IF EXISTS " + ", ".join(TEMP_TABLES))


def collect(cur, p: dict) -> None:
    cur.execute(CANDIDATES)
    cur.execute(FROM_EVENTS, p)
    cur.execute("CREATE INDEX ON outage_cand (meter_id)")
    cur.execute(FROM_GAPS, p)
    cur.execute("ANALYZE outage_cand")


def group(cur, p: dict, meters: str = METERED) -> None:
    """Events and interruptions of the month from `outage_cand` (filled by `collect`, or by
    the bench with synthetic interruptions)."""
    cur.execute(TRANSFORMER_ISLANDS, p)
    cur.execute(TRANSFORMER_GROUPS.replace("{meters}", meters), p)
    cur.execute(FEEDER_ISLANDS, p)
    run(cur, EVENTS, p)
    # Autovacuum never analyzes temporary tables: without statistics the joins below guess.
    cur.execute("ANALYZE outage_tr, outage_grp, outage_cev")
    run(cur, INTERRUPTIONS, p)


def apply_plans(cur, p: dict) -> None:
    run(cur, PLANS, p)


def indices(cur, p: dict) -> int:
    return run(cur, INDICES, p)


def delete_month(cur, month: date) -> None:
    cur.execute("DELETE FROM outages_reliabilityindex WHERE month = %s", [month])
    cur.execute("DELETE FROM outages_interruption WHERE month = %s", [month])
    cur.execute("DELETE FROM outages_outageevent WHERE month = %s", [month])


def rebuild_month(month: date, now: datetime | None = None) -> RebuildResult:
    """Replace the month's interruptions, events and indices, from the meters' events and
    readings and the planned outages as they are now."""
    p = params(month, now)
    with transaction.atomic(), connection.cursor() as cur:
        # One rebuild of a month at a time: a second one waits instead of interleaving.
        cur.execute("SELECT pg_advisory_xact_lock(1366, %s)", [month.year * 100 + month.month])
        delete_month(cur, month)
        drop_temp_tables(cur)
        collect(cur, p)
        group(cur, p)
        apply_plans(cur, p)
        written = indices(cur, p)
        drop_temp_tables(cur)
        return _result(cur, month, written)


def replan(month: date) -> RebuildResult:
    """The planned marks, exclusions and indices of a month again (after a planned outage was
    entered, changed or removed), leaving its interruptions and events as they are."""
    p = params(month)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT pg_advisory_xact_lock(1366, %s)", [month.year * 100 + month.month])
        apply_plans(cur, p)
        written = indices(cur, p)
        return _result(cur, month, written)


def _result(cur, month: date, written: int) -> RebuildResult:
    result = RebuildResult(month=month, indices=written)
    cur.execute(
        "SELECT count(*), count(*) FILTER (WHERE ended_at IS NULL AND source <> 'restore_only')"
        " FROM outages_interruption WHERE month = %s",
        [month],
    )
    result.interruptions, result.open = cur.fetchone()
    cur.execute(
        "SELECT kind, count(*) FROM outages_outageevent WHERE month = %s GROUP BY kind", [month]
    )
    result.events = dict(cur.fetchall())
    cur.execute(
        "SELECT excluded, count(*) FROM outages_interruption WHERE month = %s AND excluded <> ''"
        " GROUP BY excluded",
        [month],
    )
    result.excluded = dict(cur.fetchall())
    return result
