"""IEC 60909 short circuit and indicative hosting capacity of radial MV feeders, in numpy.

One call works on a forest: the feeders of one substation (subfeeders hang from a pole of
their parent feeder), every node a pole, every branch the span that feeds it. Units: ohms,
amperes, kilovolts, megawatts. The method and its limits are written in docs/capacity.md.

Short circuit (IEC 60909-0:2016, §4): the equivalent voltage source c·Un/√3 at the fault
behind the positive-sequence impedance from the upstream network to the pole; c_max = 1.1 with
conductors at 20 °C and the upstream network at its maximum short-circuit power, c_min = 1.0
with conductors at their operating temperature and the upstream network at its minimum.
Loads, capacitances and generation are neglected, as the standard allows for MV feeders.

Hosting capacity: the largest PV injection at unity power factor at one pole, at the feeder's
minimum load, with the busbar held at its voltage by the AT/MT transformer's tap changer, that
keeps (1) the rise it causes at its pole within `rise_pu`, (2) every voltage within `vmax_pu`,
(3) every span within its ampacity and (4) the reverse flow through the AT/MT transformers
within their rating. A linear estimate from the load flow's sensitivities picks the binding
element of each criterion; an AC solution of each pole's injection (the other loads held at
their currents of the base case) then tightens each value by bisection.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from capacity.lib.radial import Order, path_argmin, path_sum, preorder, subtree_argmax, subtree_sum

SQRT3 = math.sqrt(3.0)
C_MAX = 1.1  # IEC 60909-0 table 1, 1 kV < Un ≤ 230 kV
C_MIN = 1.0


class Criterion:
    RISE = "alza_tension"
    VMAX = "tension_maxima"
    THERMAL = "capacidad_vano"
    TRANSFORMER = "capacidad_transformador"


@dataclass(frozen=True)
class Sources:
    """The upstream network seen from each node's busbar, per node (only the value at the
    roots matters, but the arrays are per node so that subfeeders need no lookup)."""

    un_kv: np.ndarray
    scc_max_mva: np.ndarray
    scc_min_mva: np.ndarray
    rx: np.ndarray
    x0x1: np.ndarray
    r0x0: np.ndarray


@dataclass
class Forest:
    parent: np.ndarray  # int64, -1: fed from the busbar
    length_km: np.ndarray
    r20: np.ndarray  # Ω/km, positive sequence at 20 °C
    r_op: np.ndarray  # Ω/km at the operating temperature
    x: np.ndarray
    r0: np.ndarray  # Ω/km, zero sequence at 20 °C
    x0: np.ndarray
    ampacity_a: np.ndarray
    load_kw: np.ndarray  # minimum load at each node
    load_kvar: np.ndarray
    sources: Sources
    root_of: np.ndarray | None = None  # filled by prepare()
    o: Order | None = None

    def prepare(self) -> Forest:
        if self.o is None:
            self.o = preorder(self.parent)
            # The root of each node: the ancestor whose parent is the busbar.
            idx = np.arange(len(self.parent))
            root = np.where(self.parent < 0, idx, -1)
            for v in self.o.order.tolist():
                p = self.parent[v]
                if p >= 0:
                    root[v] = root[p]
            self.root_of = root
        return self

    def at_root(self, values: np.ndarray) -> np.ndarray:
        return values[np.maximum(self.root_of, 0)]


@dataclass(frozen=True)
class ShortCircuit:
    ik3_max_ka: np.ndarray
    ik3_min_ka: np.ndarray
    ik1_min_ka: np.ndarray
    scc_max_mva: np.ndarray


def source_impedance(un_kv, scc_mva, c, rx, x0x1, r0x0):
    """Positive and zero sequence impedance of the upstream network (IEC 60909-0 eq. 5)."""
    z = c * un_kv**2 / scc_mva
    x1 = z / np.sqrt(1 + rx**2)
    x0 = x0x1 * x1
    return rx * x1 + 1j * x1, r0x0 * x0 + 1j * x0


def short_circuit(f: Forest) -> ShortCircuit:
    f.prepare()
    s = f.sources
    un = f.at_root(s.un_kv)
    # The same factor for the zero-sequence resistance (1 on a node left without data).
    warm = np.divide(f.r_op, f.r20, out=np.ones_like(f.r20), where=f.r20 > 0)
    z1_max_path = path_sum(f.length_km * (f.r20 + 1j * f.x), f.o)
    z1_min_path = path_sum(f.length_km * (f.r_op + 1j * f.x), f.o)
    z0_min_path = path_sum(f.length_km * (f.r0 * warm + 1j * f.x0), f.o)
    rx, x0x1, r0x0 = f.at_root(s.rx), f.at_root(s.x0x1), f.at_root(s.r0x0)
    zs_max, _ = source_impedance(un, f.at_root(s.scc_max_mva), C_MAX, rx, x0x1, r0x0)
    zs_min, zs0_min = source_impedance(un, f.at_root(s.scc_min_mva), C_MIN, rx, x0x1, r0x0)
    ik3_max = C_MAX * un / (SQRT3 * np.abs(zs_max + z1_max_path))
    z1_min = zs_min + z1_min_path
    ik3_min = C_MIN * un / (SQRT3 * np.abs(z1_min))
    ik1_min = SQRT3 * C_MIN * un / np.abs(2 * z1_min + zs0_min + z0_min_path)
    return ShortCircuit(ik3_max, ik3_min, ik1_min, SQRT3 * un * ik3_max)


@dataclass(frozen=True)
class LoadFlow:
    v: np.ndarray  # complex phase voltage, V
    i_branch: np.ndarray  # complex current into each node's branch, A (downstream positive)
    vn_ph: np.ndarray  # nominal phase voltage, V
    iterations: int

    @property
    def v_pu(self) -> np.ndarray:
        return np.abs(self.v) / self.vn_ph


def load_flow(f: Forest, v0_pu: float = 1.0, tol: float = 1e-9, max_iter: int = 50) -> LoadFlow:
    """Backward/forward sweep with constant-power loads (the busbar at `v0_pu`)."""
    f.prepare()
    vn_ph = f.at_root(f.sources.un_kv) * 1000 / SQRT3
    z = f.length_km * (f.r_op + 1j * f.x)
    s_ph = (f.load_kw + 1j * f.load_kvar) * 1000 / 3
    v_source = v0_pu * vn_ph + 0j
    v = v_source.copy()
    i_branch = np.zeros_like(v)
    iterations = 0
    for _ in range(max_iter):
        iterations += 1
        i_branch = subtree_sum(np.conj(s_ph / v), f.o)
        v_new = v_source - path_sum(z * i_branch, f.o)
        done = np.max(np.abs(v_new - v) / vn_ph, initial=0.0) < tol
        v = v_new
        if done:
            break
    return LoadFlow(v, i_branch, vn_ph, iterations)


@dataclass(frozen=True)
class Limits:
    rise_pu: float = 0.03
    vmax_pu: float = 0.05  # above nominal
    v0_pu: float = 1.0


@dataclass(frozen=True)
class Hosting:
    mw: np.ndarray
    criterion: np.ndarray  # object array of Criterion values
    element: np.ndarray  # node index of the limiting pole / span (the span feeding it); -1
    value: np.ndarray  # the limiting quantity at the limit: %, A or MVA
    base_v_pu: np.ndarray
    linear_mw: np.ndarray  # the linear estimate before the AC check


def _injected(lf: LoadFlow, zp: np.ndarray, k: np.ndarray, p_mw: np.ndarray) -> tuple:
    """The phase current injected at nodes `k` by `p_mw` (unity power factor) and their
    voltage, from the AC solution of the injection with the other loads at fixed currents."""
    v0 = lf.v[k]
    vk = v0.copy()
    p_ph = p_mw * 1e6 / 3
    for _ in range(25):
        j = np.conj(p_ph / vk)
        vk = v0 + zp[k] * j
    return np.conj(p_ph / vk), vk


def hosting_capacity(
    f: Forest,
    limits: Limits,
    transformer_mva: np.ndarray,
    substation_load_kw: np.ndarray,
    substation_load_kvar: np.ndarray,
    lf: LoadFlow | None = None,
    bisections: int = 40,
) -> Hosting:
    """Per node; `transformer_mva` and the substation's minimum load are per node too (their
    value at each node's root is used). Nodes of the forest that no root reaches get NaN."""
    f.prepare()
    o = f.o
    n = len(f.parent)
    lf = lf or load_flow(f, limits.v0_pu)
    un = f.at_root(f.sources.un_kv)
    vn = lf.vn_ph
    zp = path_sum(f.length_km * (f.r_op + 1j * f.x), o)
    sens = np.maximum(zp.real, 1e-9) / un**2  # pu per MW
    m0 = lf.v_pu
    v0_abs = np.abs(lf.v)

    # (1) the rise at the pole itself.
    p1 = limits.rise_pu / sens
    # (2) the highest voltage: through each ancestor a, the highest base voltage of a's
    # subtree rises by about sens(a)·P.
    vmax = 1 + limits.vmax_pu
    high = subtree_argmax(m0, f.parent, o)
    g = np.maximum(vmax - m0[high], 0) / sens
    a2 = path_argmin(g, f.parent, o)
    p2 = g[a2]
    # (3) the spans on the path: the injected current meets each span's load current.
    h = SQRT3 * un * (f.ampacity_a + lf.i_branch.real) / 1000
    b3 = path_argmin(h, f.parent, o)
    p3 = h[b3]
    # (4) the AT/MT transformers: reverse flow, with the substation's minimum load deducted.
    s_tr = f.at_root(transformer_mva)
    p_load = f.at_root(substation_load_kw) / 1000
    q_load = f.at_root(substation_load_kvar) / 1000
    p4 = p_load + np.sqrt(np.maximum(s_tr**2 - q_load**2, 0))

    k = np.arange(n)

    def exact(p_lin: np.ndarray, ok) -> np.ndarray:
        """The largest P ≤ 1.5·p_lin that `ok(P)` accepts, by bisection (vectorised)."""
        lo = np.zeros(n)
        hi = 1.5 * p_lin
        good = ok(hi)
        lo = np.where(good, hi, lo)
        for _ in range(bisections):
            mid = (lo + hi) / 2
            good = ok(mid)
            lo = np.where(good, mid, lo)
            hi = np.where(good, hi, mid)
        return lo

    def rise_ok(p):
        _, vk = _injected(lf, zp, k, p)
        return np.abs(vk) - v0_abs <= limits.rise_pu * vn + 1e-9

    def vmax_ok(p):
        j, _ = _injected(lf, zp, k, p)
        a = a2
        rise_a = np.abs(lf.v[a] + zp[a] * j) - v0_abs[a]
        return m0[high[a]] * vn + rise_a <= vmax * vn + 1e-9

    def thermal_ok(p):
        j, _ = _injected(lf, zp, k, p)
        return np.abs(lf.i_branch[b3] - j) <= f.ampacity_a[b3] + 1e-9

    e1 = exact(p1, rise_ok)
    e2 = np.where(p2 > 0, exact(p2, vmax_ok), 0.0)
    e3 = exact(p3, thermal_ok)
    stack = np.vstack([e1, e2, e3, p4])
    which = np.argmin(stack, axis=0)
    mw = stack[which, k]
    names = np.array(
        [Criterion.RISE, Criterion.VMAX, Criterion.THERMAL, Criterion.TRANSFORMER], dtype=object
    )
    element = np.select([which == 0, which == 1, which == 2], [k, high[a2], b3], -1)

    j, vk = _injected(lf, zp, k, mw)
    value = np.select(
        [which == 0, which == 1, which == 2],
        [
            (np.abs(vk) - v0_abs) / vn * 100,
            (m0[high[a2]] * vn + np.abs(lf.v[a2] + zp[a2] * j) - v0_abs[a2]) / vn * 100,
            np.abs(lf.i_branch[b3] - j),
        ],
        np.hypot(mw - p_load, q_load),
    )
    unreached = ~o.reached
    linear = np.min(np.vstack([p1, p2, p3, p4]), axis=0)
    for arr in (mw, value, linear):
        arr[unreached] = np.nan
    return Hosting(mw, names[which], element, value, m0, linear)
