"""Coordinates typed in the map's search box (maps.lib.coordinates): the formats read, what is
not a coordinate at all, and the clear Spanish messages for the bad ones."""

from __future__ import annotations

import pytest

from geo.lib.utm import to_utm
from maps.lib.coordinates import CoordinateError, in_chile, parse

LAT, LON = -33.05, -71.68  # 33°03'00" S, 71°40'48" W
E19, N19 = 290000, 6340000
UTM_LON, UTM_LAT = -71.2492579, -33.0583061  # that UTM point, by pyproj


@pytest.mark.parametrize(
    "text",
    [
        "-33.05,-71.68",
        "-33.05, -71.68",
        "-33.05 -71.68",
        "-33.05;-71.68",
        "  -33.05   -71.68  ",
        "-71.68, -33.05",  # longitude first: Chile's ranges do not overlap
        "-71.68 -33.05",
        "-33,05 -71,68",  # decimal commas
        "-33,05; -71,68",
        "33.05 S 71.68 W",
        "33.05S 71.68O",
        "33.05 s, 71.68 o",
        "S 33.05 O 71.68",
        "71.68 W 33.05 S",
        "lat -33.05 lon -71.68",
        "−33.05 −71.68",  # the typographic minus
    ],
)
def test_decimal_degrees_are_read_in_either_order(text):
    point = parse(text)
    assert point.form == "decimal"
    assert point.lat == pytest.approx(LAT) and point.lon == pytest.approx(LON)


@pytest.mark.parametrize(
    "text",
    [
        "33°03'00\"S 71°40'48\"W",
        "33°03'00\"S, 71°40'48\"O",
        "33º03'00\"S 71º40'48\"O",
        "33°03′00″S 71°40′48″W",
        "33°03’00”S 71°40’48”W",
        "33°03'00''S 71°40'48''W",
        "33° 3' 0\" S 71° 40' 48\" W",
        "S 33°03'00\" W 71°40'48\"",
        "-33°03'00\" -71°40'48\"",
        "71°40'48\"W 33°03'00\"S",
        "33 03 00 S 71 40 48 W",
        "33°03'S 71°40.8'W",
        "33°3'S 71°40,8'O",
        "33°03.0'S 71°40.80'W",
        "33°03'0.0\"S 71°40'48.0\"W",
    ],
)
def test_degrees_minutes_and_seconds_are_read_with_their_many_marks(text):
    point = parse(text)
    assert point.form == "gms"
    assert point.lat == pytest.approx(LAT, abs=1e-9) and point.lon == pytest.approx(LON, abs=1e-9)


def test_decimal_minutes_are_read():
    point = parse("33°03.5'S 71°40.8'W")
    assert point.lat == pytest.approx(-(33 + 3.5 / 60))
    assert point.lon == pytest.approx(LON)


@pytest.mark.parametrize(
    "text",
    [
        f"{E19} {N19} 19S",
        f"{N19} {E19} 19",
        f"{E19} {N19} 19",
        f"E {E19} N {N19} H19",
        f"{E19}E {N19}N 19H",
        f"19H {E19} {N19}",
        f"19S {E19} {N19}",
        f"huso 19 {E19} {N19}",
        f"{E19}, {N19}, zona 19 sur",
        "290.000 6.340.000 19S",  # thousands with dots, as in Chile
        f"UTM 19S {E19}.0 {N19}.0",
    ],
)
def test_utm_is_read_with_its_zone_in_either_order(text):
    point = parse(text)
    assert point.form == "utm"
    assert point.lon == pytest.approx(UTM_LON, abs=1e-6)
    assert point.lat == pytest.approx(UTM_LAT, abs=1e-6)


def test_utm_in_zone_18_is_read_in_zone_18():
    back = to_utm(-73.05, -41.47, zone=18)  # Puerto Montt
    point = parse(f"{back.x:.1f} {back.y:.1f} 18S")
    assert point.lon == pytest.approx(-73.05, abs=1e-6)
    assert point.lat == pytest.approx(-41.47, abs=1e-6)


@pytest.mark.parametrize(
    "text",
    ["P00000001", "AL00001", "SE0001", "12345678", "Valparaíso", "-33.05", "Los Andes 2", "",
     "x" * 90, "TD00000023", "a;b"],
)  # fmt: skip
def test_ids_plates_and_names_are_not_coordinates(text):
    assert parse(text) is None


@pytest.mark.parametrize(
    "text, words",
    [
        ("33.05 71.68", "fuera de Chile"),  # the sign forgotten
        ("33.05 71.68", "signo menos"),
        ("33.05 N 71.68 W", "fuera de Chile"),
        ("33.05 S 71.68 E", "fuera de Chile"),
        ("48.85 2.35", "fuera de Chile"),  # Paris
        ("-34.6 -58.4", "fuera de Chile"),  # Buenos Aires
        ("-33.05 -71.68 -5", "dos valores"),
        ("-33.05 -71.68 -5 -6 -7", "dos valores"),
        ("33°70'S 71°W", "menores que 60"),
        ("33°03'61\"S 71°40'48\"W", "menores que 60"),
        ("33'03°S 71°40'W", "desordenados"),
        ("-33.05 N -71.68 W", "contradicen"),
        ("33.05 S 71.68 S", "latitudes"),
        ("33.5°10' S 71° W", "decimales"),
        ("-133.05 -71.68", "-90 a 90"),
        (f"{E19} {N19}", "falta el huso"),
        (f"{E19} {N19} 19N", "hemisferio norte"),
        (f"{E19} {N19} 17S", "husos 18 y 19"),
        (f"{E19} {N19} 20", "husos 18 y 19"),
        (f"{E19} 9900000 19S", "valor este"),
        (f"{E19} 999 19S", "valor este"),
        ("1000000 6340000 19S", "valor este"),
    ],
)
def test_malformed_or_foreign_coordinates_say_why_in_spanish(text, words):
    with pytest.raises(CoordinateError) as raised:
        parse(text)
    assert words in str(raised.value)


def test_the_islands_are_in_chile_and_the_pacific_is_not():
    assert in_chile(-109.35, -27.12)  # Rapa Nui
    assert in_chile(-78.83, -33.64)  # Robinson Crusoe
    assert not in_chile(-90.0, -30.0)
    with pytest.raises(CoordinateError):
        parse("-30 -90")
    assert parse("-27.12 -109.35").lon == pytest.approx(-109.35)


def test_the_label_uses_the_decimal_comma():
    assert parse("-33.05 -71.68").label == "-33,05000; -71,68000"
