"""The static map's context lines chained through their junctions (maps.drawing.svg)."""

from __future__ import annotations

import re

from maps.drawing.svg import _chained


def _segments(subpaths: list[str]) -> set[frozenset[str]]:
    out = set()
    for sub in subpaths:
        numbers = re.sub("[ML]", " ", sub).split()
        points = [f"{x} {y}" for x, y in zip(numbers[::2], numbers[1::2], strict=True)]
        out |= {frozenset(pair) for pair in zip(points, points[1:], strict=False)}
    return out


def test_a_tree_of_pieces_is_drawn_as_fewer_subpaths_with_the_same_segments():
    # A "T": three pieces meeting at 50 50, and a separate line.
    d = "M 0 50 L 50 50M 50 50 L 100 50M 50 50 L 50 0 M 200 200 L 210 200 220 200"
    subpaths = _chained(d)
    assert len(subpaths) == 3 - 1 + 1
    assert _segments(subpaths) == _segments(
        ["M0 50L50 50", "M50 50L100 50", "M50 50L50 0", "M200 200L210 200 220 200"]
    )
    assert all(sub.startswith("M") for sub in subpaths)


def test_chains_shorter_than_the_minimum_are_left_out():
    d = "M 0 0 L 3 4M 3 4 L 6 8M 100 100 L 130 100"
    assert _chained(d, 15) == ["M100 100L130 100"]
    assert len(_chained(d, 5)) == 2
