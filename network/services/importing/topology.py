"""Feeders from the topology: each span leaving a substation's busbar starts one.

Pure graph work on source ids, before anything is written. Every feeder grows from its head at
the same pace (a breadth-first walk from all heads at once), so that where the export has a
closed loop with no normally-open point the loop is split half way, and the loop is reported.
A normally-open equipment cuts its span at the node it stands on: the span stays with the
feeder that energises it from its other end, and the walk does not cross it.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable
from dataclasses import dataclass, field


def natural(text: str) -> tuple:
    """ "L9" before "L10"."""
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", text))


@dataclass(frozen=True)
class Finding:
    kind: str  # "span" or "node"
    ident: str
    reason: str
    error: bool = False  # the row cannot be imported


@dataclass
class FeederTree:
    substation: str  # source id of the substation
    head: str  # source id of the span leaving the busbar
    n: int  # position among the substation's feeders, from 1


@dataclass
class Topology:
    feeders: list[FeederTree] = field(default_factory=list)
    span_feeder: dict[str, int] = field(default_factory=dict)  # span -> index in feeders
    node_feeder: dict[str, int] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)


def derive_feeders(
    spans: dict[str, tuple[str, str]],
    busbars: dict[str, str],
    substation_order: Iterable[str],
    open_at: set[tuple[str, str]],
    span_label: dict[str, str],
    node_label: dict[str, str],
) -> Topology:
    """Walk the graph.

    spans: span id -> (node a, node b), where a node is a pole id or a busbar id;
    busbars: busbar node id -> substation id; open_at: (span id, node id) pairs where a
    normally-open equipment cuts the span; the labels are the codes the report shows.
    """
    result = Topology()
    adjacency: dict[str, list[str]] = defaultdict(list)
    for span, (a, b) in sorted(spans.items(), key=lambda item: natural(span_label[item[0]])):
        adjacency[a].append(span)
        adjacency[b].append(span)

    def other(span: str, node: str) -> str:
        a, b = spans[span]
        return b if node == a else a

    def name(node: str) -> str:
        return node_label.get(node) or f"barra {node}"

    queue: deque[tuple[int, str, str]] = deque()
    by_substation: dict[str, list[str]] = defaultdict(list)
    for node, substation in busbars.items():
        by_substation[substation].extend(adjacency.get(node, []))
    for substation in substation_order:
        heads = sorted(by_substation.get(substation, []), key=lambda s: natural(span_label[s]))
        n = 0
        for head in heads:
            busbar = next(node for node in spans[head] if busbars.get(node) == substation)
            if (head, busbar) in open_at:
                result.findings.append(
                    Finding(
                        "span",
                        head,
                        "sale de la subestación con un equipo abierto: no inicia un alimentador",
                    )
                )
                continue
            n += 1
            result.feeders.append(FeederTree(substation, head, n))
            queue.append((len(result.feeders) - 1, head, busbar))

    reported_loops: set[frozenset] = set()
    while queue:
        feeder, span, start = queue.popleft()
        if span in result.span_feeder or (span, start) in open_at:
            continue
        result.span_feeder[span] = feeder
        end = other(span, start)
        if (span, end) in open_at:
            continue
        if end in busbars:
            if start not in busbars:
                result.findings.append(
                    Finding(
                        "span",
                        span,
                        f"cierra un anillo hasta la barra {name(end)} sin equipo "
                        "normalmente abierto",
                    )
                )
            continue
        if end in result.node_feeder:
            mine, theirs = result.feeders[feeder], result.feeders[result.node_feeder[end]]
            pair = frozenset((span, end))
            if pair not in reported_loops:
                reported_loops.add(pair)
                if theirs is mine:
                    reason = (
                        f"cierra un anillo dentro del alimentador que sale por "
                        f"{span_label[mine.head]} (vuelve al nodo {name(end)})"
                    )
                else:
                    reason = (
                        f"une los alimentadores que salen por {span_label[mine.head]} y "
                        f"{span_label[theirs.head]} en el nodo {name(end)} sin equipo "
                        "normalmente abierto; la malla se cortó aquí"
                    )
                result.findings.append(Finding("span", span, reason))
            continue
        result.node_feeder[end] = feeder
        for following in adjacency[end]:
            if following != span:
                queue.append((feeder, following, end))

    _dead_areas(result, spans, busbars, adjacency, other, span_label, node_label)
    return result


def _dead_areas(result, spans, busbars, adjacency, other, span_label, node_label) -> None:
    """What only open equipment separates from a feeder joins it, de-energised; the rest is
    an island that no substation feeds and cannot be imported (a feeder is required)."""
    queue: deque[tuple[int, str, str]] = deque()
    for node, feeder in sorted(result.node_feeder.items()):
        for span in adjacency[node]:
            if span not in result.span_feeder:
                queue.append((feeder, span, node))
    for busbar in busbars:
        for span in adjacency.get(busbar, []):
            if span not in result.span_feeder:
                # A bay that only starts with an open equipment: it belongs to whatever it
                # reaches; alone it is dead and goes with the substation's first feeder.
                first = next(
                    (i for i, f in enumerate(result.feeders) if f.substation == busbars[busbar]),
                    None,
                )
                if first is not None:
                    queue.append((first, span, busbar))
    while queue:
        feeder, span, start = queue.popleft()
        if span in result.span_feeder:
            continue
        result.span_feeder[span] = feeder
        head = span_label[result.feeders[feeder].head]
        result.findings.append(
            Finding(
                "span",
                span,
                f"desenergizado (detrás de un equipo abierto); va con el alimentador "
                f"que sale por {head}",
            )
        )
        end = other(span, start)
        if end in busbars or end in result.node_feeder:
            continue
        result.node_feeder[end] = feeder
        result.findings.append(
            Finding(
                "node",
                end,
                f"desenergizado (detrás de un equipo abierto); va con el alimentador "
                f"que sale por {head}",
            )
        )
        for following in adjacency[end]:
            if following != span:
                queue.append((feeder, following, end))
    for span in spans:
        if span not in result.span_feeder:
            result.findings.append(
                Finding("span", span, "isla: ningún camino lo une a una subestación", error=True)
            )
    for node in {n for pair in spans.values() for n in pair}:
        if node not in busbars and node not in result.node_feeder:
            result.findings.append(
                Finding("node", node, "isla: ningún camino lo une a una subestación", error=True)
            )
