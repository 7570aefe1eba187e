"""Does a layer land where its distributor is? Checked while it is read, before any write.

Each feature gives its box in the file's coordinates and, once moved to WGS84 (and translated),
its box there: two calls into GEOS/OGR per feature, no Python geometry work. A reservoir keeps
a fixed-size sample of them; the sample is tested against the territory in PostGIS after the
first features (a layer that starts elsewhere is refused at once) and at the end of the layer.
Coordinates beyond ±180/±90 under a geographic CRS stop the layer as soon as they are the rule.

A refusal names the file, the layer, the declared CRS and where the features landed, and the
likely cause when one of the usual mistakes, undone, puts the sample inside the territory.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from pyproj import CRS, Transformer

from .report import WARNING, NetworkImportError, Problem
from .territory import Box, Point, Territory

SAMPLE = 500  # features kept for the territory test
EARLY = 200  # features read before the first test: a layer all elsewhere stops there
EARLY_OUT_OF_RANGE = 10  # projected-looking features that stop a geographic layer at once
LANDED = 0.5  # a layer is refused when more than this share of its sample lies outside
# Projections a Chilean export is usually in: UTM 19S (most of the country), 18S (Aysén,
# Magallanes, part of Los Lagos), 12S (Rapa Nui).
USUAL_UTM = (("19S", 32719), ("18S", 32718), ("12S", 32712))


@dataclass
class Placement:
    """The sample and extents of one layer, and the territory test over them."""

    entity: str
    source: str  # file name
    layer: str
    crs: str  # the declared CRS as the messages name it
    geographic: bool  # the declared CRS is in degrees
    wkt: str | None  # the declared CRS (None: WGS84), for undoing mistakes on the sample
    territory: Territory
    translate: Callable | None = None
    seen: int = 0  # features with a geometry
    out_of_range: int = 0
    raw_box: list[float] | None = None
    final_box: list[float] | None = None
    sample_raw: list[Point] = field(default_factory=list)
    sample_final: list[Point | None] = field(default_factory=list)
    checked_early: bool = False

    def __post_init__(self) -> None:
        self._random = random.Random(0)  # the same sample for the same file

    @property
    def where(self) -> str:
        return f"{self.source}, capa {self.layer} ([{self.entity}])"

    # -- while reading ---------------------------------------------------------------------

    def feature(self, raw: Box, final: Box | None) -> None:
        """One feature's box in the file's coordinates and in WGS84 (None: not movable)."""
        self.seen += 1
        self.raw_box = _grow(self.raw_box, raw)
        if final is not None:
            self.final_box = _grow(self.final_box, final)
        point = ((raw[0] + raw[2]) / 2, (raw[1] + raw[3]) / 2)
        moved = None if final is None else ((final[0] + final[2]) / 2, (final[1] + final[3]) / 2)
        if len(self.sample_raw) < SAMPLE:
            self.sample_raw.append(point)
            self.sample_final.append(moved)
        else:
            slot = self._random.randrange(self.seen)
            if slot < SAMPLE:
                self.sample_raw[slot], self.sample_final[slot] = point, moved
        if self.seen == EARLY:
            self._check(early=True)

    def beyond_degrees(self, raw: Box) -> bool:
        """A box no geographic coordinate can have (the feature is counted, not sampled); stops
        the layer once that is the rule."""
        if not self.geographic:
            return False
        if -180 <= raw[0] <= raw[2] <= 180 and -90 <= raw[1] <= raw[3] <= 90:
            return False
        self.out_of_range += 1
        self.feature(raw, None)
        if self.out_of_range >= EARLY_OUT_OF_RANGE and self.out_of_range * 2 > self.seen:
            self._refuse_projected()
        return True

    def finish(self) -> list[Problem]:
        """The test over the whole sample; findings for a layer that stays."""
        if not self.seen:
            return []
        if self.out_of_range * 2 > self.seen:
            self._refuse_projected()
        outside = self._check(early=False)
        if not outside:
            return []
        total = len(self.sample_raw)
        return [
            Problem(
                self.entity,
                "territorio",
                f"{outside} de {total} features de la muestra caen fuera de {self.territory.label}",
                "importadas; revise si la red se extiende a otras comunas",
                WARNING,
                self.source,
                layer=self.layer,
            )
        ]

    # -- the test --------------------------------------------------------------------------

    def _check(self, early: bool) -> int:
        points = [p for p in self.sample_final if p is not None]
        if not points:
            return 0
        inside = self.territory.inside(points)
        outside = inside.count(False)
        if (early and outside == len(points)) or (not early and outside > LANDED * len(points)):
            self._refuse(outside, len(points))
        return outside

    def _refuse(self, outside: int, total: int) -> None:
        box = self.final_box
        landed = (
            f"las features caen en lon {box[0]:.4f} … {box[2]:.4f}, lat {box[1]:.4f} … "
            f"{box[3]:.4f} (WGS84; {outside} de {total} de la muestra fuera)"
        )
        cause = self._cause(projected=False) or "revise el CRS declarado y el orden de los ejes"
        raise NetworkImportError(
            f"{self.where}: cae fuera de {self.territory.label}; se rechaza la capa entera. "
            f"CRS declarado: {self.crs}; {landed}; causa probable: {cause}"
        )

    def _refuse_projected(self) -> None:
        box = self.raw_box
        cause = self._cause(projected=True) or (
            "parecen coordenadas proyectadas (metros) declaradas como geográficas; declare el "
            "crs del archivo en el mapeo"
        )
        raise NetworkImportError(
            f"{self.where}: coordenadas fuera de ±180/±90 con un CRS geográfico "
            f"({self.out_of_range} de {self.seen} features leídas); se rechaza la capa entera. "
            f"CRS declarado: {self.crs}; en el archivo x {box[0]:.1f} … {box[2]:.1f}, "
            f"y {box[1]:.1f} … {box[3]:.1f}; causa probable: {cause}"
        )

    def _cause(self, projected: bool) -> str:
        """The usual mistake that, undone, puts the sample inside the territory."""
        raw = [p for p in self.sample_raw if all(map(math.isfinite, p))]
        if not raw:
            return ""
        swapped = [(y, x) for x, y in raw]
        candidates: list[tuple[str, list[Point], str | int | None]] = []
        if self.geographic and projected:
            for zone, epsg in USUAL_UTM:
                hint = f'; declare crs = "EPSG:{epsg}" en [{self.entity}]'
                text = f"parecen coordenadas UTM {zone} declaradas como geográficas{hint}"
                candidates.append((text, raw, epsg))
        elif self.geographic:
            candidates.append(("latitud y longitud invertidas", swapped, self.wkt))
            flips = [(-abs(x), -abs(y)) for x, y in raw]
            text = "signo cambiado (en Chile la longitud y la latitud son negativas)"
            candidates.append((text, flips, self.wkt))
        else:
            if all(-180 <= x <= 180 and -90 <= y <= 90 for x, y in raw):
                text = (
                    f"parecen coordenadas geográficas (grados) declaradas como {self.crs}; "
                    f'declare crs = "EPSG:4326" en [{self.entity}] o corrija el archivo'
                )
                candidates.append((text, raw, 4326))
            candidates.append(("coordenadas X e Y invertidas (este y norte)", swapped, self.wkt))
            for zone, epsg in USUAL_UTM:
                hint = f'; declare crs = "EPSG:{epsg}" en [{self.entity}]'
                candidates.append((f"parecen coordenadas UTM {zone}{hint}", raw, epsg))
        for text, points, crs in candidates:
            moved = self._moved(points, crs)
            if moved and self.territory.inside(moved).count(True) > LANDED * len(moved):
                return text
        return ""

    def _moved(self, points: list[Point], crs: str | int | None) -> list[Point]:
        """Sample points read with another CRS, then translated as the layer would be."""
        try:
            if crs is None or crs == 4326:
                xs, ys = [p[0] for p in points], [p[1] for p in points]
            else:
                source = CRS.from_epsg(crs) if isinstance(crs, int) else CRS.from_wkt(crs)
                if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
                    xs, ys = [p[0] for p in points], [p[1] for p in points]
                else:
                    move = Transformer.from_crs(source, 4326, always_xy=True).transform
                    xs, ys = move([p[0] for p in points], [p[1] for p in points])
            if self.translate is not None:
                xs, ys = self.translate(list(xs), list(ys))
        except Exception:  # noqa: BLE001  (a guess that cannot be computed is just no guess)
            return []
        return [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(x + y)]


def _grow(box: list[float] | None, other: Box) -> list[float]:
    if box is None:
        return list(other)
    return [
        min(box[0], other[0]),
        min(box[1], other[1]),
        max(box[2], other[2]),
        max(box[3], other[3]),
    ]
