"""The engine's input read from the database: each substation's feeders as one forest.

A pole is fed by the span of its own feeder that ends at it (the lowest id if a loop gives it
two); a span that ends at a pole of another feeder is a tie at a normally-open point and
carries nothing. A subfeeder hangs from the pole of its purchase node, so the feeders of one
substation are computed together. Everything one substation needs comes in a handful of
queries, whatever the number of poles.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
from django.db import connection

from capacity.lib.engine import Forest, Sources
from capacity.lib.radial import orient, path_sum
from capacity.models import ConnectionRequest
from core.months import add_months, month_start, today

MISSING_LISTED = 20  # items of each kind named in a feeder's list of missing data


@dataclass
class SubstationInput:
    substation_id: int
    code: str
    forest: Forest | None
    pole_ids: np.ndarray
    plates: list[str]
    span_codes: list[str]
    feeder_of: np.ndarray  # feeder id per node
    feeders: list[int]
    generation_mw: np.ndarray  # connected + queued, per node
    connected_mw: dict[int, float]  # per feeder
    queued_mw: dict[int, float]
    transformer_mva: float
    transformer_codes: str
    load_kw: dict[int, float]  # per feeder, minimum demand
    missing: dict[int, list[str]] = field(default_factory=dict)  # per feeder

    def node_missing(self) -> np.ndarray:
        return np.isin(self.feeder_of, [f for f, items in self.missing.items() if items])


_POLES = """
SELECT p.id, p.plate, p.feeder_id, f.substation_id, f.nominal_voltage_kv
  FROM network_pole p
  JOIN network_feeder f ON f.id = p.feeder_id
 WHERE f.substation_id = ANY(%s)
 ORDER BY f.substation_id, p.id
"""

_SPANS = """
SELECT f.substation_id, s.id, s.code, s.feeder_id, s.from_pole_id, s.to_pole_id, s.length_m,
       s.capacity_a, ct.r20_ohm_km, ct.r_op_ohm_km, ct.x_ohm_km, ct.r0_ohm_km, ct.x0_ohm_km
  FROM network_span s
  JOIN network_feeder f ON f.id = s.feeder_id
  LEFT JOIN network_conductortype ct ON ct.id = s.conductor_type_id
 WHERE f.substation_id = ANY(%s)
 ORDER BY s.id
"""

# Spans that a normally-open equipment opens (at its pole, one of the span's ends).
_CUTS = """
SELECT DISTINCT e.span_id
  FROM network_equipment e
  JOIN network_feeder f ON f.id = e.feeder_id
 WHERE f.substation_id = ANY(%s) AND e.span_id IS NOT NULL
   AND e.operating_mode ILIKE 'normalmente abierto%%'
"""


def _fetch(sql: str, params) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()


def load(substation_ids: list[int], *, power_factor: float = 0.95) -> list[SubstationInput]:
    ids = sorted(set(substation_ids))
    subs = {
        row[0]: row
        for row in _fetch(
            "SELECT id, code, scc_max_mva, scc_min_mva, scc_rx, scc_x0x1, scc_r0x0 "
            "FROM network_substation WHERE id = ANY(%s)",
            [ids],
        )
    }
    feeders = defaultdict(list)
    purchase = {}  # subfeeder -> the pole of its parent feeder it hangs from
    for fid, sid, node in _fetch(
        "SELECT id, substation_id, purchase_node_id FROM network_feeder "
        "WHERE substation_id = ANY(%s) ORDER BY id",
        [ids],
    ):
        feeders[sid].append(fid)
        if node is not None:
            purchase[fid] = node
    power = defaultdict(list)
    for sid, code, mva in _fetch(
        "SELECT substation_id, code, capacity_mva FROM network_powertransformer "
        "WHERE substation_id = ANY(%s) ORDER BY code",
        [ids],
    ):
        power[sid].append((code, float(mva)))
    since = add_months(month_start(today()), -12)
    min_load = dict(
        _fetch(
            "SELECT d.feeder_id, MIN(d.min_kw) FROM demand_monthlydemand d "
            "JOIN network_feeder f ON f.id = d.feeder_id "
            "WHERE f.substation_id = ANY(%s) AND d.month >= %s GROUP BY d.feeder_id",
            [ids, since],
        )
    )
    transformers = defaultdict(list)  # feeder -> (pole, kva, vk, code)
    for fid, pole, kva, vk, code in _fetch(
        "SELECT t.feeder_id, t.pole_id, t.capacity_kva, t.vk_percent, t.code "
        "FROM network_transformer t JOIN network_feeder f ON f.id = t.feeder_id "
        "WHERE f.substation_id = ANY(%s) ORDER BY t.code",
        [ids],
    ):
        transformers[fid].append((pole, float(kva), vk, code))
    eg = defaultdict(float)  # pole -> MW
    for pole, kw in _fetch(
        "SELECT t.pole_id, SUM(c.eg_capacity_kw) FROM network_customer c "
        "JOIN network_transformer t ON t.id = c.transformer_id "
        "JOIN network_feeder f ON f.id = t.feeder_id "
        "WHERE c.is_eg AND f.substation_id = ANY(%s) GROUP BY t.pole_id",
        [ids],
    ):
        eg[pole] += float(kw) / 1000
    queue = defaultdict(lambda: [0.0, 0.0])  # pole -> [connected, queued] MW
    for pole, state, mw in _fetch(
        "SELECT r.pole_id, r.state, SUM(r.mw) FROM capacity_connectionrequest r "
        "JOIN network_feeder f ON f.id = r.feeder_id "
        "WHERE f.substation_id = ANY(%s) AND r.state = ANY(%s) GROUP BY r.pole_id, r.state",
        [ids, [ConnectionRequest.State.CONNECTED, *ConnectionRequest.QUEUED]],
    ):
        queue[pole][0 if state == ConnectionRequest.State.CONNECTED else 1] += float(mw)

    rows = defaultdict(list)
    for row in _fetch(_POLES, [ids]):
        rows[row[3]].append(row)
    spans = defaultdict(list)
    for row in _fetch(_SPANS, [ids]):
        spans[row[0]].append(row[1:])
    cuts = {row[0] for row in _fetch(_CUTS, [ids])}

    tan = float(np.tan(np.arccos(power_factor)))
    out = []
    for sid in ids:
        if sid not in subs:
            continue
        out.append(
            _substation(
                subs[sid], feeders[sid], rows[sid], spans[sid], cuts, purchase, power[sid],
                min_load, transformers, eg, queue, tan,
            )
        )  # fmt: skip
    return out


def _listed(items: list[str], what: str) -> list[str]:
    shown = items[:MISSING_LISTED]
    lines = [f"{what}: {', '.join(shown)}"]
    if len(items) > MISSING_LISTED:
        lines[0] += f" y {len(items) - MISSING_LISTED} más"
    return lines


def _tree(n, index, feeder_of, spans, cuts, purchase):
    """Each pole's feeding span, by a walk from the spans that leave the busbar.

    A span feeds a pole of its own feeder, from a pole of that feeder or from the pole its
    (sub)feeder hangs from; a span that a normally-open equipment opens carries nothing. So
    ties to other feeders and loops opened by a switch are not walked. Returns parent and the
    feeding span's position in `spans` per node (-2 / -1 when no walk reaches it) and the
    spans that close a loop: both ends energised, no open equipment on them.
    """
    roots, root_edges, src, dst, edge = [], [], [], [], []
    for k, (span_id, _code, fid, a, b, *_rest) in enumerate(spans):
        if span_id in cuts:
            continue
        ia, ib = index.get(a), index.get(b)
        if a is None:
            if ib is not None and feeder_of[ib] == fid:
                roots.append(ib)
                root_edges.append(k)
            continue
        if ia is None or ib is None:
            continue
        for u, v, pole_u in ((ia, ib, a), (ib, ia, b)):
            if feeder_of[v] == fid and (feeder_of[u] == fid or purchase.get(fid) == pole_u):
                src.append(u)
                dst.append(v)
                edge.append(k)
    src_a, dst_a, edge_a = (np.array(v, dtype=np.int64) for v in (src, dst, edge))
    parent, fed_by = orient(
        n, np.array(roots, dtype=np.int64), np.array(root_edges, dtype=np.int64), src_a, dst_a,
        edge_a,
    )  # fmt: skip
    energised = (parent[src_a] != -2) & (parent[dst_a] != -2)
    unused = ~np.isin(edge_a, fed_by[fed_by >= 0])
    loops = np.unique(edge_a[energised & unused]).tolist()
    return parent, fed_by, loops


def _substation(
    sub, feeder_ids, rows, spans, cuts, purchase, power, min_load, transformers, eg, queue, tan
):
    sid, code, scc_max, scc_min, rx, x0x1, r0x0 = sub
    n = len(rows)
    pole_ids = np.array([r[0] for r in rows], dtype=np.int64)
    index = {pid: i for i, pid in enumerate(pole_ids.tolist())}
    plates = [r[1] for r in rows]
    feeder_of = np.array([r[2] for r in rows], dtype=np.int64)
    un = np.array([float(r[4]) for r in rows])
    missing: dict[int, list[str]] = {f: [] for f in feeder_ids}

    common = []
    if scc_max is None or scc_min is None:
        common.append(
            f"subestación {code}: sin potencia de cortocircuito aguas arriba máxima y mínima"
        )
    if not power:
        common.append(f"subestación {code}: sin transformadores AT/MT registrados")
    for f in feeder_ids:
        missing[f].extend(common)

    parent, fed_by, loops = _tree(n, index, feeder_of.tolist(), spans, cuts, purchase)
    span_codes = [spans[k][1] if k >= 0 else "" for k in fed_by.tolist()]
    no_path: dict[int, list[str]] = defaultdict(list)
    no_type: dict[int, list[str]] = defaultdict(list)
    closed: dict[int, list[str]] = defaultdict(list)
    arrays = {k: np.zeros(n) for k in ("length", "amp", "r20", "rop", "x", "r0", "x0")}
    for i, k in enumerate(fed_by.tolist()):
        if k < 0:
            no_path[int(feeder_of[i])].append(plates[i])
            continue
        _id, span, _fid, _a, _b, length, amps, r20, rop, x, r0, x0 = spans[k]
        if r20 is None:
            no_type[int(feeder_of[i])].append(span)
            continue
        arrays["length"][i] = float(length) / 1000
        arrays["amp"][i] = float(amps)
        for key, value in (("r20", r20), ("rop", rop), ("x", x), ("r0", r0), ("x0", x0)):
            arrays[key][i] = float(value)
    for k in loops:
        closed[spans[k][2]].append(spans[k][1])
    for fid, items in no_type.items():
        missing[fid].extend(_listed(items, "vanos sin tipo de conductor"))
    for fid, items in no_path.items():
        missing[fid].extend(
            _listed(items, "postes sin vano de su alimentador que los una a la subestación")
        )
    for fid, items in closed.items():
        missing[fid].extend(
            _listed(items, "lazos cerrados (ningún equipo normalmente abierto los corta)")
        )
    for fid in feeder_ids:
        lacking = [t[3] for t in transformers.get(fid, ()) if t[2] is None]
        if lacking:
            missing[fid].extend(_listed(lacking, "transformadores sin tensión de cortocircuito vk"))

    # Minimum load at the transformers' poles, in proportion to their rating.
    load_kw = np.zeros(n)
    for fid in feeder_ids:
        trs = [t for t in transformers.get(fid, ()) if t[0] in index]
        total = sum(t[1] for t in trs)
        demand = float(min_load.get(fid) or 0)
        for pole, kva, _vk, _code in trs:
            load_kw[index[pole]] += demand * kva / total if total else 0.0
    generation = np.zeros(n)
    connected = defaultdict(float)
    queued = defaultdict(float)
    for pid, i in index.items():
        c = eg.get(pid, 0.0) + queue[pid][0] if pid in queue else eg.get(pid, 0.0)
        q = queue[pid][1] if pid in queue else 0.0
        generation[i] = c + q
        connected[int(feeder_of[i])] += c
        queued[int(feeder_of[i])] += q

    # A pole no walk reaches is left out: a root of its own, with no data, not stored.
    parent[parent == -2] = -1
    ones = np.ones(n)
    forest = Forest(
        parent=parent,
        length_km=arrays["length"], r20=arrays["r20"], r_op=arrays["rop"], x=arrays["x"],
        r0=arrays["r0"], x0=arrays["x0"], ampacity_a=arrays["amp"],
        load_kw=load_kw, load_kvar=load_kw * tan,
        sources=Sources(
            un_kv=un,
            scc_max_mva=ones * float(scc_max or 1), scc_min_mva=ones * float(scc_min or 1),
            rx=ones * float(rx), x0x1=ones * float(x0x1), r0x0=ones * float(r0x0),
        ),
    )  # fmt: skip
    forest.prepare()
    inherits = _upstream_missing(forest, feeder_of, missing, plates)
    for fid, text in inherits.items():
        missing[fid].append(text)
    return SubstationInput(
        substation_id=sid, code=code, forest=forest, pole_ids=pole_ids, plates=plates,
        span_codes=span_codes, feeder_of=feeder_of, feeders=list(feeder_ids),
        generation_mw=generation, connected_mw=dict(connected), queued_mw=dict(queued),
        transformer_mva=sum(mva for _, mva in power),
        transformer_codes=" + ".join(c for c, _ in power)[:80], load_kw={
            f: float(min_load.get(f) or 0) for f in feeder_ids
        }, missing=missing,
    )  # fmt: skip


def _upstream_missing(forest, feeder_of, missing, plates) -> dict[int, str]:
    """A subfeeder whose parent feeder lacks data cannot be computed either."""
    lacking = np.isin(feeder_of, [f for f, items in missing.items() if items]).astype(float)
    # Each node: does any ancestor belong to a feeder without data?
    through = path_sum(lacking, forest.o) - lacking
    out = {}
    for fid in set(feeder_of[through > 0].tolist()):
        if not missing.get(fid):
            out[fid] = "aguas arriba: su alimentador de origen no tiene datos suficientes"
    return out
