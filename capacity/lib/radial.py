"""Feeder trees in numpy: preorder numbering, sums along paths and over subtrees.

A tree is given by `parent` (the index of each node's parent, -1 for a node fed straight from
the substation's busbar). Every node has one incoming branch (the span that feeds it), so
branch quantities are stored on the node they feed. In preorder the subtree of `v` is the
slice `tin[v]:tout[v]`, which turns subtree sums into differences of one cumulative sum and
sums along the path from the busbar into an Euler-tour prefix sum: no loop over nodes in
Python but the walk that numbers them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Order:
    """Preorder of a forest: `order[i]` is the node at position i; `tin[v]`, `tout[v]` bound
    the positions of v's subtree. Nodes that no root reaches (a loop cut off from the
    busbar) are in `unreached` and have tin = tout = -1."""

    order: np.ndarray
    tin: np.ndarray
    tout: np.ndarray
    unreached: np.ndarray

    @property
    def reached(self) -> np.ndarray:
        return self.tin >= 0


def preorder(parent: np.ndarray) -> Order:
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    by_parent = np.argsort(parent, kind="stable")
    counts = np.bincount(parent + 1, minlength=n + 1)
    starts = np.concatenate(([0], np.cumsum(counts))).tolist()
    children = by_parent.tolist()
    tin = [-1] * n
    tout = [-1] * n
    order: list[int] = []
    # Iterative DFS; a node is closed when the walk comes back to it.
    stack = [(v, False) for v in reversed(children[starts[0] : starts[1]])]
    while stack:
        v, closing = stack.pop()
        if closing:
            tout[v] = len(order)
            continue
        tin[v] = len(order)
        order.append(v)
        stack.append((v, True))
        first, last = starts[v + 1], starts[v + 2]
        stack.extend((c, False) for c in reversed(children[first:last]))
    tin_a = np.array(tin, dtype=np.int64)
    return Order(
        order=np.array(order, dtype=np.int64),
        tin=tin_a,
        tout=np.array(tout, dtype=np.int64),
        unreached=np.flatnonzero(tin_a < 0),
    )


def path_sum(values: np.ndarray, o: Order) -> np.ndarray:
    """For each reached node, the sum of `values` over the node and its ancestors."""
    reached = o.reached
    marks = np.zeros(len(o.order) + 1, dtype=values.dtype)
    np.add.at(marks, o.tin[reached], values[reached])
    np.subtract.at(marks, o.tout[reached], values[reached])
    prefix = np.cumsum(marks)
    out = np.zeros_like(values)
    out[reached] = prefix[o.tin[reached]]
    return out


def subtree_sum(values: np.ndarray, o: Order) -> np.ndarray:
    """For each reached node, the sum of `values` over its subtree (itself included)."""
    reached = o.reached
    cumulative = np.concatenate(([0], np.cumsum(values[o.order])))
    out = np.zeros_like(values)
    out[reached] = cumulative[o.tout[reached]] - cumulative[o.tin[reached]]
    return out


def subtree_argmax(values: np.ndarray, parent: np.ndarray, o: Order) -> np.ndarray:
    """For each reached node, the node of its subtree where `values` is largest."""
    best = np.arange(len(values))
    vals = values.tolist()
    best_l = best.tolist()
    par = parent.tolist()
    for v in reversed(o.order.tolist()):
        p = par[v]
        if p >= 0 and vals[best_l[v]] > vals[best_l[p]]:
            best_l[p] = best_l[v]
    return np.array(best_l, dtype=np.int64)


def path_argmin(values: np.ndarray, parent: np.ndarray, o: Order) -> np.ndarray:
    """For each reached node, the node on its path from the busbar (itself included) where
    `values` is smallest (the first such node from the busbar on ties)."""
    vals = values.tolist()
    par = parent.tolist()
    best = list(range(len(vals)))
    for v in o.order.tolist():
        p = par[v]
        if p >= 0 and vals[best[p]] <= vals[v]:
            best[v] = best[p]
    return np.array(best, dtype=np.int64)


def orient(
    n: int,
    roots: np.ndarray,
    root_edges: np.ndarray,
    src: np.ndarray,
    dst: np.ndarray,
    edge: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The feeding tree of a meshed-but-operated-radially network, by a breadth-first walk
    from every root at once (the same pace for all, as the importer derives feeders).

    roots, root_edges: the nodes fed straight from a busbar and the edge (span) feeding each;
    src, dst, edge: the directed moves allowed (an undirected span that may be walked both
    ways appears twice). Returns, per node, its parent (-1 for a root, -2 if no walk reaches
    it) and the edge that feeds it (-1 if none). Where two edges reach a node in the same
    step the lowest edge id wins, so the result does not depend on the input order.
    """
    parent = np.full(n, -2, dtype=np.int64)
    fed_by = np.full(n, -1, dtype=np.int64)
    roots = np.asarray(roots, dtype=np.int64)
    root_edges = np.asarray(root_edges, dtype=np.int64)
    if len(roots):
        by_edge = np.lexsort((root_edges, roots))
        first = np.unique(roots[by_edge], return_index=True)[1]
        frontier = roots[by_edge][first]
        parent[frontier] = -1
        fed_by[frontier] = root_edges[by_edge][first]
    else:
        frontier = roots
    # Moves grouped by their source node (CSR), each group sorted by edge id.
    by_src = np.lexsort((edge, src))
    src, dst, edge = src[by_src], dst[by_src], edge[by_src]
    starts = np.searchsorted(src, np.arange(n + 1))
    while len(frontier):
        lo, hi = starts[frontier], starts[frontier + 1]
        counts = hi - lo
        if not counts.sum():
            break
        # The positions of every move out of the frontier.
        moves = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        moves += np.arange(counts.sum())
        targets = dst[moves]
        fresh = parent[targets] == -2
        moves, targets = moves[fresh], targets[fresh]
        if not len(moves):
            break
        pick = np.lexsort((edge[moves], targets))
        keep = np.unique(targets[pick], return_index=True)[1]
        chosen = moves[pick][keep]
        frontier = dst[chosen]
        parent[frontier] = src[chosen]
        fed_by[frontier] = edge[chosen]
    return parent, fed_by
