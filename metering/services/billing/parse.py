r"""Cell parsers for the CIS export: each returns a value or raises ValueError with the reason
the operator reads in the report (in Spanish). No Django state here.

Numbers are ASCII digits only (`[0-9]`, never `\d`, which takes Arabic-Indic and full-width
digits), matched whole (`\Z`, not `$`, which also matches before a final newline), without
`_` (which `int()` and `Decimal()` would take as a digit group) and without inner spaces."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

# numeric(14, 3) and PostgreSQL bigint, with room to spare: a value past these is a CIS error.
MAX_KWH = Decimal("99999999999.999")
MAX_CLP = 10**15

_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})\Z")
_CHILEAN_DATE = re.compile(r"([0-9]{1,2})[-/]([0-9]{1,2})[-/]([0-9]{4})\Z")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{1,2})\Z")
_GROUPED = re.compile(r"[0-9]{1,3}(\.[0-9]{3})+\Z")
_DIGITS = re.compile(r"[0-9]+\Z")
_NUMBER_CHARS = re.compile(r"[0-9.,$+-]+\Z")


def _number_text(text: str, what: str = "no es un número") -> str:
    """The cell without its outer spaces, refused when it holds anything a number of the
    documented formats cannot (non-ASCII digits, '_', inner spaces, letters)."""
    body = text.strip()
    if _NUMBER_CHARS.match(body):
        return body
    if any(c.isdigit() and not c.isascii() for c in body):
        raise ValueError(f"{what}: dígitos no ASCII")
    if "_" in body:
        raise ValueError(f"{what}: '_' no se admite")
    raise ValueError(what)


def parse_date(text: str) -> date:
    """ISO (2026-03-01) or the Chilean day-first form (01-03-2026, 01/03/2026)."""
    if match := _ISO_DATE.match(text):
        year, month, day = match.groups()
    elif match := _CHILEAN_DATE.match(text):
        day, month, year = match.groups()
    else:
        raise ValueError("no es una fecha (use AAAA-MM-DD o DD-MM-AAAA)")
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        raise ValueError("fecha inexistente") from None


def parse_month(text: str) -> date:
    """AAAA-MM or the first day of the month. Any other day is refused: whether 2026-03-15
    means the March bill or the one read on that day depends on the CIS, so we do not guess."""
    if match := _MONTH.match(text):
        year, month = (int(g) for g in match.groups())
        if not 1 <= month <= 12:
            raise ValueError("mes inexistente")
        return date(year, month, 1)
    try:
        day = parse_date(text)
    except ValueError:
        raise ValueError("no es un mes (use AAAA-MM o AAAA-MM-01)") from None
    if day.day != 1:
        raise ValueError("el mes debe ser AAAA-MM o el primer día del mes (AAAA-MM-01)")
    return day


def parse_kwh(text: str) -> Decimal:
    """Energy, non-negative, up to 3 decimals. One separator alone ("1234.5" or "1234,5") is
    the decimal one; with both ("1.234,5" or "1,234.5") the last is, and the other must group
    thousands."""
    body = _number_text(text)
    if "$" in body:
        raise ValueError("no es un número")
    dot, comma = body.rfind("."), body.rfind(",")
    if dot >= 0 and comma >= 0:
        decimal_sep = "." if dot > comma else ","
        group_sep = "," if decimal_sep == "." else "."
        whole, _, fraction = body.rpartition(decimal_sep)
        if not _GROUPED.match(whole.replace(group_sep, ".")):
            raise ValueError("separadores de miles mal puestos")
        body = whole.replace(group_sep, "") + "." + fraction
    elif comma >= 0:
        if body.count(",") > 1:
            raise ValueError("más de una coma decimal")
        body = body.replace(",", ".")
    elif body.count(".") > 1:
        raise ValueError("más de un punto decimal (¿separador de miles? use 1.234,5)")
    if body.startswith("-"):
        raise ValueError("no puede ser negativo")
    whole, _, fraction = body.partition(".")
    if not _DIGITS.match(whole or "0") or (fraction and not _DIGITS.match(fraction)):
        raise ValueError("no es un número")
    if len(fraction) > 3:
        raise ValueError("más de 3 decimales")
    try:
        value = Decimal(body)
    except InvalidOperation:
        raise ValueError("no es un número") from None
    if value > MAX_KWH:
        raise ValueError("fuera de rango")
    return value


def parse_clp(text: str) -> int:
    """Chilean pesos, whole: "12345", "12.345", "$ 12.345", "-500" (a space only after `$`)."""
    stripped = text.strip()
    if stripped.startswith("$"):
        stripped = "$" + stripped[1:].lstrip(" ")
    body = _number_text(stripped, "no es un monto en pesos").removeprefix("$")
    negative = body.startswith("-")
    body = body.removeprefix("-").removeprefix("$")
    if _GROUPED.match(body):
        body = body.replace(".", "")
    if not _DIGITS.match(body):
        if re.match(r"[0-9.]+,[0-9]+\Z|[0-9]+\.[0-9]{1,2}\Z", body):
            raise ValueError("los montos en pesos no llevan decimales")
        raise ValueError("no es un monto en pesos")
    value = int(body)
    if value >= MAX_CLP:
        raise ValueError("fuera de rango")
    return -value if negative else value


def parse_choice(text: str, choices: dict[str, str]) -> str:
    """A code of `choices` however it is cased or spaced ("Vale vista" → "vale_vista")."""
    code = re.sub(r"[\s-]+", "_", text.strip().lower())
    if code not in choices:
        raise ValueError(f"valor no admitido; use {', '.join(choices)}")
    return code


def parse_text(text: str, max_length: int) -> str:
    if len(text) > max_length:
        raise ValueError(f"más de {max_length} caracteres")
    return text
