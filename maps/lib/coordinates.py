"""Coordinates typed in the map's search box, read the ways Chilean users write them.

Accepted (documented in the search box's help text):

- decimal degrees, latitude and longitude in either order (Chile's latitudes, 17° to 56° S,
  and longitudes, 66° to 110° W, do not overlap): ``-33.05,-71.68``, ``-33.05 -71.68``,
  ``-71.68; -33.05``, ``-33,05 -71,68`` (decimal comma, with a space or ``;`` between them),
  ``33.05 S 71.68 O``;
- degrees, minutes and seconds, or degrees and decimal minutes, with ``°`` or ``º``, ``'`` or
  ``′``, ``"`` or ``″`` (or ``''``), and a hemisphere letter before or after each (S, N; W or O
  for oeste, E): ``33°03'00"S 71°40'48"W``, ``S 33º 3.5' O 71º 40.8'``, or the same with signs
  and no letters;
- UTM with its zone, 18 or 19 south: ``290000 6340000 19S``, ``6340000 290000 19``,
  ``E 290000 N 6340000 H19``, ``19H 290.000 6.340.000`` (the easting is the number under a
  million, so either order; the zone may carry S, a band letter C to M, or ``huso``/``zona``).

`parse` answers None for text that is not a coordinate at all (an id, a plate, a name), so the
search goes on with it; and raises CoordinateError, with a message in Spanish, for coordinates
that are malformed or out of Chile.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

from pyproj import Transformer

# Continental Chile and its islands (Rapa Nui, Juan Fernández, San Félix and San Ambrosio):
# (west, south, east, north).
CHILE_BOXES = (
    (-76.0, -56.6, -66.0, -17.4),
    (-81.0, -34.0, -78.5, -33.5),
    (-80.3, -26.5, -79.7, -26.2),
    (-109.6, -27.3, -109.1, -27.0),
)
LATITUDES = (17.0, 57.0)  # absolute values: a latitude of Chile
LONGITUDES = (65.5, 110.0)  # absolute values: a longitude of Chile
UTM_ZONES = (18, 19)
SOUTH_BANDS = set("CDEFGHJKLM")
NORTH_BANDS = set("NPQRSTUVWX") - {"S"}  # "19S" is read as sur, the Chilean usage
HINT = "Escriba, por ejemplo, «-33,05 -71,68», «33°03'00\"S 71°40'48\"O» o «290000 6340000 19S»."

_SYMBOLS = str.maketrans(
    {
        "º": "°", "˚": "°", "ᵒ": "°",
        "′": "'", "’": "'", "‘": "'", "´": "'", "`": "'",
        "″": '"', "“": '"', "”": '"',
        "−": "-", "–": "-",
    }
)  # fmt: skip
# Letters that may appear in a coordinate; any other word means the text is not one.
_WORDS = {
    "S", "N", "W", "O", "E", "H", "Z", "HUSO", "ZONA", "UTM", "SUR",
    "LAT", "LON", "LNG", "LATITUD", "LONGITUD",
} | SOUTH_BANDS  # fmt: skip
_TOKEN = re.compile(
    r"\s*(?:(?P<num>[-+]?(?:\d{1,3}(?:\.\d{3}){2,}|\d+(?:\.\d+)?))\s*(?P<unit>°|'|\")?"
    r"|(?P<word>[A-Z]+)|(?P<sep>[,;:/]))"
)


class CoordinateError(ValueError):
    """A coordinate that cannot be read or is not in Chile; the message is for the user."""


@dataclass(frozen=True)
class Coordinate:
    lat: float
    lon: float
    form: str  # "decimal" | "gms" | "utm": how it was written

    @property
    def label(self) -> str:
        return f"{_comma(self.lat, 5)}; {_comma(self.lon, 5)}"


def _comma(value: float, digits: int) -> str:
    return f"{value:.{digits}f}".replace(".", ",")


@dataclass
class _Token:
    kind: str  # num | word
    text: str
    unit: str = ""

    @property
    def value(self) -> float:
        return float(self.text)


def _normalise(text: str) -> str:
    text = text.translate(_SYMBOLS).upper().strip()
    text = text.replace("''", '"')
    # A comma between digits is a decimal comma when the text has no decimal points and
    # something else (a space, a semicolon) separates the numbers: "-33,05 -71,68".
    if "." not in text and re.search(r"[\s;]", text):
        text = re.sub(r"(?<=\d),(?=\d)", ".", text)
    return text


def _tokens(text: str) -> list[_Token] | None:
    tokens, at = [], 0
    while at < len(text):
        found = _TOKEN.match(text, at)
        if not found or found.end() == at:
            return None
        at = found.end()
        if found["num"] is not None:
            number = found["num"]
            if number.count(".") > 1:  # thousands dots, as Chileans write UTM: 6.340.000
                number = number.replace(".", "")
            tokens.append(_Token("num", number, found["unit"] or ""))
        elif found["word"] is not None:
            # "H19", "19S", "290000E": letters glued to digits were split by the pattern.
            if found["word"] not in _WORDS:
                return None
            tokens.append(_Token("word", found["word"]))
    return tokens


def parse(text: str) -> Coordinate | None:
    """The point `text` writes, or None when it is not a coordinate (see the module)."""
    text = _normalise(text or "")
    if not text or len(text) > 80:
        return None
    tokens = _tokens(text)
    numbers = [t for t in tokens or () if t.kind == "num"]
    if tokens is None or len(numbers) < 2:
        return None
    words = [t.text for t in tokens if t.kind == "word"]
    units = any(t.unit for t in numbers)
    utm_words = {"HUSO", "ZONA", "UTM", "H", "Z"}
    if not units and (
        any(abs(t.value) >= 1000 for t in numbers) or any(w in utm_words for w in words)
    ):
        return _utm(tokens)
    return _degrees(tokens)


# --- degrees --------------------------------------------------------------------------------

_HEMISPHERES = {"S": ("lat", -1), "N": ("lat", 1), "W": ("lon", -1), "O": ("lon", -1),
                "E": ("lon", 1)}  # fmt: skip
_AXIS_WORDS = {"LAT": "lat", "LATITUD": "lat", "LON": "lon", "LNG": "lon", "LONGITUD": "lon"}


def _groups(tokens: list[_Token]) -> list[dict]:
    """Split the tokens into the two values: at hemisphere letters (before or after their
    numbers, whichever the text starts with), else at each degree sign, else in halves."""
    items = [
        t for t in tokens if t.kind == "num" or t.text in _HEMISPHERES or t.text in _AXIS_WORDS
    ]
    groups: list[dict] = []

    def new() -> dict:
        groups.append({"numbers": [], "hemisphere": None, "axis": None})
        return groups[-1]

    if any(t.kind == "word" for t in items):
        prefix = items[0].kind == "word"
        current = None
        for t in items:
            if t.kind == "word":
                if t.text in _AXIS_WORDS:
                    current = new() if current is None or current["numbers"] else current
                    current["axis"] = _AXIS_WORDS[t.text]
                    continue
                if prefix:
                    if current is None or current["numbers"] or current["hemisphere"]:
                        current = new()
                    current["hemisphere"] = t.text
                else:
                    if current is None or not current["numbers"] or current["hemisphere"]:
                        raise CoordinateError(f"No se entiende la coordenada. {HINT}")
                    current["hemisphere"] = t.text
                    current = None
            else:
                if current is None or (not prefix and current["hemisphere"]):
                    current = new()
                current["numbers"].append(t)
        return groups
    numbers = [t for t in items if t.kind == "num"]
    if any(t.unit == "°" for t in numbers):
        current = None
        for t in numbers:
            if t.unit == "°" or current is None:
                current = new()
            current["numbers"].append(t)
        return groups
    if len(numbers) % 2:
        raise CoordinateError(f"Se esperaban dos valores, latitud y longitud. {HINT}")
    half = len(numbers) // 2
    for part in (numbers[:half], numbers[half:]):
        new()["numbers"].extend(part)
    return groups


def _value(group: dict) -> float:
    numbers = group["numbers"]
    if not 1 <= len(numbers) <= 3:
        raise CoordinateError(f"Cada valor va en grados, minutos y segundos a lo más. {HINT}")
    # The units, when given, say which part is which ("33° 30'" or "33°03'00\"").
    order = ["°", "'", '"']
    for i, t in enumerate(numbers):
        if t.unit and t.unit != order[i]:
            raise CoordinateError(f"Los grados, minutos y segundos están desordenados. {HINT}")
    sign = -1 if numbers[0].text.startswith("-") else 1
    parts = [abs(t.value) for t in numbers]
    if any(t.text.startswith(("-", "+")) for t in numbers[1:]):
        raise CoordinateError(f"Solo los grados llevan signo. {HINT}")
    if any(p >= 60 for p in parts[1:]):
        raise CoordinateError("Los minutos y los segundos deben ser menores que 60.")
    if any("." in t.text for t in numbers[:-1]):
        raise CoordinateError("Solo la última parte (grados, minutos o segundos) lleva decimales.")
    degrees = sum(p / 60**i for i, p in enumerate(parts))
    hemisphere = group["hemisphere"]
    if hemisphere:
        axis, factor = _HEMISPHERES[hemisphere]
        if sign < 0 and factor > 0:
            raise CoordinateError(f"El signo menos y la letra {hemisphere} se contradicen.")
        if group["axis"] and group["axis"] != axis:
            raise CoordinateError(f"La letra {hemisphere} no corresponde a esa coordenada.")
        group["axis"] = axis
        return factor * degrees
    return sign * degrees


def _degrees(tokens: list[_Token]) -> Coordinate:
    groups = _groups(tokens)
    if len(groups) != 2:
        raise CoordinateError(f"Se esperaban dos valores, latitud y longitud. {HINT}")
    values = [_value(g) for g in groups]
    form = "gms" if any(len(g["numbers"]) > 1 for g in groups) else "decimal"
    axes = [g["axis"] for g in groups]
    if axes == [None, None]:
        # Chile's latitudes and longitudes do not overlap: the magnitudes tell them apart.
        swapped = _axis_of(values[0]) == "lon" or _axis_of(values[1]) == "lat"
        axes = ["lon", "lat"] if swapped else ["lat", "lon"]
    elif None in axes:
        known = axes[0] or axes[1]
        other = "lon" if known == "lat" else "lat"
        axes = [a or other for a in axes]
    if axes[0] == axes[1]:
        raise CoordinateError("Las dos coordenadas son latitudes o las dos longitudes.")
    lat, lon = (values[0], values[1]) if axes[0] == "lat" else (values[1], values[0])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise CoordinateError("La latitud va de -90 a 90 y la longitud de -180 a 180.")
    return _in_chile(Coordinate(lat=lat, lon=lon, form=form))


def _axis_of(value: float) -> str | None:
    magnitude = abs(value)
    if LATITUDES[0] <= magnitude <= LATITUDES[1]:
        return "lat"
    if LONGITUDES[0] <= magnitude <= LONGITUDES[1]:
        return "lon"
    return None


def in_chile(lon: float, lat: float) -> bool:
    return any(w <= lon <= e and s <= lat <= n for w, s, e, n in CHILE_BOXES)


def _in_chile(point: Coordinate) -> Coordinate:
    if in_chile(point.lon, point.lat):
        return point
    hint = ""
    if point.lat > 0 or point.lon > 0:
        hint = (
            " En Chile la latitud es sur y la longitud oeste:"
            " ¿faltó el signo menos o la letra S u O?"
        )
    raise CoordinateError(f"El punto {point.label} está fuera de Chile.{hint}")


# --- UTM ------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _from_utm(zone: int) -> Transformer:
    return Transformer.from_crs(f"EPSG:{32700 + zone}", "EPSG:4326", always_xy=True)


def _utm(tokens: list[_Token]) -> Coordinate:
    tokens = _ungroup(tokens)
    numbers = [t for t in tokens if t.kind == "num"]
    big = [t for t in numbers if abs(t.value) >= 1000]
    small = [t for t in numbers if abs(t.value) < 1000]
    if len(big) != 2:
        raise CoordinateError(f"UTM: se esperaban un valor este y uno norte, en metros. {HINT}")
    if not small:
        raise CoordinateError(
            "UTM: falta el huso, 18 o 19 (sur): por ejemplo «290000 6340000 19S»."
        )
    if len(small) > 1 or "." in small[0].text or small[0].text.startswith(("-", "+")):
        raise CoordinateError(f"UTM: no se entiende el huso. {HINT}")
    zone = int(small[0].text)
    at = tokens.index(small[0])
    after = tokens[at + 1] if at + 1 < len(tokens) else None
    beyond = tokens[at + 2] if at + 2 < len(tokens) else None
    band = None
    if after is not None and after.kind == "word" and not (beyond and beyond.kind == "num"):
        band = after.text
    if band == "N" or (band in NORTH_BANDS):
        raise CoordinateError("UTM: el huso es del hemisferio norte; Chile está en los husos sur.")
    if zone not in UTM_ZONES:
        raise CoordinateError(
            f"UTM: el huso {zone} no es de Chile continental, que usa los husos 18 y 19 sur."
        )
    easting, northing = sorted((t.value for t in big), key=lambda v: v >= 1_000_000)
    if not (100_000 <= easting <= 900_000 and 3_600_000 <= northing <= 8_200_000):
        raise CoordinateError(
            "UTM: el valor este va de 100.000 a 900.000 m y el norte, en Chile, de 3.700.000 a "
            "8.100.000 m."
        )
    lon, lat = _from_utm(zone).transform(easting, northing)
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise CoordinateError(f"UTM: la coordenada no es válida. {HINT}")
    return _in_chile(Coordinate(lat=lat, lon=lon, form="utm"))


def _ungroup(tokens: list[_Token]) -> list[_Token]:
    out = []
    for t in tokens:
        if t.kind == "num" and re.fullmatch(r"[-+]?\d{1,3}\.\d{3}", t.text):
            # Beside a UTM northing, 290.000 is an easting with a thousands dot, not 290 m.
            out.append(_Token("num", t.text.replace(".", ""), t.unit))
        else:
            out.append(t)
    return out
