from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from metering.services.billing.parse import (
    parse_choice,
    parse_clp,
    parse_date,
    parse_kwh,
    parse_month,
)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1234", Decimal("1234")),
        ("1234,5", Decimal("1234.5")),
        ("1234.5", Decimal("1234.5")),
        ("1.234,567", Decimal("1234.567")),
        ("1,234.5", Decimal("1234.5")),
        ("1.234", Decimal("1.234")),  # one separator alone is the decimal one
        ("0,001", Decimal("0.001")),
    ],
)
def test_kwh_takes_a_decimal_point_or_comma(text, value):
    assert parse_kwh(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "no es un número"),
        ("-1", "no puede ser negativo"),
        ("1,2345", "más de 3 decimales"),
        ("1.234.567", "más de un punto decimal"),
        ("12.34,5", "separadores de miles mal puestos"),
        ("1e5", "no es un número"),
    ],
)
def test_kwh_refuses_what_is_not_an_energy(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_kwh(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [("45230", 45230), ("45.230", 45230), ("$ 1.045.230", 1045230), ("-500", -500)],
)
def test_pesos_take_chilean_thousands_separators(text, value):
    assert parse_clp(text) == value


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("100,5", "no llevan decimales"),
        ("100.5", "no llevan decimales"),
        ("20.000,5", "no llevan decimales"),
        ("mil", "no es un monto en pesos"),
    ],
)
def test_pesos_refuse_decimals_and_words(text, reason):
    with pytest.raises(ValueError, match=reason):
        parse_clp(text)


@pytest.mark.parametrize("text", ["2025-03-01", "01-03-2025", "1/3/2025"])
def test_dates_are_iso_or_day_first(text):
    assert parse_date(text) == date(2025, 3, 1)


def test_a_month_is_its_first_day_and_any_other_day_is_refused():
    assert parse_month("2025-03") == date(2025, 3, 1)
    assert parse_month("2025-03-01") == date(2025, 3, 1)
    with pytest.raises(ValueError, match="primer día"):
        parse_month("2025-03-15")
    with pytest.raises(ValueError, match="mes inexistente"):
        parse_month("2025-00")


def test_a_choice_is_matched_however_it_is_cased_or_spaced():
    choices = {"vale_vista": "Vale vista", "cheque": "Cheque"}
    assert parse_choice(" Vale Vista ", choices) == "vale_vista"
    with pytest.raises(ValueError, match="use vale_vista, cheque"):
        parse_choice("efectivo", choices)
