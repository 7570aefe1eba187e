"""Chilean RUT helpers (módulo 11), free of Django state.

Stored form: body without dots, a dash and an upper-case check digit ("12345678-5",
"7654321-K"). Display form: "12.345.678-5".
"""

from __future__ import annotations

import re

from stdnum.cl import rut as rut_lib
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError

EXAMPLE = "12.345.678-5"
# What is left once dots, dashes, spaces and a "CL" prefix are gone.
RUT_CHARACTERS = re.compile(r"[0-9]+[0-9K]")


class RutError(ValueError):
    """A RUT that cannot be accepted; the message is meant for the person who typed it."""


def normalize_rut(value: str) -> str:
    """The stored form of a RUT typed any usual way: "12.345.678-5", "123456785", "12345678-k".

    Raises RutError with a Spanish message when the value is not a valid RUT.
    """
    compact = rut_lib.compact(value or "")
    if not compact:
        raise RutError("Ingrese el RUT.")
    if not RUT_CHARACTERS.fullmatch(compact):
        raise RutError(
            "El RUT solo puede contener números, puntos, un guion y el dígito verificador "
            f"(0 a 9 o K), por ejemplo {EXAMPLE}."
        )
    # Leading zeros ("012.345.678-5") are padding, not digits of the body.
    body, check = compact[:-1].lstrip("0"), compact[-1:]
    # InvalidLength is a kind of InvalidFormat: the narrower one first.
    try:
        rut_lib.validate(body + check)
    except InvalidLength as exc:
        raise RutError(
            f"El RUT debe tener 7 u 8 dígitos y el dígito verificador, por ejemplo {EXAMPLE}."
        ) from exc
    except InvalidFormat as exc:
        raise RutError(
            "El RUT solo puede contener números, puntos, un guion y el dígito verificador "
            f"(0 a 9 o K), por ejemplo {EXAMPLE}."
        ) from exc
    except InvalidChecksum as exc:
        raise RutError("El RUT no es válido: dígito verificador incorrecto.") from exc
    except ValidationError as exc:  # any other complaint of the library
        raise RutError(f"El RUT no es válido; escríbalo como {EXAMPLE}.") from exc
    return f"{body}-{check}"


def is_valid_rut(value: str) -> bool:
    try:
        normalize_rut(value)
    except RutError:
        return False
    return True


def format_rut(value: str) -> str:
    """The display form ("12.345.678-5") of a stored or typed RUT; an invalid one as it came."""
    try:
        return rut_lib.format(normalize_rut(value))
    except RutError:
        return value
