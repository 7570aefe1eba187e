"""The lists of BUSCAR UBICACIÓN in one statement.

The location search shows five lists (región, comuna, subestación, alimentador,
transformador), each filtered by the values chosen above it, and the grid of the deepest level
chosen is the list of the level below it. Read one by one, through the ORM, that was 9-10 queries
and most of a grid's time (the SQL itself is a fraction of a millisecond); here it is one
UNION ALL whose rows come back already in each list's order, and the chosen values are checked
against the lists themselves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from django.db import connection

from geo.models import Comuna, Region
from network.models import Feeder, Substation, Transformer

# A primary key as typed in the query string: digits only, within bigint.
_ID = re.compile(r"^[0-9]{1,18}$")
# The substation grid names the first transformers of each feeder, then how many there are.
FEEDER_TRANSFORMERS_SHOWN = 12

_SQL = f"""
SELECT 0 AS level, r.id, r.code, r.name, NULL::date AS as_of, NULL::text AS kind,
       NULL::int AS transformers, NULL::json AS first, r.code AS sort1, '' AS sort2
  FROM {Region._meta.db_table} r
UNION ALL
SELECT 1, c.id, c.code, c.name, NULL, NULL, NULL, NULL, c.code, ''
  FROM {Comuna._meta.db_table} c JOIN {Region._meta.db_table} r ON r.id = c.region_id
 WHERE r.code = %(region)s
UNION ALL
SELECT 2, s.id, s.code, s.name, s.as_of, NULL, NULL, NULL, s.name, s.code
  FROM {Substation._meta.db_table} s
  JOIN {Comuna._meta.db_table} c ON c.id = s.comuna_id
  JOIN {Region._meta.db_table} r ON r.id = c.region_id
 WHERE c.code = %(comuna)s AND r.code = %(region)s
UNION ALL
SELECT 3, f.id, f.code, f.name, f.as_of, f.kind, t.n, t.first, f.name, f.code
  FROM {Feeder._meta.db_table} f
  JOIN {Substation._meta.db_table} s ON s.id = f.substation_id
  JOIN {Comuna._meta.db_table} c ON c.id = s.comuna_id
  LEFT JOIN LATERAL (
       SELECT count(*)::int AS n,
              json_agg(json_build_array(x.id, x.code) ORDER BY x.code)
                FILTER (WHERE x.rank <= {FEEDER_TRANSFORMERS_SHOWN}) AS first
         FROM (SELECT id, code, row_number() OVER (ORDER BY code) AS rank
                 FROM {Transformer._meta.db_table} WHERE feeder_id = f.id) x) t ON %(grid)s
 WHERE f.substation_id = %(substation)s AND c.code = %(comuna)s
UNION ALL
SELECT 4, t.id, t.code, t.name, t.as_of, NULL, NULL, NULL, t.code, ''
  FROM {Transformer._meta.db_table} t
  JOIN {Feeder._meta.db_table} f ON f.id = t.feeder_id
 WHERE t.feeder_id = %(feeder)s AND f.substation_id = %(substation)s
 ORDER BY level, sort1, sort2, id
"""


@dataclass(slots=True)
class Choice:
    """One entry of a list: what the list and the grid show. Plain and light (a model
    instance costs ~80 µs to build: a feeder grid lists a hundred transformers); the chosen
    ones become instances (`instance()`), for the pages and queries that take them."""

    model: type
    pk: int
    code: str
    name: str
    as_of: date | None = None
    kind: str | None = None
    parent_id: int | None = None
    transformer_count: int = 0
    first_transformers: list[tuple[int, str]] = field(default_factory=list)

    def instance(self):
        fields = {"pk": self.pk, "code": self.code, "name": self.name}
        if self.as_of is not None:
            fields["as_of"] = self.as_of
        if self.model is Feeder:
            fields.update(kind=self.kind, substation_id=self.parent_id)
        elif self.model is Transformer:
            fields["feeder_id"] = self.parent_id
        return self.model(**fields)


@dataclass
class Cascade:
    """Each level's choices, in the order its list shows them."""

    regions: list[Choice] = field(default_factory=list)
    comunas: list[Choice] = field(default_factory=list)
    substations: list[Choice] = field(default_factory=list)
    feeders: list[Choice] = field(default_factory=list)
    transformers: list[Choice] = field(default_factory=list)


def _id(value: str) -> int | None:
    return int(value) if _ID.match(value) else None


def load_cascade(region: str, comuna: str, substation: str, feeder: str) -> Cascade:
    """The five lists under the values typed (strings as they come from the query string;
    a malformed one just leaves the lists below it empty). Feeders carry `transformer_count`
    and `first_transformers` (id and code of the first ones by code) when no feeder is
    chosen: the substation's grid shows them."""
    substation_id, feeder_id = _id(substation), _id(feeder)
    params = {
        "region": region[:2],
        "comuna": comuna[:5],
        "substation": substation_id,
        "feeder": feeder_id,
        "grid": feeder_id is None,
    }
    cascade = Cascade()
    lists = (
        (Region, cascade.regions, None),
        (Comuna, cascade.comunas, None),
        (Substation, cascade.substations, None),
        (Feeder, cascade.feeders, substation_id),
        (Transformer, cascade.transformers, feeder_id),
    )
    with connection.cursor() as cur:
        cur.execute(_SQL, params)
        rows = cur.fetchall()
    for level, pk, code, name, as_of, kind, count, first, *_ in rows:
        model, items, parent = lists[level]
        items.append(Choice(model, pk, code, name, as_of, kind, parent, count or 0, first or []))
    return cascade
