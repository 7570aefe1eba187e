"""Pure helpers of the metering app, without Django state: the number grammar of meter values
and the exit codes of the ingest and import commands."""

from __future__ import annotations

import re

# Exit status of ingest_readings, import_billing and ingest_dr_messages (docs/metering.md).
EXIT_OK = 0  # every row (value, line, message) was accepted
EXIT_FAILED = 1  # the run could not start, or a file was refused whole
EXIT_REJECTED = 3  # some rows were rejected; the accepted ones are stored (2 is argparse's)

DECIMALS = (".", ",")
NOT_A_NUMBER = "valor no numérico"

# ASCII digits, at most one decimal separator with digits on both sides, an optional sign.
_GRAMMAR = {
    ".": re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?"),
    ",": re.compile(r"[+-]?[0-9]+(?:,[0-9]+)?"),
}
_EXPONENT = re.compile(r"[+-]?[0-9]+(?:[.,][0-9]*)?[eE][+-]?[0-9]+")
_GROUPED = re.compile(r"[+-]?[0-9]{1,3}(?:[.,][0-9]{3})+(?:[.,][0-9]+)?")


def value_parser(decimal: str = ".", ambiguous: bool = False):
    """A function from the text of a meter value to its float (None when it does not fit the
    grammar). `ambiguous`: the decimal separator was not declared where it could be either
    (a ';' file), so only whole numbers are taken."""
    match = (re.compile(r"[+-]?[0-9]+") if ambiguous else _GRAMMAR[decimal]).fullmatch
    comma = decimal == ","

    def parse(text: str) -> float | None:
        if match(text) is None:
            text = text.strip(" \t")
            if match(text) is None:
                return None
        return float(text.replace(",", ".") if comma else text)

    return parse


def value_error(text: str, decimal: str = ".", ambiguous: bool = False) -> str:
    """Why `text` is not a meter value under the grammar (for the report)."""
    body = text.strip(" \t")
    other = "," if decimal == "." else "."
    if not body:
        return f"{NOT_A_NUMBER}: vacío"
    if "_" in body:
        return f"{NOT_A_NUMBER}: '_' no se admite en un número"
    if not body.isascii() and any(c.isdigit() or c.isnumeric() for c in body):
        return f"{NOT_A_NUMBER}: dígitos no ASCII"
    if _EXPONENT.fullmatch(body):
        return f"{NOT_A_NUMBER}: notación exponencial no admitida"
    if ambiguous and ("." in body or "," in body):
        return (
            f"{NOT_A_NUMBER}: separador decimal no declarado (archivo separado por ';': "
            "declare '#decimal=,' o '#decimal=.' en la primera línea, o use --decimal)"
        )
    if _GROUPED.fullmatch(body) and (body.count(".") + body.count(",") > 1 or other in body):
        return f"{NOT_A_NUMBER}: separador de miles no admitido"
    if other in body and _GRAMMAR[other].fullmatch(body):
        return f"{NOT_A_NUMBER}: separador decimal {other!r}, pero el archivo usa {decimal!r}"
    if body.count(decimal) > 1:
        return f"{NOT_A_NUMBER}: más de un separador decimal"
    return NOT_A_NUMBER


def parse_value(text: str, decimal: str = ".", ambiguous: bool = False) -> float:
    """The float of a meter value, or ValueError with the reason."""
    value = value_parser(decimal, ambiguous)(text)
    if value is None:
        raise ValueError(value_error(text, decimal, ambiguous))
    return value
