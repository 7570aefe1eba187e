"""One strict number grammar for meter values (issue 14, point 8): ASCII digits, one decimal
separator, an optional sign; the CSV's decimal separator declared, never guessed."""

from __future__ import annotations

import csv
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metering.lib import parse_value
from metering.models import IntervalReading
from metering.services import ingest
from metering.services.billing.parse import parse_clp, parse_date, parse_kwh
from tests.factories import make_meter

A_PLUS = "0.0.2.4.1.1.12.0.0.0.0.0.0.0.0.3.72.0"
SANTIAGO = ZoneInfo("America/Santiago")


# --- the grammar itself -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("12", ".", 12.0),  # digits
        ("0.25", ".", 0.25),  # one decimal point
        ("0,25", ",", 0.25),  # one decimal comma, declared
        ("-1.5", ".", -1.5),  # sign
        ("+3", ".", 3.0),
        (" 7.5 ", ".", 7.5),  # spaces around
    ],
)
def test_a_value_of_the_grammar_is_accepted(text, decimal, value):
    assert parse_value(text, decimal) == value


@pytest.mark.parametrize(
    ("text", "decimal", "reason"),
    [
        ("1_000", ".", "'_' no se admite"),
        ("１２", ".", "dígitos no ASCII"),  # full-width
        ("١٢", ".", "dígitos no ASCII"),  # Arabic-Indic
        ("1.234,5", ",", "separador de miles no admitido"),
        ("1,234.5", ".", "separador de miles no admitido"),
        ("1.234", ",", "separador de miles no admitido"),
        ("0,25", ".", "separador decimal ',', pero el archivo usa '.'"),
        ("1.2.3", ".", "valor no numérico"),
        ("1e3", ".", "notación exponencial no admitida"),
        ("nan", ".", "valor no numérico"),
        ("inf", ".", "valor no numérico"),
        ("--1", ".", "valor no numérico"),
        (".5", ".", "valor no numérico"),
        ("", ".", "vacío"),
    ],
)
def test_a_value_outside_the_grammar_is_refused_with_the_reason(text, decimal, reason):
    with pytest.raises(ValueError, match=reason):
        parse_value(text, decimal)


def test_undeclared_in_a_semicolon_file_only_whole_numbers_are_taken():
    assert parse_value("1234", ambiguous=True) == 1234
    for text in ("1.234", "0,22"):
        with pytest.raises(ValueError, match="separador decimal no declarado"):
            parse_value(text, ambiguous=True)


# --- in files ---------------------------------------------------------------------------------


@pytest.fixture
def meter(db):
    return make_meter("customer", serial="MG-1")


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def report(result) -> dict[str, tuple[str, str]]:
    with open(result.report_path, encoding="utf-8-sig", newline="") as handle:
        return {
            row["ubicación"]: (row["campo"], row["motivo"])
            for row in csv.DictReader(handle, delimiter=";")
        }


def stored() -> dict[int, float]:
    """Value by local minute of 2026-03-11 00:mm."""
    return {
        ts.astimezone(SANTIAGO).minute + 60 * ts.astimezone(SANTIAGO).hour: value
        for ts, value in IntervalReading.objects.values_list("ts", "value")
    }


def rows(separator: str, values: list[str]) -> str:
    lines = []
    for n, value in enumerate(values, start=1):
        stamp = datetime(2026, 3, 11, n // 4, n % 4 * 15, tzinfo=SANTIAGO).isoformat()
        lines.append(separator.join(["MG-1", A_PLUS, stamp, value]))
    return "\n".join(lines) + "\n"


def test_a_semicolon_file_without_a_declaration_refuses_decimals_and_keeps_whole_numbers(
    meter, tmp_path
):
    path = write(
        tmp_path,
        "sin_declarar.csv",
        "meter;reading_type;timestamp;value\n" + rows(";", ["2", "1.234", "0,5"]),
    )
    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv")

    assert (result.inserted, result.rejected) == (1, 2)
    assert stored() == {15: 2.0}  # 1.234 is not stored a thousand times too small
    reasons = report(result)
    assert reasons["línea 3"][0] == "value"
    assert "separador decimal no declarado" in reasons["línea 3"][1]
    assert "separador decimal no declarado" in reasons["línea 4"][1]


def test_the_header_line_declares_a_decimal_comma(meter, tmp_path):
    text = "#decimal=,\nmeter;reading_type;timestamp;value\n" + rows(";", ["0,5", "1.234", "12"])
    result = ingest.ingest_file(write(tmp_path, "coma.csv", text), report_path=tmp_path / "r.csv")

    assert (result.inserted, result.rejected) == (2, 1)
    assert stored() == {15: 0.5, 45: 12.0}
    assert report(result)["línea 4"] == (
        "value",
        "valor no numérico: separador de miles no admitido",
    )


def test_the_option_declares_a_decimal_point_for_a_semicolon_file(meter, tmp_path):
    path = write(
        tmp_path, "punto.csv", "meter;reading_type;timestamp;value\n" + rows(";", ["1.234"])
    )
    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv", decimal=".")
    assert result.rejected == 0 and stored() == {15: 1.234}


def test_a_comma_file_uses_the_decimal_point_without_declaring_it(meter, tmp_path):
    path = write(
        tmp_path,
        "comas.csv",
        "meter,reading_type,timestamp,value\n" + rows(",", ["0.5", "1_000", "１２", "١٢", "1e3"]),
    )
    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv")

    assert (result.inserted, result.rejected) == (1, 4)
    assert stored() == {15: 0.5}
    reasons = report(result)
    assert "'_' no se admite" in reasons["línea 3"][1]
    assert "dígitos no ASCII" in reasons["línea 4"][1]
    assert "dígitos no ASCII" in reasons["línea 5"][1]
    assert "notación exponencial" in reasons["línea 6"][1]
    assert [r.line for r in result.rejections] == [3, 4, 5, 6]


def test_a_declaration_that_contradicts_the_option_refuses_the_file(meter, tmp_path):
    text = "#decimal=,\nmeter;reading_type;timestamp;value\n" + rows(";", ["0,5"])
    path = write(tmp_path, "contradice.csv", text)
    result = ingest.ingest_file(path, report_path=tmp_path / "r.csv", decimal=".")
    assert "declara el separador decimal ','" in result.fatal
    assert IntervalReading.objects.count() == 0


def test_an_unknown_directive_refuses_the_file(meter, tmp_path):
    text = "#sep=;\nmeter;reading_type;timestamp;value\n" + rows(";", ["1"])
    result = ingest.ingest_file(write(tmp_path, "sep.csv", text), report_path=tmp_path / "r.csv")
    assert result.fatal.startswith("línea 1: directiva desconocida")


def test_xml_values_follow_the_grammar_with_the_decimal_point(meter, tmp_path):
    readings = "".join(
        f"<m:IntervalReadings><m:timeStamp>2026-03-11T0{n // 4}:{n % 4 * 15:02d}:00-03:00"
        "</m:timeStamp>"
        f"<m:value>{value}</m:value></m:IntervalReadings>\n"
        for n, value in enumerate(["0.5", "1_000", "１２", "0,5"], start=1)
    )
    text = (
        '<msg:EventMessage xmlns:msg="http://iec.ch/TC57/2011/schema/message" '
        'xmlns:m="http://iec.ch/TC57/2011/MeterReadings#">\n'
        "<msg:Header><msg:Verb>created</msg:Verb><msg:Noun>MeterReadings</msg:Noun>"
        "<msg:MessageID>g-1</msg:MessageID></msg:Header>\n"
        "<msg:Payload><m:MeterReadings><m:MeterReading><m:Meter><m:mRID>MG-1</m:mRID></m:Meter>"
        f'<m:IntervalBlocks><m:ReadingType ref="{A_PLUS}"/>\n{readings}'
        "</m:IntervalBlocks></m:MeterReading></m:MeterReadings></msg:Payload></msg:EventMessage>\n"
    )
    result = ingest.ingest_file(write(tmp_path, "g.xml", text), report_path=tmp_path / "r.csv")

    assert (result.inserted, result.rejected) == (1, 3)
    reasons = report(result)
    assert "'_' no se admite" in reasons["línea 5 (IntervalReadings)"][1]
    assert "dígitos no ASCII" in reasons["línea 6 (IntervalReadings)"][1]
    assert "separador decimal ','" in reasons["línea 7 (IntervalReadings)"][1]


# --- billing files: the same digits, their documented formats kept -------------------------


def test_billing_numbers_keep_their_documented_formats():
    assert parse_kwh("1.234,5") == Decimal("1234.5")
    assert parse_kwh(" 12,5 ") == Decimal("12.5")
    assert parse_clp("$ 45.230") == 45230
    assert parse_clp("-500") == -500


@pytest.mark.parametrize("text", ["１２", "١٢", "1_000", "1 234", "12\n3"])
def test_billing_kwh_refuses_non_ascii_digits_underscores_and_inner_spaces(text):
    with pytest.raises(ValueError, match="no es un número"):
        parse_kwh(text)


@pytest.mark.parametrize("text", ["４５２３０", "1_000", "45 230"])
def test_billing_pesos_refuse_non_ascii_digits_underscores_and_inner_spaces(text):
    with pytest.raises(ValueError, match="no es un monto en pesos"):
        parse_clp(text)


def test_billing_dates_take_ascii_digits_only():
    with pytest.raises(ValueError, match="no es una fecha"):
        parse_date("２０２５-03-01")
