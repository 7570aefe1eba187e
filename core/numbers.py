"""Figures as Chileans write them: $ 1.234.567 and 1.234,5 (pages, PDFs and sentences alike)."""

from __future__ import annotations

from decimal import Decimal

NBSP = "\u00a0"
MINUS = "\u2212"  # typographic minus: a hyphen would break the line after it


def clp(value, signed: bool = False) -> str:
    """A peso amount: $ 1.234.567; `signed` adds + to a positive amount (changes, effects)."""
    if value is None or value == "":
        return "—"
    amount = int(Decimal(value).quantize(Decimal(1)))
    text = "$" + NBSP + f"{abs(amount):,}".replace(",", ".")
    if amount < 0:
        return MINUS + text
    return ("+" + text) if signed and amount > 0 else text


def number(value, decimals: int = 1) -> str:
    """A figure with Chilean separators: 1.234,5."""
    if value is None or value == "":
        return "—"
    text = f"{Decimal(value):,.{int(decimals)}f}"
    return text.replace(",", "_").replace(".", ",").replace("_", ".")
