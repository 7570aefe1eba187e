"""pandapower as the test oracle: the same feeders as pandapower networks.

`raw_oberrhein()` reads the real mv_oberrhein export (meshed, with its six normally-open line
switches) straight into pandapower, independently of our importer and of our tree building.
`net_from_forest()` turns one of our forests into a pandapower network, for the synthetic
feeders.
"""

from __future__ import annotations

import json
import warnings
from collections import defaultdict, deque
from pathlib import Path

import numpy as np

from capacity.lib.engine import Forest, Sources

warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=DeprecationWarning)

import pandapower as pp  # noqa: E402
import pandapower.shortcircuit as sc  # noqa: E402

OBERRHEIN = Path(__file__).resolve().parents[3] / "shared/data/networks/mv_oberrhein"
ALPHA = 0.004  # IEC 60909's temperature coefficient, which pandapower's min case uses


def _features(name: str) -> list[dict]:
    path = OBERRHEIN / f"mv_oberrhein_substations_{name}.geojson"
    return [f["properties"] for f in json.loads(path.read_text())["features"]]


def raw_oberrhein(
    scc_max=223.2, scc_min=180.0, rx=0.1, x0x1=1.0, r0x0=0.1, operating_temp=80.0,
    zero_factor=3.0, load_kw=None, for_load_flow=False, conductors=None, vm_pu=1.0,
):  # fmt: skip
    """The export's 20 kV part: one external grid at each HV/MV transformer's MV busbar with
    the given short-circuit data; lines with the export's R, X and ampacity (zero sequence
    `zero_factor` times the positive one); the line switches as in the export. Loads: `load_kw`
    maps a bus id to its minimum load (kW, cos φ 0.95). For a load flow the lines' R is the one
    at `operating_temp` and capacitances are left out, as the engine does.

    `conductors` maps a std_type to catalogue data (r20_ohm_km, r_op_ohm_km, r0_ohm_km,
    x0_ohm_km): then R₀, X₀ and the temperature are the catalogue's (the end temperature is
    the one at which IEC 60909's α = 0.004 gives the catalogue's R at operating temperature)."""
    net = pp.create_empty_network(sn_mva=1.0)
    buses = {}
    for b in _features("buses"):
        if b["vn_kv"] == 20.0:
            buses[b["bus_id"]] = pp.create_bus(net, vn_kv=20.0, name=f"B{b['bus_id']}")
    for t in _features("trafos"):
        if t["vn_lv_kv"] == 20.0:
            pp.create_ext_grid(
                net, buses[t["lv_bus"]], vm_pu=vm_pu, s_sc_max_mva=scc_max, s_sc_min_mva=scc_min,
                rx_max=rx, rx_min=rx, x0x_max=x0x1, x0x_min=x0x1, r0x0_max=r0x0, r0x0_min=r0x0,
            )  # fmt: skip
    lines = {}
    for ln in _features("lines"):
        r20 = ln["r_ohm_per_km"]
        if conductors:
            c = conductors[ln["std_type"]]
            warm = float(c["r_op_ohm_km"]) / float(c["r20_ohm_km"])
            r0, x0 = float(c["r0_ohm_km"]), float(c["x0_ohm_km"])
        else:
            warm = 1 + ALPHA * (operating_temp - 20)
            r0, x0 = zero_factor * r20, zero_factor * ln["x_ohm_per_km"]
        lines[ln["line_id"]] = pp.create_line_from_parameters(
            net, buses[ln["from_bus"]], buses[ln["to_bus"]], length_km=ln["length_km"],
            r_ohm_per_km=r20 * (warm if for_load_flow else 1.0), x_ohm_per_km=ln["x_ohm_per_km"],
            c_nf_per_km=0.0, max_i_ka=ln["max_i_ka"], r0_ohm_per_km=r0, x0_ohm_per_km=x0,
            c0_nf_per_km=0.0, endtemp_degree=20 + (warm - 1) / ALPHA, name=f"L{ln['line_id']}",
        )  # fmt: skip
    for s in _features("switches"):
        if s["et"] == "l" and s["element"] in lines:
            pp.create_switch(
                net, buses[s["bus"]], lines[s["element"]], et="l", closed=bool(s["closed"])
            )
    tan = np.tan(np.arccos(0.95))
    for bus, kw in (load_kw or {}).items():
        pp.create_load(net, buses[bus], p_mw=kw / 1000, q_mvar=kw * tan / 1000)
    return net


def short_circuit(net) -> dict[str, np.ndarray]:
    """Ik''3 max, Ik''3 min, Ik''1 min (kA) per bus name."""
    out = {}
    for key, fault, case in (
        ("ik3_max", "3ph", "max"), ("ik3_min", "3ph", "min"), ("ik1_min", "1ph", "min"),
    ):  # fmt: skip
        sc.calc_sc(net, fault=fault, case=case, branch_results=False)
        out[key] = dict(zip(net.bus.name, net.res_bus_sc.ikss_ka.values, strict=True))
    return out


def hosting_bisection(net, bus_name: str, rise=0.03, vmax=1.05, hi_mw=60.0, tol_mw=0.005):
    """The largest PV injection (unity power factor) at `bus_name` that an AC load flow
    accepts: rise at the bus ≤ `rise`, every voltage ≤ `vmax`, every line ≤ 100 %."""
    bus = int(net.bus.index[net.bus.name == bus_name][0])
    pp.runpp(net, numba=False)
    v_base = float(net.res_bus.vm_pu[bus])
    gen = pp.create_sgen(net, bus, p_mw=0.0, q_mvar=0.0)

    def ok(p):
        net.sgen.at[gen, "p_mw"] = p
        try:
            pp.runpp(net, numba=False)
        except pp.LoadflowNotConverged:  # far beyond what the feeder can take
            return False
        return (
            net.res_bus.vm_pu[bus] - v_base <= rise + 1e-9
            and net.res_bus.vm_pu.max() <= vmax + 1e-9
            and net.res_line.loading_percent.max() <= 100 + 1e-7
        )

    lo, hi = 0.0, hi_mw
    if ok(hi):
        lo = hi
    while hi - lo > tol_mw and lo < hi:
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if ok(mid) else (lo, mid)
    net.sgen.drop(gen, inplace=True)
    return lo


def raw_oberrhein_forest(
    scc_max=223.2, scc_min=180.0, operating_temp=80.0, zero_factor=3.0, load_kw=None
) -> tuple[Forest, list[int]]:
    """The same export as one of our forests, built here from the raw files (a breadth-first
    walk from the busbars over the lines no open switch cuts), independently of the importer
    and of capacity.services.inputs. Returns the forest and the bus id of each node."""
    opened = {s["element"] for s in _features("switches") if not s["closed"]}
    busbars = [t["lv_bus"] for t in _features("trafos") if t["vn_lv_kv"] == 20.0]
    adjacent = defaultdict(list)
    for ln in _features("lines"):
        if ln["line_id"] not in opened:
            adjacent[ln["from_bus"]].append((ln["to_bus"], ln))
            adjacent[ln["to_bus"]].append((ln["from_bus"], ln))
    nodes, parent, branch, index = [], [], [], {}
    seen = set(busbars)
    queue = deque((b, -1) for b in busbars)
    while queue:
        bus, up = queue.popleft()
        for other, ln in adjacent[bus]:
            if other in seen:
                continue
            seen.add(other)
            index[other] = len(nodes)
            nodes.append(other)
            parent.append(up)
            branch.append(ln)
            queue.append((other, index[other]))

    def column(key):
        return np.array([ln[key] for ln in branch], dtype=float)

    n = len(nodes)
    warm = 1 + ALPHA * (operating_temp - 20)
    load = np.array([(load_kw or {}).get(b, 0.0) for b in nodes])
    ones = np.ones(n)
    forest = Forest(
        parent=np.array(parent, dtype=np.int64), length_km=column("length_km"),
        r20=column("r_ohm_per_km"), r_op=column("r_ohm_per_km") * warm,
        x=column("x_ohm_per_km"), r0=zero_factor * column("r_ohm_per_km"),
        x0=zero_factor * column("x_ohm_per_km"), ampacity_a=column("max_i_ka") * 1000,
        load_kw=load, load_kvar=load * np.tan(np.arccos(0.95)),
        sources=Sources(20 * ones, scc_max * ones, scc_min * ones, 0.1 * ones, ones, 0.1 * ones),
    )  # fmt: skip
    return forest, nodes


def transformer_loads(share: float = 0.15) -> dict[int, float]:
    """A minimum load at every 20/0.4 kV transformer's bus: `share` of its rating (kW)."""
    load: dict[int, float] = defaultdict(float)
    for t in _features("trafos"):
        if t["vn_hv_kv"] == 20.0:
            load[t["hv_bus"]] += t["sn_mva"] * 1000 * share
    return dict(load)


def net_from_forest(f: Forest, for_load_flow: bool = False, vm_pu: float = 1.0):
    """One of our forests as a pandapower network: bus `n<i>` per node, one external grid
    per root at a busbar of its own, the branch into each node as a line."""
    f.prepare()
    s = f.sources
    net = pp.create_empty_network(sn_mva=1.0)
    buses = [
        pp.create_bus(net, vn_kv=float(s.un_kv[i]), name=f"n{i}") for i in range(len(f.parent))
    ]
    for i in range(len(f.parent)):
        if f.parent[i] < 0:
            bar = pp.create_bus(net, vn_kv=float(s.un_kv[i]), name=f"bar{i}")
            pp.create_ext_grid(
                net, bar, vm_pu=vm_pu, s_sc_max_mva=float(s.scc_max_mva[i]),
                s_sc_min_mva=float(s.scc_min_mva[i]), rx_max=float(s.rx[i]),
                rx_min=float(s.rx[i]), x0x_max=float(s.x0x1[i]), x0x_min=float(s.x0x1[i]),
                r0x0_max=float(s.r0x0[i]), r0x0_min=float(s.r0x0[i]),
            )  # fmt: skip
            start = bar
        else:
            start = buses[f.parent[i]]
        warm = f.r_op[i] / f.r20[i]
        pp.create_line_from_parameters(
            net, start, buses[i], length_km=float(f.length_km[i]),
            r_ohm_per_km=float(f.r_op[i] if for_load_flow else f.r20[i]),
            x_ohm_per_km=float(f.x[i]), c_nf_per_km=0.0, max_i_ka=float(f.ampacity_a[i]) / 1000,
            r0_ohm_per_km=float(f.r0[i]), x0_ohm_per_km=float(f.x0[i]), c0_nf_per_km=0.0,
            endtemp_degree=20 + (warm - 1) / ALPHA,
        )  # fmt: skip
        if f.load_kw[i]:
            pp.create_load(
                net, buses[i], p_mw=float(f.load_kw[i]) / 1000,
                q_mvar=float(f.load_kvar[i]) / 1000,
            )  # fmt: skip
    return net
