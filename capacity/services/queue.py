"""The connection queue (solicitudes de conexión) from a CSV of the distributor's registry.

One line per request: its stable public id, state, date, MW and connection pole (and its
feeder, which must be the pole's). A line with an unknown pole or feeder, or any other bad
value, is reported with its line number, field and value, and the rest of the file is loaded.
Lines are upserted by (distributor, public id): re-running the same file changes nothing.
Requests the file does not list are kept (a registry export may be partial); docs/capacity.md.
The feeders whose queue changed are recomputed once the load commits.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from capacity.models import ConnectionRequest
from network.models import Distributor, Feeder, Pole

EXIT_OK = 0  # every line accepted
EXIT_FAILED = 1  # the file was refused whole (unreadable, no header, unknown distributor)
EXIT_REJECTED = 3  # some lines were rejected; the others are stored (2 is argparse's)

COLUMNS = {
    "id_publico": "public_id",
    "estado": "state",
    "fecha_solicitud": "submitted_on",
    "potencia_mw": "mw",
    "poste": "pole",
    "alimentador": "feeder",
    "tecnologia": "technology",
}
REQUIRED = ("id_publico", "estado", "fecha_solicitud", "potencia_mw", "poste")
REPORT_HEADER = ["archivo", "linea", "campo", "valor", "motivo"]
MAX_MW = Decimal("9999.999")


class QueueImportError(Exception):
    """The file cannot be read at all; nothing was stored."""


@dataclass
class Problem:
    file: str
    line: int | None
    field: str
    value: str
    reason: str

    def row(self) -> list[str]:
        return [self.file, "" if self.line is None else str(self.line), self.field, self.value,
                self.reason]  # fmt: skip

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}, línea {self.line}"
        value = f" ({self.value!r})" if self.value else ""
        return f"{where}: {self.field}{value}: {self.reason}"


@dataclass
class QueueResult:
    file: str
    lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    feeders: set[int] = field(default_factory=set)  # whose queue changed

    @property
    def rejected(self) -> int:
        return len({p.line for p in self.problems if p.line is not None})

    @property
    def exit_code(self) -> int:
        return EXIT_REJECTED if self.problems else EXIT_OK

    def summary(self) -> str:
        return (
            f"{self.file}: {self.lines} líneas; {self.created} solicitudes creadas, "
            f"{self.updated} actualizadas, {self.unchanged} sin cambios; "
            f"{self.rejected} líneas rechazadas"
        )

    def write_report(self, path: Path) -> None:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, delimiter=";")
            writer.writerow(REPORT_HEADER)
            writer.writerows(p.row() for p in self.problems)


STATES = {}
for _state in ConnectionRequest.State:
    STATES[_state.value] = _state
    STATES[_state.label.lower()] = _state
STATES.update({"en construcción": ConnectionRequest.State.BUILDING})


def _state(text: str) -> ConnectionRequest.State:
    key = " ".join(text.strip().lower().split())
    if key.replace(" ", "_") in STATES:
        return STATES[key.replace(" ", "_")]
    if key in STATES:
        return STATES[key]
    names = ", ".join(s.value for s in ConnectionRequest.State)
    raise ValueError(f"estado desconocido (son {names})")


def _date(text: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d-%m-%Y", "%d/%m/%Y"):
        try:
            value = datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a date, no time)
        except ValueError:
            continue
        if value > timezone.localdate():
            raise ValueError("es una fecha futura")
        return value
    raise ValueError("fecha no válida (AAAA-MM-DD o DD-MM-AAAA)")


def _mw(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError("no es un número") from None
    if not value.is_finite() or value <= 0:
        raise ValueError("debe ser mayor que cero")
    if value > MAX_MW:
        raise ValueError(f"supera {MAX_MW} MW")
    if value.as_tuple().exponent < -3:
        raise ValueError("tiene más de 3 decimales")
    return value


def _read(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise QueueImportError(f"{path}: no se puede leer ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise QueueImportError(f"{path}: no está en UTF-8 (byte {exc.start})") from exc
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise QueueImportError(f"{path}: está vacío") from None
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise QueueImportError(f"{path}: faltan las columnas {', '.join(missing)}")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        raise QueueImportError(
            f"{path}: columnas desconocidas {', '.join(unknown)} (son {', '.join(COLUMNS)})"
        )
    rows = []
    for cells in reader:
        line = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        rows.append((line, dict(zip(header, cells, strict=False)) | {"_cells": len(cells)}))
    return header, rows


def import_queue(path: Path, distributor_code: str) -> QueueResult:
    """Load the file; raise QueueImportError (nothing stored) if it cannot be read at all."""
    path = Path(path)
    distributor = Distributor.objects.filter(code=distributor_code).first()
    if distributor is None:
        raise QueueImportError(f"distribuidora desconocida: {distributor_code!r}")
    header, rows = _read(path)
    result = QueueResult(path.name)
    parsed: dict[str, tuple[int, dict]] = {}
    plates, codes = set(), set()
    for line, row in rows:
        result.lines += 1
        if row.pop("_cells") != len(header):
            result.problems.append(
                Problem(path.name, line, "línea", "", f"tiene otro número de columnas que el "
                        f"encabezado ({len(header)})")
            )  # fmt: skip
            continue
        values, bad = {}, False
        for column, parser in (("estado", _state), ("fecha_solicitud", _date),
                               ("potencia_mw", _mw)):  # fmt: skip
            try:
                values[COLUMNS[column]] = parser(row[column])
            except ValueError as exc:
                result.problems.append(Problem(path.name, line, column, row[column], str(exc)))
                bad = True
        public_id = row["id_publico"].strip()
        if not public_id or len(public_id) > 40:
            reason = "vacío" if not public_id else "más de 40 caracteres"
            result.problems.append(Problem(path.name, line, "id_publico", public_id, reason))
            bad = True
        elif public_id in parsed:
            first = parsed[public_id][0]
            result.problems.append(
                Problem(path.name, line, "id_publico", public_id, f"repetido (línea {first})")
            )
            continue
        technology = row.get("tecnologia", "").strip()
        if len(technology) > 40:
            result.problems.append(
                Problem(path.name, line, "tecnologia", technology, "más de 40 caracteres")
            )
            bad = True
        values |= {"plate": row["poste"].strip(), "feeder_code": row.get("alimentador", "").strip(),
                   "technology": technology}  # fmt: skip
        plates.add(values["plate"])
        if values["feeder_code"]:
            codes.add(values["feeder_code"])
        parsed[public_id] = (line, None if bad else values)

    poles = {
        plate: (pk, feeder_id)
        for plate, pk, feeder_id in Pole.objects.filter(
            distributor=distributor, plate__in=plates
        ).values_list("plate", "pk", "feeder_id")
    }
    feeders = dict(
        Feeder.objects.filter(distributor=distributor, code__in=codes).values_list("code", "pk")
    )
    feeder_codes = dict(
        Feeder.objects.filter(pk__in={f for _, f in poles.values()}).values_list("pk", "code")
    )
    wanted = {}
    for public_id, (line, values) in parsed.items():
        if values is None:
            continue
        pole = poles.get(values["plate"])
        if pole is None:
            result.problems.append(
                Problem(path.name, line, "poste", values["plate"],
                        f"no existe en la red de {distributor.code}")
            )  # fmt: skip
            continue
        code = values["feeder_code"]
        if code and code not in feeders:
            result.problems.append(
                Problem(path.name, line, "alimentador", code,
                        f"no existe en la red de {distributor.code}")
            )  # fmt: skip
            continue
        if code and feeders[code] != pole[1]:
            result.problems.append(
                Problem(path.name, line, "alimentador", code,
                        f"el poste {values['plate']} es del alimentador {feeder_codes[pole[1]]}")
            )  # fmt: skip
            continue
        wanted[public_id] = {
            "state": values["state"], "submitted_on": values["submitted_on"], "mw": values["mw"],
            "pole_id": pole[0], "feeder_id": pole[1], "technology": values["technology"],
        }  # fmt: skip
    with transaction.atomic():
        existing = {
            r.public_id: r
            for r in ConnectionRequest.objects.select_for_update().filter(
                distributor=distributor, public_id__in=list(wanted)
            )
        }
        today = timezone.localdate()
        for public_id, values in wanted.items():
            current = existing.get(public_id)
            if current is None:
                ConnectionRequest.objects.create(
                    distributor=distributor, public_id=public_id, as_of=today, **values
                )
                result.created += 1
                result.feeders.add(values["feeder_id"])
                continue
            changed = {k: v for k, v in values.items() if getattr(current, k) != v}
            if not changed:
                result.unchanged += 1
                continue
            result.feeders |= {current.feeder_id, values["feeder_id"]}
            for name, value in changed.items():
                setattr(current, name, value)
            current.as_of = today
            current.save()
            result.updated += 1
        if result.feeders:
            from capacity.tasks import recompute_later

            recompute_later(result.feeders, trigger="cola de conexión importada")
    return result
