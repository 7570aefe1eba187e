"""Source values as a mapping takes them: normalized, as lookup keys, through expressions and
templates.

A value one row cannot give raises RowError: that row is skipped and the import goes on.
"""

from __future__ import annotations

import ast
import math
import operator
import re
import string
from dataclasses import dataclass
from typing import Any


def normalize(value: Any) -> Any:
    """Source values as the mapping sees them: blank text is null, 238.0 is 238."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float):
        if math.isnan(value):
            return None
        if value.is_integer():
            return int(value)
    return value


def key_text(value: Any) -> str | None:
    """A value as a lookup key (ids, value maps): "238", "LBS"; booleans as "1"/"0".

    GDAL hands booleans over as 1/0 (GeoJSON, GeoPackage, KML alike), so the mapping's `true`
    and `false` are stored as "1" and "0" too.
    """
    value = normalize(value)
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    lowered = text.lower()
    if lowered in ("true", "false"):
        return "1" if lowered == "true" else "0"
    return text


# `where` compares numbers as numbers: a Shapefile or GeoPackage float column hands over 0.416
# as 0.416000008583069 (single precision), so equal means within a millionth of the value.
WHERE_REL_TOL = 1e-6
WHERE_ABS_TOL = 1e-9
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    return float(text) if _DECIMAL.fullmatch(text) else None


def where_matches(value: Any, accepted: tuple[Any, ...]) -> bool:
    """Whether a source value passes a `where` condition (one of the accepted values).

    A number in the mapping matches a numeric value (or numeric text) within WHERE_REL_TOL of
    it; anything else matches as text, as ids do (booleans as 1/0).
    """
    key = key_text(value)
    for wanted in accepted:
        if isinstance(wanted, int | float) and not isinstance(wanted, bool):
            number = _as_number(normalize(value))
            if number is not None and math.isclose(
                number, wanted, rel_tol=WHERE_REL_TOL, abs_tol=WHERE_ABS_TOL
            ):
                return True
        elif key is not None and key == key_text(wanted):
            return True
    return False


_BINARY = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos}


class RowError(Exception):
    """A value of one row cannot be taken; the row is skipped with this reason."""


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).replace(",", "."))
    except ValueError:
        raise RowError(f"la columna {name} no es numérica ({value!r})") from None


@dataclass(frozen=True)
class Expression:
    """Arithmetic over columns (`length_km * 1000`); nothing else is allowed."""

    text: str
    tree: ast.Expression
    names: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Expression:
        try:
            tree = ast.parse(text, mode="eval")
        except SyntaxError as exc:
            raise ValueError(f"expresión inválida {text!r}: {exc.msg}") from None
        names = []
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                names.append(node.id)
            elif isinstance(node, ast.Constant):
                if not isinstance(node.value, int | float) or isinstance(node.value, bool):
                    raise ValueError(f"expresión {text!r}: sólo números y columnas")
            elif isinstance(node, ast.BinOp):
                if type(node.op) not in _BINARY:
                    raise ValueError(f"expresión {text!r}: operador no permitido")
            elif isinstance(node, ast.UnaryOp):
                if type(node.op) not in _UNARY:
                    raise ValueError(f"expresión {text!r}: operador no permitido")
            elif not isinstance(node, ast.Expression | ast.operator | ast.unaryop | ast.Load):
                raise ValueError(f"expresión {text!r}: sólo + - * / ** y paréntesis")
        return cls(text, tree, tuple(dict.fromkeys(names)))

    def evaluate(self, row: dict[str, Any]) -> float | None:
        def walk(node: ast.AST) -> float | None:
            if isinstance(node, ast.Expression):
                return walk(node.body)
            if isinstance(node, ast.Constant):
                return float(node.value)
            if isinstance(node, ast.Name):
                value = row.get(node.id)
                return None if value is None else _number(node.id, value)
            if isinstance(node, ast.UnaryOp):
                operand = walk(node.operand)
                return None if operand is None else _UNARY[type(node.op)](operand)
            left, right = walk(node.left), walk(node.right)
            if left is None or right is None:
                return None
            try:
                return _BINARY[type(node.op)](left, right)
            except ZeroDivisionError:
                raise RowError(f"división por cero en {self.text}") from None

        return walk(self.tree)


def template_names(template: str) -> tuple[str, ...]:
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"plantilla inválida {template!r}: {exc}") from None
    names = []
    for _, name, _, _ in parsed:
        if name is None:
            continue
        if not name.isidentifier():
            raise ValueError(f"plantilla {template!r}: use {{columna}}")
        names.append(name)
    return tuple(dict.fromkeys(names))


def fill(template: str, row: dict[str, Any]) -> str:
    missing = [n for n in template_names(template) if row.get(n) is None]
    if missing:
        raise RowError(f"la columna {missing[0]} está vacía")
    try:
        return template.format(**row)
    except (ValueError, TypeError) as exc:
        raise RowError(f"no se puede aplicar la plantilla {template!r} ({exc})") from None
