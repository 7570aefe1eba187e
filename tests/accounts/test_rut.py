from __future__ import annotations

import pytest

from accounts.lib import RutError, format_rut, is_valid_rut, normalize_rut


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("12.345.678-5", "12345678-5"),
        ("12345678-5", "12345678-5"),
        ("123456785", "12345678-5"),
        (" 12 345 678 5 ", "12345678-5"),
        ("012.345.678-5", "12345678-5"),
        ("10.000.013-k", "10000013-K"),
        ("10000013K", "10000013-K"),
        ("7.654.321-6", "7654321-6"),
    ],
)
def test_a_rut_typed_any_usual_way_is_stored_normalized(typed, stored):
    assert normalize_rut(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12.345.678-4", "dígito verificador incorrecto"),
        ("12345678-k", "dígito verificador incorrecto"),
        ("12.345-6", "7 u 8 dígitos"),
        ("123.456.789-0", "7 u 8 dígitos"),
        ("12.34A.678-5", "solo puede contener números"),
        ("abc", "solo puede contener números"),
        ("", "Ingrese el RUT"),
    ],
)
def test_a_bad_rut_is_refused_with_a_spanish_reason(typed, message):
    with pytest.raises(RutError, match=message):
        normalize_rut(typed)
    assert not is_valid_rut(typed)


def test_a_rut_is_displayed_with_dots_and_dash():
    assert format_rut("12345678-5") == "12.345.678-5"
    assert format_rut("10000013-K") == "10.000.013-K"
    assert format_rut("7654321-6") == "7.654.321-6"


def test_an_invalid_rut_is_displayed_as_it_came():
    assert format_rut("12345678-4") == "12345678-4"
