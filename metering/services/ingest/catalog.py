"""What the codes of a file stand for: reading and event types, and the channel of each
(meter, reading type) pair."""

from __future__ import annotations

from django.db import connection

from metering.models import MeterEventType, ReadingType

CHANNEL_CACHE = 200_000  # (meter, reading type) pairs remembered while reading one file
UNKNOWN_METER = "medidor desconocido"
VIRTUAL_METER = "medidor virtual: sus valores se calculan de otros medidores, no se cargan"


class Catalog:
    """Reading types (by CIM code and by an unambiguous OBIS code) and event types."""

    def __init__(self) -> None:
        self.types: dict[str, tuple[int, bool]] = {}
        by_obis: dict[str, list[tuple[int, bool]]] = {}
        for pk, code, minutes, obis in ReadingType.objects.values_list(
            "pk", "code", "interval_minutes", "obis__code"
        ):
            entry = (pk, minutes == 0)
            self.types[code] = entry
            by_obis.setdefault(obis, []).append(entry)
        self.ambiguous = {code for code, entries in by_obis.items() if len(entries) > 1}
        for code, entries in by_obis.items():
            if len(entries) == 1:
                self.types.setdefault(code, entries[0])
        self.events = dict(MeterEventType.objects.values_list("code", "pk"))

    def reading_type(self, code: str) -> tuple[int, bool] | str:
        """(id, is_register), or the reason the code is not accepted."""
        found = self.types.get(code)
        if found:
            return found
        if code in self.ambiguous:
            return f"el código OBIS {code} corresponde a varios tipos de lectura: use el código CIM"
        return f"tipo de lectura desconocido: {code[:60]}"

    def event_type(self, code: str) -> int | None:
        parts = code.split(".")
        return self.events.get(".".join(parts[-3:])) if len(parts) >= 3 else None


class Channels:
    """(meter serial, reading type code as written in the file) → (channel id, is_register),
    or the reason it is refused (unknown meter or reading type). Resolved a chunk at a time;
    channels are created for known meters and reading types. Bounded: emptied when full."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.known: dict[tuple[str, str], tuple[int, bool] | str] = {}
        self.serials: dict[int, str] = {}  # channel id → meter serial, for the report

    def resolve(self, pairs: set[tuple[str, str]]) -> None:
        missing = pairs - self.known.keys()
        if not missing:
            return
        if len(self.known) + len(missing) > CHANNEL_CACHE:
            self.known.clear()
            self.serials.clear()
            missing = pairs  # the batch's pairs already known went with the rest
        asked: list[tuple[str, str, int, bool]] = []
        for serial, code in missing:
            found = self.catalog.reading_type(code)
            if isinstance(found, str):
                self.known[(serial, code)] = found
            else:
                asked.append((serial, code, *found))
        if not asked:
            return
        serials = [a[0] for a in asked]
        types = [a[2] for a in asked]
        with connection.cursor() as cur:
            cur.execute(
                """
                INSERT INTO metering_channel (meter_id, reading_type_id)
                SELECT m.id, p.reading_type_id
                  FROM unnest(%s::text[], %s::int[]) AS p(serial, reading_type_id)
                  JOIN metering_meter m ON m.serial = p.serial AND NOT m.virtual
                ON CONFLICT (meter_id, reading_type_id) DO NOTHING
                """,
                [serials, types],
            )
            cur.execute(
                """
                SELECT c.id, m.virtual
                  FROM unnest(%s::text[], %s::int[]) WITH ORDINALITY
                       AS p(serial, reading_type_id, n)
                  LEFT JOIN metering_meter m ON m.serial = p.serial
                  LEFT JOIN metering_channel c
                    ON c.meter_id = m.id AND c.reading_type_id = p.reading_type_id
                 ORDER BY p.n
                """,
                [serials, types],
            )
            for (serial, code, _, register), (channel, virtual) in zip(
                asked, cur.fetchall(), strict=True
            ):
                if virtual:
                    # Its values are computed from its sources (services/virtual.py).
                    self.known[(serial, code)] = VIRTUAL_METER
                elif channel is None:
                    self.known[(serial, code)] = UNKNOWN_METER
                else:
                    self.known[(serial, code)] = (channel, register)
                    self.serials[channel] = serial
