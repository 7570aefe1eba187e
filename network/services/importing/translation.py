"""The `[translate]` of a mapping: a network moved elsewhere with its lengths kept."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pyproj import Transformer


@dataclass(frozen=True)
class Translation:
    """Move a network to another place without changing its lengths.

    Coordinates go to an azimuthal equidistant projection centred on `source`, are rotated
    there, and come back from the same projection centred on `target`: distances in metres are
    kept (the projection is true along lines through its centre and distorts less than 1e-6
    within 20 km of it), where a plain lon/lat shift would stretch east-west lengths by
    cos(source lat) / cos(target lat).
    """

    source: tuple[float, float]
    target: tuple[float, float]
    rotate_deg: float = 0.0

    def function(self) -> Callable[[Iterable[float], Iterable[float]], tuple[list, list]]:
        to_plane = Transformer.from_crs(
            "EPSG:4326", self._aeqd(self.source), always_xy=True
        ).transform
        from_plane = Transformer.from_crs(
            self._aeqd(self.target), "EPSG:4326", always_xy=True
        ).transform
        angle = math.radians(self.rotate_deg)
        cos, sin = math.cos(angle), math.sin(angle)

        def move(xs, ys):
            px, py = to_plane(list(xs), list(ys))
            rx = [x * cos - y * sin for x, y in zip(px, py, strict=True)]
            ry = [x * sin + y * cos for x, y in zip(px, py, strict=True)]
            lon, lat = from_plane(rx, ry)
            return list(lon), list(lat)

        return move

    @staticmethod
    def _aeqd(centre: tuple[float, float]) -> str:
        return f"+proj=aeqd +lon_0={centre[0]!r} +lat_0={centre[1]!r} +ellps=WGS84 +units=m"
