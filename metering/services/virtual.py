"""Virtual meters (Hemera's "medição virtual"): channels defined as sums and differences of
other meters' channels, under dated definitions (VirtualTerm), computed into the readings
store like a real meter's values so that pages, balances and reports read them alike.

- `check_terms(channel, terms)` refuses a definition that refers to itself (directly or
  through other virtual channels), to a missing channel, or to a channel of another reading
  type or interval: the message names the term.
- `compute(first_day, last_day)` writes every virtual channel's values for the local days
  given: at each interval, Σ sign × the source's validated value (raw without VEE flags, else
  its estimate) over the terms valid that day; an interval where a source has no value gets
  none (a gap, never a partial sum). A value computed from an estimate carries the quality bit
  FROM_ESTIMATES. Values no longer computed (a definition changed) are removed; unchanged ones
  are left as they are. Virtual channels of virtual channels are computed after their sources.
- `import_definitions(path)`: a CSV of definitions, checked line by line.

Ingest calls `compute` for the days a file touched (in its transaction); the daily metering
task calls it after the VEE, whose estimates feed it.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from metering.models import Channel, IngestRun, Meter, Quality, ReadingType, VirtualTerm
from metering.services import partitions
from metering.services.vee import VEE_BITS, period

CALCULATION_FORMAT = "calc"  # IngestRun.file_format of a computation that read no file


class DefinitionError(ValueError):
    """A virtual definition that cannot be accepted; the message says why."""


@dataclass(frozen=True)
class Term:
    source: Channel
    sign: int
    valid_from: date
    valid_to: date | None


def overlaps(a_from: date, a_to: date | None, b_from: date, b_to: date | None) -> bool:
    return a_from <= (b_to or date.max) and b_from <= (a_to or date.max)


def _label(channel: Channel) -> str:
    return f"{channel.meter.serial}/{channel.reading_type.code}"


def check_terms(channel: Channel, terms: list[Term]) -> None:
    """Raise DefinitionError if `channel` may not be defined by `terms` (added to its stored
    terms that are not being replaced by the same source and start day)."""
    meter = channel.meter
    if not meter.virtual:
        raise DefinitionError(f"{meter.serial} no es un medidor virtual")
    if not terms:
        raise DefinitionError("la definición no tiene términos")
    for term in terms:
        source = term.source
        if term.sign not in (1, -1):
            raise DefinitionError(f"signo {term.sign}: se esperaba + o −")
        if term.valid_to is not None and term.valid_to < term.valid_from:
            raise DefinitionError(f"{_label(source)}: vigencia hasta antes de desde")
        if source.pk == channel.pk:
            raise DefinitionError(f"{_label(channel)} se refiere a sí mismo")
        if source.reading_type_id != channel.reading_type_id:
            raise DefinitionError(
                f"{_label(source)} es de otro tipo de lectura que {_label(channel)}"
            )
        if source.meter.interval_minutes != meter.interval_minutes:
            raise DefinitionError(
                f"{_label(source)} tiene otro periodo ({source.meter.interval_minutes} min) "
                f"que {meter.serial} ({meter.interval_minutes} min)"
            )
        if source.meter.backup_for_id is not None:
            raise DefinitionError(f"{_label(source)} es un medidor de respaldo: use su principal")
    seen: dict[tuple[int, date], Term] = {}
    for term in terms:
        key = (term.source.pk, term.valid_from)
        if key in seen:
            raise DefinitionError(f"{_label(term.source)} aparece dos veces")
        seen[key] = term
    for a in terms:
        for b in terms:
            if (
                a is not b
                and a.source.pk == b.source.pk
                and overlaps(a.valid_from, a.valid_to, b.valid_from, b.valid_to)
            ):
                raise DefinitionError(f"{_label(a.source)} aparece dos veces en un mismo periodo")
    cycle = _cycle(channel.pk, {term.source.pk for term in terms})
    if cycle:
        names = dict(
            Channel.objects.filter(pk__in=cycle)
            .values_list("pk", "meter__serial")
        )  # fmt: skip
        path = " → ".join(names[pk] for pk in [channel.pk, *cycle])
        raise DefinitionError(f"la definición se refiere a sí misma: {path}")


def _cycle(channel_id: int, sources: set[int]) -> list[int]:
    """The path from one of `sources` back to `channel_id` through stored definitions, if
    any (the virtual channel would depend on itself)."""
    graph: dict[int, set[int]] = {}
    for target, source in VirtualTerm.objects.values_list("channel_id", "source_id"):
        graph.setdefault(target, set()).add(source)
    graph[channel_id] = set(sources)
    # Depth-first from channel_id; a path that reaches it again is a cycle.
    stack: list[tuple[int, list[int]]] = [(s, [s]) for s in sources]
    seen: set[int] = set()
    while stack:
        node, path = stack.pop()
        if node == channel_id:
            return path
        if node in seen:
            continue
        seen.add(node)
        stack.extend((n, [*path, n]) for n in graph.get(node, ()))
    return []


@transaction.atomic
def define(channel: Channel, terms: list[Term]) -> list[VirtualTerm]:
    """Store a new definition of `channel` from `terms[0].valid_from` on: the stored terms
    still open then end the day before; the new ones are created. Checked first."""
    check_terms(channel, terms)
    start = min(term.valid_from for term in terms)
    stored = VirtualTerm.objects.select_for_update().filter(channel=channel)
    same_start = {
        (t.source_id, t.sign, t.valid_from, t.valid_to) for t in stored.filter(valid_from=start)
    }
    wanted = {(t.source.pk, t.sign, t.valid_from, t.valid_to) for t in terms}
    if same_start and same_start == wanted:
        return []  # stored already (a re-run of the same definition)
    if stored.filter(valid_from__gte=start).exists():
        raise DefinitionError(
            f"{_label(channel)} ya tiene una definición desde el {start:%d/%m/%Y} o después"
        )
    stored.filter(valid_to__isnull=True).update(valid_to=start - timedelta(days=1))
    stored.filter(valid_to__gte=start).update(valid_to=start - timedelta(days=1))
    return VirtualTerm.objects.bulk_create(
        VirtualTerm(
            channel=channel,
            source=term.source,
            sign=term.sign,
            valid_from=term.valid_from,
            valid_to=term.valid_to,
        )
        for term in terms
    )


# --- computation ------------------------------------------------------------------------------

# The terms of the channels computed in this pass, valid in the period, with their validity
# as instants (an interval ending at local midnight belongs to the day before).
TERMS = """
    CREATE TEMPORARY TABLE virtual_term ON COMMIT DROP AS
    SELECT t.channel_id, t.source_id, t.sign, t.valid_from,
           coalesce(t.valid_to, 'infinity'::date) AS valid_to,
           t.valid_from::timestamp AT TIME ZONE %(zone)s AS valid_start,
           CASE WHEN t.valid_to IS NULL THEN 'infinity'::timestamptz
                ELSE (t.valid_to + 1)::timestamp AT TIME ZONE %(zone)s END AS valid_end
      FROM metering_virtualterm t
     WHERE t.channel_id = ANY(%(channels)s::int[])
       AND t.valid_from <= %(last_day)s AND coalesce(t.valid_to, 'infinity') >= %(first_day)s
"""
# Per virtual channel and local day, how many terms its formula has: a slot is computed only
# when every one of them has a value.
TERM_COUNTS = """
    CREATE TEMPORARY TABLE virtual_day ON COMMIT DROP AS
    SELECT t.channel_id, d.day::timestamp AT TIME ZONE %(zone)s AS day_start,
           (d.day + interval '1 day')::timestamp AT TIME ZONE %(zone)s AS day_end,
           count(*) AS terms
      FROM virtual_term t
      CROSS JOIN generate_series(%(first_day)s::date, %(last_day)s::date, interval '1 day') d(day)
     WHERE d.day::date BETWEEN t.valid_from AND t.valid_to
     GROUP BY 1, 2, 3
"""
COMPUTED = """
    CREATE TEMPORARY TABLE virtual_value ON COMMIT DROP AS
    WITH source AS (
        SELECT r.channel_id, r.ts, r.value, r.quality & %(from_estimates)s <> 0 AS estimated
          FROM metering_intervalreading r
         WHERE r.channel_id IN (SELECT source_id FROM virtual_term)
           AND r.ts > %(start)s AND r.ts <= %(end)s AND r.quality & %(bits)s = 0
         UNION ALL
        SELECT e.channel_id, e.ts, e.value, true
          FROM metering_estimatedreading e
         WHERE e.channel_id IN (SELECT source_id FROM virtual_term)
           AND e.ts > %(start)s AND e.ts <= %(end)s
    ), summed AS (
        SELECT t.channel_id, s.ts, sum(t.sign * s.value) AS value,
               bool_or(s.estimated) AS estimated, count(*) AS terms
          FROM virtual_term t
          JOIN source s ON s.channel_id = t.source_id
           AND s.ts > t.valid_start AND s.ts <= t.valid_end
         GROUP BY t.channel_id, s.ts
    )
    -- Rounded: a float sum depends on the order the plan adds in, and a recomputation must
    -- find the same value to leave it alone.
    SELECT x.channel_id, x.ts, round(x.value::numeric, 6)::float8 AS value,
           CASE WHEN x.estimated THEN %(from_estimates)s ELSE 0 END::smallint AS quality
      FROM summed x
      JOIN virtual_day d ON d.channel_id = x.channel_id AND x.ts > d.day_start
       AND x.ts <= d.day_end AND d.terms = x.terms
"""
REMOVED = """
    DELETE FROM metering_intervalreading r
     WHERE r.channel_id = ANY(%(channels)s::int[]) AND r.ts > %(start)s AND r.ts <= %(end)s
       AND NOT EXISTS (SELECT FROM virtual_value v
                        WHERE v.channel_id = r.channel_id AND v.ts = r.ts)
"""
WRITE = """
    INSERT INTO metering_intervalreading AS r (channel_id, ts, value, quality, run_id)
    SELECT channel_id, ts, value, quality, %(run)s FROM virtual_value
    ON CONFLICT (channel_id, ts) DO UPDATE
       SET value = EXCLUDED.value, quality = EXCLUDED.quality, run_id = EXCLUDED.run_id
     WHERE (r.value, r.quality) IS DISTINCT FROM (EXCLUDED.value, EXCLUDED.quality)
"""


@dataclass
class VirtualResult:
    channels: int = 0
    written: int = 0
    removed: int = 0
    levels: list[int] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.channels} canales virtuales: {self.written} valores escritos, "
            f"{self.removed} retirados"
        )


def levels(channel_ids: list[int] | None = None) -> list[list[int]]:
    """The virtual channels with terms, in passes: each pass's sources were computed by an
    earlier pass or are real channels."""
    graph: dict[int, set[int]] = {}
    for target, source in VirtualTerm.objects.values_list("channel_id", "source_id"):
        graph.setdefault(target, set()).add(source)
    wanted = set(graph) if channel_ids is None else set(channel_ids) & set(graph)
    # The channels the wanted ones depend on are computed too, first.
    todo = set()
    stack = list(wanted)
    while stack:
        node = stack.pop()
        if node in todo or node not in graph:
            continue
        todo.add(node)
        stack.extend(graph[node])
    passes: list[list[int]] = []
    done: set[int] = set()
    while todo:
        ready = sorted(n for n in todo if not (graph[n] & todo))
        if not ready:  # check_terms refuses cycles; a row written past it stops here
            raise DefinitionError("definiciones virtuales en ciclo: " + ", ".join(map(str, todo)))
        passes.append(ready)
        done |= set(ready)
        todo -= set(ready)
    return passes


def calculation_run() -> IngestRun:
    """The IngestRun that stamps values computed outside an ingest (a recomputation)."""
    return IngestRun.objects.create(
        file_name="cálculo de medidores virtuales",
        sha256="",
        file_format=CALCULATION_FORMAT,
        status=IngestRun.Status.DONE,
        finished_at=timezone.now(),
    )


def compute(
    first_day: date,
    last_day: date,
    *,
    run: IngestRun | None = None,
    channel_ids: list[int] | None = None,
) -> VirtualResult:
    """Every virtual channel's values (or those of `channel_ids` and what they depend on)
    for the local days first_day..last_day, stamped with `run` (a new calculation run when
    none). Idempotent."""
    result = VirtualResult()
    passes = levels(channel_ids)
    # Channels of virtual meters left without any definition: their old values go.
    undefined_channels = Channel.objects.filter(meter__virtual=True, terms__isnull=True)
    if channel_ids is not None:
        undefined_channels = undefined_channels.filter(pk__in=channel_ids)
    undefined = list(undefined_channels.values_list("pk", flat=True))
    if not passes and not undefined:
        return result
    start, end = period(first_day, last_day)
    with transaction.atomic():
        partitions.ensure_partitions(start, end)
        run = run or calculation_run()
        params = {
            "first_day": first_day,
            "last_day": last_day,
            "start": start,
            "end": end,
            "bits": int(VEE_BITS),
            "from_estimates": int(Quality.FROM_ESTIMATES),
            "zone": settings.TIME_ZONE,
            "run": run.pk,
        }
        with connection.cursor() as cur:
            if undefined:
                cur.execute(
                    "DELETE FROM metering_intervalreading WHERE channel_id = ANY(%s::int[]) "
                    "AND ts > %s AND ts <= %s",
                    [undefined, start, end],
                )
                result.removed += cur.rowcount
            for channels in passes:
                params["channels"] = channels
                cur.execute("DROP TABLE IF EXISTS virtual_term, virtual_day, virtual_value")
                cur.execute(TERMS, params)
                cur.execute("ANALYZE virtual_term")  # fresh tables: no statistics otherwise
                cur.execute(TERM_COUNTS, params)
                cur.execute(COMPUTED, params)
                cur.execute("ANALYZE virtual_value")
                cur.execute(REMOVED, params)
                result.removed += cur.rowcount
                cur.execute(WRITE, params)
                result.written += cur.rowcount
                result.channels += len(channels)
                result.levels.append(len(channels))
                cur.execute("DROP TABLE virtual_term, virtual_day, virtual_value")
    return result


def local_days(first: datetime, last: datetime) -> tuple[date, date]:
    """The local days the interval ends first..last fall in (an end at 00:00 closes the day
    before)."""
    zone = timezone.get_default_timezone()
    tick = timedelta(microseconds=1)
    return (first - tick).astimezone(zone).date(), (last - tick).astimezone(zone).date()


# --- definitions from a CSV -------------------------------------------------------------------

COLUMNS = ["medidor_virtual", "tipo_lectura", "vigente_desde", "vigente_hasta", "formula"]


@dataclass
class ImportResult:
    defined: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def exit_status(self) -> int:
        if self.errors and not (self.defined or self.unchanged):
            return 1
        return 3 if self.errors else 0


def parse_formula(formula: str) -> list[tuple[int, str]]:
    """'+TOT-1 +TOT-2 -FRONTERA-3' → [(1, 'TOT-1'), (1, 'TOT-2'), (-1, 'FRONTERA-3')]."""
    terms = []
    for part in formula.split():
        sign, serial = part[:1], part[1:]
        if sign not in "+-" or not serial:
            raise DefinitionError(
                f"término {part!r}: escriba + o - seguido del número de serie, p. ej. +TOT-1"
            )
        terms.append((1 if sign == "+" else -1, serial))
    if not terms:
        raise DefinitionError("fórmula vacía")
    return terms


def _day(raw: str, name: str) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    for layout in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            return datetime.strptime(raw, layout).date()  # noqa: DTZ007 (a date only)
        except ValueError:
            continue
    raise DefinitionError(f"{name}: fecha {raw!r} no válida (AAAA-MM-DD)")


def import_definitions(path: Path, *, dry_run: bool = False) -> ImportResult:
    """Definitions from a CSV (`;`-separated, columns COLUMNS, a header line): each line is
    checked and stored in its own transaction; a wrong line is reported with its number and
    the others are kept."""
    result = ImportResult()
    text = Path(path).read_text(encoding="utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    name = Path(path).name
    if not rows or [c.strip().lower() for c in rows[0]] != COLUMNS:
        result.errors.append(f"{name}, línea 1: encabezado esperado {';'.join(COLUMNS)}")
        return result
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) != len(COLUMNS):
                raise DefinitionError(f"{len(row)} columnas, se esperaban {len(COLUMNS)}")
            serial, code, raw_from, raw_to, formula = (cell.strip() for cell in row)
            channel = _virtual_channel(serial, code)
            valid_from = _day(raw_from, "vigente_desde")
            if valid_from is None:
                raise DefinitionError("vigente_desde: falta la fecha")
            valid_to = _day(raw_to, "vigente_hasta")
            terms = [
                Term(_source_channel(source, channel.reading_type), sign, valid_from, valid_to)
                for sign, source in parse_formula(formula)
            ]
            with transaction.atomic():
                created = define(channel, terms)
                if dry_run:
                    transaction.set_rollback(True)
            if created:
                result.defined += 1
            else:
                result.unchanged += 1
        except DefinitionError as error:
            result.errors.append(f"{name}, línea {number}: {error}")
    return result


def _virtual_channel(serial: str, code: str) -> Channel:
    meter = Meter.objects.filter(serial=serial).first()
    if meter is None:
        raise DefinitionError(f"medidor_virtual: {serial!r} no existe")
    if not meter.virtual:
        raise DefinitionError(f"medidor_virtual: {serial} no es un medidor virtual")
    reading_type = ReadingType.objects.filter(code=code).first()
    if reading_type is None:
        raise DefinitionError(f"tipo_lectura: {code!r} desconocido")
    if not reading_type.is_interval:
        raise DefinitionError(f"tipo_lectura: {code} no es un perfil de intervalos")
    channel, _ = Channel.objects.select_related("meter", "reading_type").get_or_create(
        meter=meter, reading_type=reading_type
    )
    return channel


def _source_channel(serial: str, reading_type: ReadingType) -> Channel:
    channel = (
        Channel.objects.select_related("meter", "reading_type")
        .filter(meter__serial=serial, reading_type=reading_type)
        .first()
    )
    if channel is None:
        if not Meter.objects.filter(serial=serial).exists():
            raise DefinitionError(f"formula: el medidor {serial!r} no existe")
        raise DefinitionError(
            f"formula: el medidor {serial} no tiene el canal {reading_type.code} "
            f"({reading_type.name})"
        )
    return channel
