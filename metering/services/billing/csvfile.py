"""Reading one CIS CSV: encoding, separator, header and line numbers as an editor shows them."""

from __future__ import annotations

import csv
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .report import FileError

# Bytes that are not UTF-8 come through as lone surrogates, so that the line, not the file,
# is refused.
_NOT_UTF8 = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class Line:
    number: int
    cells: dict[str, str]
    error: str = ""  # the line cannot be split into the header's fields


class CsvFile:
    """One CSV of the export, opened and its header checked; `lines()` yields the data lines.

    Quoting is strict: a stray quote would otherwise swallow the lines after it into one
    field, so it stops the file with its line number instead.
    The separator is the header's: ";" when it has one (the Chilean Excel default), else ",".
    Header names are matched trimmed and case-insensitively; an unknown one is fatal, because a
    misspelt optional column would otherwise be ignored without a word.
    """

    def __init__(self, path: Path, allowed: list[str], required: list[str]):
        try:
            self._handle = path.open(encoding="utf-8-sig", errors="surrogateescape", newline="")
        except OSError as exc:
            raise FileError(f"no se puede abrir: {exc.strerror}") from None
        try:
            first = self._handle.readline()
            if not first.strip():
                raise FileError("está vacío o su primera línea no es el encabezado")
            self.delimiter = ";" if ";" in first else ","
            self._reader = csv.reader(
                itertools.chain([first], self._handle), delimiter=self.delimiter, strict=True
            )
            self.header = [name.strip().lower() for name in next(self._reader)]
            _check_header(self.header, allowed, required)
        except csv.Error as exc:
            self.close()
            raise FileError(f"encabezado ilegible ({exc})") from None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self._handle.close()

    def lines(self) -> Iterator[Line]:
        """Each non-blank data line, numbered from the file's first line (the header is 1)."""
        reader, header = self._reader, self.header
        previous = reader.line_num
        try:
            for row in reader:
                number, previous = previous + 1, reader.line_num
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(header):
                    yield Line(
                        number,
                        {},
                        f"tiene {len(row)} campos y el encabezado {len(header)} "
                        f"(separador {self.delimiter!r})",
                    )
                    continue
                if _NOT_UTF8.search("".join(row)):
                    yield Line(number, {}, "contiene texto que no es UTF-8")
                    continue
                yield Line(
                    number, {name: cell.strip() for name, cell in zip(header, row, strict=True)}
                )
        except csv.Error as exc:
            raise FileError(f"línea {reader.line_num}: CSV ilegible ({exc})") from None


def _check_header(header: list[str], allowed: list[str], required: list[str]) -> None:
    if _NOT_UTF8.search("".join(header)):
        raise FileError("el encabezado no es UTF-8")
    seen = set()
    for name in header:
        if name in seen:
            raise FileError(f"la columna {name!r} está dos veces en el encabezado")
        seen.add(name)
        if name not in allowed:
            raise FileError(f"columna desconocida {name!r} (admitidas: {', '.join(allowed)})")
    missing = [name for name in required if name not in seen]
    if missing:
        raise FileError(f"falta la columna obligatoria {', '.join(repr(m) for m in missing)}")
