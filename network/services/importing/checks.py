"""The validation report: checks over everything the distributor has stored, in SQL.

They run after the writes, inside the import's transaction, over all of the distributor's rows
(not only the changed ones), so the report always describes the network as it now stands.
Findings are warnings: the rows are stored, and a planner decides what to fix.
"""

from __future__ import annotations

from django.db import connection

from .mapping import Tolerances
from .report import WARNING, Problem


def _rows(sql: str, params: dict) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def run_checks(distributor_id: int, tolerances: Tolerances) -> list[Problem]:
    params = {
        "d": distributor_id,
        "length": tolerances.length,
        "length_abs": tolerances.length_abs_m,
        "node": tolerances.node_m,
        "off": tolerances.off_feeder_m,
    }
    problems: list[Problem] = []

    def add(entity: str, check: str, code: str, reason: str, outcome: str) -> None:
        problems.append(Problem(entity, check, reason, outcome, WARNING, code=code))

    # Stored length against the geometry's true length: beyond both tolerances, so that the
    # centimetre a 0.12 m span is stored to is no finding.
    for code, stored, measured in _rows(
        """
        SELECT code, length_m, ST_Length(geom::geography) FROM network_span
         WHERE distributor_id = %(d)s
           AND abs(length_m - ST_Length(geom::geography)) > %(length)s * length_m
           AND abs(length_m - ST_Length(geom::geography)) > %(length_abs)s
         ORDER BY code
        """,
        params,
    ):
        diff = (measured - float(stored)) / float(stored)
        add(
            "spans",
            "longitud",
            code,
            f"longitud guardada {stored} m, la del trazado es {measured:.2f} m ({diff:+.0%})",
            "se guarda la del archivo; revise la longitud o el trazado",
        )

    # Dangling spans: a trace that does not reach its nodes, or that ends at a pole from which
    # nothing continues and nothing hangs.
    for code, start_gap, end_gap, origin in _rows(
        """
        SELECT s.code,
               ST_Distance(ST_StartPoint(s.geom)::geography,
                           COALESCE(fp.location, sub.location)::geography),
               ST_Distance(ST_EndPoint(s.geom)::geography, tp.location::geography),
               COALESCE(fp.plate, 'subestación ' || sub.code)
          FROM network_span s
          JOIN network_pole tp ON tp.id = s.to_pole_id
          LEFT JOIN network_pole fp ON fp.id = s.from_pole_id
          JOIN network_feeder f ON f.id = s.feeder_id
          JOIN network_substation sub ON sub.id = f.substation_id
         WHERE s.distributor_id = %(d)s
        """,
        params,
    ):
        for gap, node, side in ((start_gap, origin, "inicio"), (end_gap, None, "final")):
            if gap > tolerances.node_m:
                where = f"su nodo origen ({node})" if node else "su nodo destino"
                add(
                    "spans",
                    "vano_colgante",
                    code,
                    f"el {side} del trazado queda a {gap:.0f} m de {where}",
                    "importado; el trazado no toca el nodo",
                )
    for plate, span in _rows(
        """
        WITH ends AS (
            SELECT p.id, p.plate,
                   (SELECT count(*) FROM network_span s
                     WHERE s.from_pole_id = p.id OR s.to_pole_id = p.id) AS spans,
                   (SELECT min(s.code) FROM network_span s
                     WHERE s.from_pole_id = p.id OR s.to_pole_id = p.id) AS span
              FROM network_pole p WHERE p.distributor_id = %(d)s
        )
        SELECT e.plate, e.span FROM ends e
         WHERE e.spans <= 1
           AND NOT EXISTS (SELECT 1 FROM network_transformer t WHERE t.pole_id = e.id)
         ORDER BY e.plate
        """,
        params,
    ):
        if span is None:
            add("poles", "vano_colgante", plate, "poste sin vanos", "importado; quedó aislado")
        else:
            add(
                "spans",
                "vano_colgante",
                span,
                f"termina en el poste {plate}, del que no sigue ningún vano ni cuelga ningún "
                "transformador",
                "importado; revise si falta un tramo",
            )

    # Transformers and equipment off their feeder: on a pole of another feeder, or far from
    # every span of their own.
    for entity, table in (
        ("transformers", "network_transformer"),
        ("equipment", "network_equipment"),
    ):
        for code, pole_feeder, own, distance in _rows(
            f"""
            SELECT x.code, pf.code, f.code, near.d
              FROM {table} x
              JOIN network_feeder f ON f.id = x.feeder_id
              LEFT JOIN network_pole p ON p.id = x.pole_id
              LEFT JOIN network_feeder pf ON pf.id = p.feeder_id
              LEFT JOIN LATERAL (
                  SELECT ST_Distance(s.geom::geography, x.location::geography) AS d
                    FROM network_span s WHERE s.feeder_id = x.feeder_id
                   ORDER BY s.geom <-> x.location LIMIT 1
              ) near ON true
             WHERE x.distributor_id = %(d)s
               AND (p.feeder_id <> x.feeder_id OR near.d IS NULL OR near.d > %(off)s)
             ORDER BY x.code
            """,
            params,
        ):
            if pole_feeder is not None and pole_feeder != own:
                reason = f"su poste es del alimentador {pole_feeder}, no del suyo ({own})"
            elif distance is None:
                reason = f"su alimentador {own} no tiene vanos"
            else:
                reason = f"está a {distance:.0f} m del vano más cercano de su alimentador {own}"
            add(entity, "fuera_de_alimentador", code, reason, "importado")

    for code, plate, distance in _rows(
        """
        SELECT t.code, p.plate, ST_Distance(t.location::geography, p.location::geography)
          FROM network_transformer t JOIN network_pole p ON p.id = t.pole_id
         WHERE t.distributor_id = %(d)s
           AND ST_Distance(t.location::geography, p.location::geography) > %(off)s
         ORDER BY t.code
        """,
        params,
    ):
        add(
            "transformers",
            "fuera_de_alimentador",
            code,
            f"está a {distance:.0f} m de su poste {plate}",
            "importado",
        )

    # Geometries: GEOS already refused invalid ones on the way in; PostGIS has the last word.
    for entity, table, column, key in (
        ("spans", "network_span", "geom", "code"),
        ("poles", "network_pole", "location", "plate"),
        ("equipment", "network_equipment", "location", "code"),
        ("transformers", "network_transformer", "location", "code"),
    ):
        for code, reason in _rows(
            f"""
            SELECT {key}, ST_IsValidReason({column}) FROM {table}
             WHERE distributor_id = %(d)s AND NOT ST_IsValid({column}) ORDER BY {key}
            """,
            params,
        ):
            add(entity, "geometria", code, f"geometría inválida ({reason})", "importado")
    for (code,) in _rows(
        "SELECT code FROM network_span WHERE distributor_id = %(d)s AND NOT ST_IsSimple(geom) "
        "ORDER BY code",
        params,
    ):
        add("spans", "geometria", code, "el trazado se cruza a sí mismo", "importado")
    return problems
