"""Descargar mis datos: the readings and bills CSV and the Green Button (ESPI) feed of one
customer, compared with what the database stores."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from lxml import etree

from core.api.renderers import BOM
from customers.services import espi, export
from metering.models import Channel, EstimatedReading, IntervalReading, MonthlyBill, Quality
from metering.services import ingest
from metering.services.monitoring import A_MINUS, A_PLUS
from network.models import Customer
from tests.conftest import FIXTURES
from tests.factories import make_meter

pytestmark = pytest.mark.django_db

SANTIAGO = ZoneInfo("America/Santiago")
STEP = timedelta(minutes=15)
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
A, E = "{http://www.w3.org/2005/Atom}", "{http://naesb.org/espi}"
LIKE_DAYS, INTERPOLATION = EstimatedReading.Method.LIKE_DAYS, EstimatedReading.Method.INTERPOLATION


# --- data -----------------------------------------------------------------------------------


@pytest.fixture
def customer(demo_network) -> Customer:
    """A demo customer without generation, with 15-minute readings."""
    return (
        Customer.objects.filter(
            is_eg=False, meters__kind="customer", meters__channels__reading_type__code=A_PLUS
        )
        .distinct()
        .order_by("pk")
        .first()
    )


@pytest.fixture
def eg_customer(demo_network) -> Customer:
    """A demo EG customer whose meter records the energy it exports."""
    return (
        Customer.objects.filter(
            is_eg=True, meters__kind="customer", meters__channels__reading_type__code=A_MINUS
        )
        .distinct()
        .order_by("pk")
        .first()
    )


def import_channel(customer: Customer) -> Channel:
    return Channel.objects.select_related("meter").get(
        meter__customer=customer, meter__kind="customer", reading_type__code=A_PLUS
    )


@pytest.fixture
def quirks(customer) -> dict[str, datetime]:
    """Three intervals of the customer's import channel made into each VEE case: an invalid
    value with its estimate (edited), an invalid one without (invalid), and a missing one
    with its estimate (estimated)."""
    channel = import_channel(customer)
    estimated = set(EstimatedReading.objects.filter(channel=channel).values_list("ts", flat=True))
    valid = [
        ts
        for ts in IntervalReading.objects.filter(channel=channel, quality=Quality.VALID)
        .order_by("ts")
        .values_list("ts", flat=True)
        if ts not in estimated
    ]
    edited, invalid, missing = valid[150], valid[1500], valid[2500]
    with connection.cursor() as cur:
        sql = "UPDATE metering_intervalreading SET quality = %s WHERE channel_id = %s AND ts = %s"
        cur.execute(sql, [Quality.SPIKE, channel.pk, edited])
        cur.execute(sql, [Quality.NEGATIVE | Quality.FLAT, channel.pk, invalid])
        cur.execute(
            "DELETE FROM metering_intervalreading WHERE channel_id = %s AND ts = %s",
            [channel.pk, missing],
        )
    EstimatedReading.objects.create(
        channel=channel, ts=edited, value=0.4321, method=INTERPOLATION, replaces_invalid=True
    )
    EstimatedReading.objects.create(
        channel=channel, ts=missing, value=0.1234, method=LIKE_DAYS, replaces_invalid=False
    )
    return {"edited": edited, "invalid": invalid, "missing": missing}


def stored(customer: Customer) -> dict[tuple[int, datetime], tuple]:
    """What the files must show, from the tables: per (channel, interval end), the quality,
    the value to use, the raw value and the estimation method. The demo's readings sit on
    the 15-minute grid, so an estimate's interval end is its raw reading's timestamp."""
    ids = Channel.objects.filter(
        meter__customer=customer, meter__kind="customer", reading_type__interval_minutes__gt=0
    ).values_list("id", flat=True)
    raw = {
        (channel, ts): (value, quality)
        for channel, ts, value, quality in IntervalReading.objects.filter(
            channel_id__in=list(ids)
        ).values_list("channel_id", "ts", "value", "quality")
    }
    estimates = {
        (channel, ts): (value, method)
        for channel, ts, value, method in EstimatedReading.objects.filter(
            channel_id__in=list(ids)
        ).values_list("channel_id", "ts", "value", "method")
    }
    rows = {}
    for key, (value, quality) in raw.items():
        if quality == Quality.VALID:
            rows[key] = (export.REAL, value, value, None)
        elif key in estimates:
            rows[key] = (export.EDITED, estimates[key][0], value, estimates[key][1])
        else:
            rows[key] = (export.INVALID, None, value, None)
    for key, (value, method) in estimates.items():
        if key not in raw:
            rows[key] = (export.ESTIMATED, value, None, method)
    return rows


def read_csv(chunks) -> list[dict[str, str]]:
    text = "".join(chunks)
    assert text.startswith(BOM)
    return list(csv.DictReader(io.StringIO(text[len(BOM) :], newline=""), delimiter=";"))


def number(cell: str) -> float | None:
    return float(cell.replace(",", ".")) if cell else None


def csv_by_interval(customer: Customer, rows: list[dict[str, str]]) -> dict:
    channel_ids = {
        (serial, code): pk
        for pk, serial, code in Channel.objects.filter(meter__customer=customer).values_list(
            "id", "meter__serial", "reading_type__code"
        )
    }
    return {
        (
            channel_ids[row["Medidor"], row["Código del tipo de lectura (CIM)"]],
            datetime.fromisoformat(row["Fin del intervalo"]),
        ): row
        for row in rows
    }


# --- readings CSV ---------------------------------------------------------------------------


def test_readings_csv_has_one_row_per_stored_reading_and_estimate_with_its_values(customer, quirks):
    expected = stored(customer)
    rows = read_csv(export.readings_csv(customer))
    found = csv_by_interval(customer, rows)

    assert len(rows) == len(expected) > 3000
    assert found.keys() == expected.keys()
    for key, (kind, value, raw, method) in expected.items():
        row = found[key]
        assert row["Calidad"] == kind
        assert number(row["Valor medido"]) == raw  # raw values are written exactly
        if kind == export.REAL:
            assert number(row["Valor"]) == value
        elif value is None:
            assert row["Valor"] == ""
        else:
            assert number(row["Valor"]) == pytest.approx(value, rel=1e-14)
            assert row["Método de estimación"] == EstimatedReading.Method(method).label


def test_an_estimate_of_a_missing_interval_is_estimado_without_a_measured_value(customer, quirks):
    row = csv_by_interval(customer, read_csv(export.readings_csv(customer)))[
        import_channel(customer).pk, quirks["missing"]
    ]

    assert row["Calidad"] == "estimado"
    assert (row["Valor"], row["Valor medido"]) == ("0,1234", "")
    assert row["Método de estimación"] == "días similares"
    assert row["Validaciones fallidas"] == ""


def test_an_edited_interval_shows_the_estimate_and_beside_it_the_invalid_raw_value(
    customer, quirks
):
    channel = import_channel(customer)
    raw = IntervalReading.objects.get(channel=channel, ts=quirks["edited"]).value
    row = csv_by_interval(customer, read_csv(export.readings_csv(customer)))[
        channel.pk, quirks["edited"]
    ]

    assert row["Calidad"] == "editado"
    assert row["Valor"] == "0,4321"
    assert number(row["Valor medido"]) == raw
    assert row["Validaciones fallidas"] == "pico"
    assert row["Método de estimación"] == "interpolación lineal"


def test_an_invalid_value_without_estimate_is_invalido_with_the_checks_it_failed(customer, quirks):
    channel = import_channel(customer)
    raw = IntervalReading.objects.get(channel=channel, ts=quirks["invalid"]).value
    row = csv_by_interval(customer, read_csv(export.readings_csv(customer)))[
        channel.pk, quirks["invalid"]
    ]

    assert row["Calidad"] == "inválido"
    assert row["Valor"] == ""
    assert number(row["Valor medido"]) == raw
    assert row["Validaciones fallidas"] == "negativo, línea plana"


def test_interval_times_are_local_iso_8601_with_their_utc_offset(customer):
    channel = import_channel(customer)
    stored_ends = set(IntervalReading.objects.filter(channel=channel).values_list("ts", flat=True))
    rows = read_csv(export.readings_csv(customer))

    for row in rows:
        start = datetime.fromisoformat(row["Inicio del intervalo"])
        end = datetime.fromisoformat(row["Fin del intervalo"])
        assert end - start == STEP
        assert end.utcoffset() == end.astimezone(SANTIAGO).utcoffset()
        assert start.utcoffset() == start.astimezone(SANTIAGO).utcoffset()
    ends = {datetime.fromisoformat(row["Fin del intervalo"]) for row in rows}
    assert stored_ends <= ends


def test_a_date_range_keeps_the_intervals_of_those_local_days_only(customer):
    first = IntervalReading.objects.filter(channel=import_channel(customer)).earliest("ts").ts
    day = first.astimezone(SANTIAGO).date() + timedelta(days=3)
    start = datetime(day.year, day.month, day.day, tzinfo=SANTIAGO)
    after = start + timedelta(days=2)
    expected = {key for key in stored(customer) if start < key[1] <= after}

    found = csv_by_interval(
        customer, read_csv(export.readings_csv(customer, day, day + timedelta(days=1)))
    )

    assert found.keys() == expected
    assert len(found) >= 2 * 96


def test_the_readings_csv_is_streamed_in_chunks_for_excel(customer):
    chunks = list(export.readings_csv(customer))

    assert len(chunks) > 1
    assert chunks[0].startswith(BOM + "Medidor;Código del tipo de lectura (CIM);")
    assert all(line.endswith("\r") for line in "".join(chunks).split("\n")[:-1])


def test_a_second_reading_in_an_interval_gets_its_own_csv_row_but_not_a_second_espi_reading(
    customer,
):
    """A drifting clock: 00:15:07 falls in the interval ending 00:30, as the VEE counts it."""
    channel = import_channel(customer)
    valid = dict(
        IntervalReading.objects.filter(channel=channel, quality=Quality.VALID).values_list(
            "ts", "run_id"
        )
    )
    ts = sorted(t for t in valid if t + STEP in valid)[400]
    late = ts + timedelta(seconds=7)
    with connection.cursor() as cur:
        cur.execute(
            "INSERT INTO metering_intervalreading (channel_id, ts, value, quality, run_id) "
            "VALUES (%s, %s, %s, %s, %s)",
            [channel.pk, late, 9.876, Quality.CLOCK, valid[ts]],
        )

    rows = csv_by_interval(customer, read_csv(export.readings_csv(customer)))
    series = next(
        s for s in espi.parse_espi(espi.espi_feed(customer)) if A_PLUS in s.reading_type.title
    )

    assert rows[channel.pk, late]["Calidad"] == "inválido"
    assert rows[channel.pk, late]["Validaciones fallidas"] == "deriva de reloj"
    assert rows[channel.pk, ts + STEP]["Calidad"] == "real"
    starts = [reading.start for reading in series.readings]
    assert len(starts) == len(set(starts))
    assert 9876 not in {reading.value for reading in series.readings}


# --- bills CSV ------------------------------------------------------------------------------


def test_the_bills_csv_lists_every_bill_oldest_first_with_spanish_headers(eg_customer):
    bills = list(MonthlyBill.objects.filter(customer=eg_customer).order_by("month"))
    rows = read_csv(export.bills_csv(eg_customer))

    assert list(rows[0]) == [
        "Mes",
        "Consumo (kWh)",
        "Cargos ($)",
        "Inyección (kWh)",
        "Valorización inyección ($)",
        "Cargo neto ($)",
        "Medidor",
        "Lectura anterior",
        "Lectura actual",
        "Lectura consumo inicial (kWh)",
        "Lectura consumo final (kWh)",
        "Lectura inyección inicial (kWh)",
        "Lectura inyección final (kWh)",
    ]
    assert len(rows) == len(bills) > 12

    def decimal(cell):
        return Decimal(cell.replace(",", ".")) if cell else None

    def integer(cell):
        return int(cell) if cell else None

    def day(cell):
        return date(*map(int, reversed(cell.split("/")))) if cell else None

    for row, bill in zip(rows, bills, strict=True):
        assert row["Mes"] == f"{bill.month:%m/%Y}"
        assert decimal(row["Consumo (kWh)"]) == bill.consumption_kwh
        assert integer(row["Cargos ($)"]) == bill.charges_clp
        assert decimal(row["Inyección (kWh)"]) == bill.injection_kwh
        assert integer(row["Valorización inyección ($)"]) == bill.injection_value_clp
        assert integer(row["Cargo neto ($)"]) == bill.net_charge_clp
        assert row["Medidor"] == bill.meter
        assert (day(row["Lectura anterior"]), day(row["Lectura actual"])) == (
            bill.read_from,
            bill.read_to,
        )
        assert decimal(row["Lectura consumo final (kWh)"]) == bill.consumption_end_kwh
        assert decimal(row["Lectura inyección final (kWh)"]) == bill.injection_end_kwh
    assert any(bill.injection_kwh for bill in bills)


def test_another_customers_data_never_appears_in_the_exports(customer, eg_customer):
    own = set(customer.meters.values_list("serial", flat=True))
    other = eg_customer.meters.get().serial
    readings = "".join(export.readings_csv(customer))
    feed = espi.espi_feed(customer, now=NOW)

    assert {row["Medidor"] for row in read_csv([readings])} == own
    assert other not in readings
    assert other.encode() not in feed
    assert len(read_csv(export.bills_csv(customer))) == customer.bills.count()
    assert other not in "".join(export.bills_csv(customer))
    assert len(espi.parse_espi(feed)) == len(export.channels(customer))


# --- Green Button ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    """NAESB REQ.21 ESPI 4.0 (tests/fixtures/espi/LICENSE: Apache 2.0). Its import of the
    Atom schema is skipped: we validate the ESPI resources, the Atom envelope by hand."""
    return etree.XMLSchema(etree.parse(str(Path(FIXTURES) / "espi" / "espi.xsd")))


def entries(feed: bytes) -> list[etree._Element]:
    return etree.fromstring(feed).findall(f"{A}entry")


def resource(entry: etree._Element) -> etree._Element:
    (content,) = entry.findall(f"{A}content")
    (child,) = list(content)
    return child


def links(entry: etree._Element, rel: str) -> list[str]:
    return [link.get("href") for link in entry.findall(f"{A}link") if link.get("rel") == rel]


def test_every_espi_resource_validates_against_the_naesb_schema(eg_customer, schema):
    feed = espi.espi_feed(eg_customer, now=NOW)

    kinds = set()
    for entry in entries(feed):
        element = resource(entry)
        schema.assertValid(element)
        kinds.add(etree.QName(element).localname)
    assert kinds == {
        "UsagePoint",
        "LocalTimeParameters",
        "MeterReading",
        "ReadingType",
        "IntervalBlock",
        "UsageSummary",
    }


def test_espi_entries_have_uuids_titles_and_links_that_tie_them_together(eg_customer):
    feed = espi.espi_feed(eg_customer, base="/espi/1_1/resource", now=NOW)
    root = etree.fromstring(feed)
    found = entries(feed)

    assert root.tag == f"{A}feed"
    assert root.findtext(f"{A}updated") == "2026-06-01T12:00:00Z"
    assert root.findtext(f"{A}id").startswith("urn:uuid:") and root.findtext(f"{A}title")
    ids = [entry.findtext(f"{A}id") for entry in found]
    assert len(set(ids)) == len(ids)
    by_self, by_kind = {}, {}
    for entry, identifier in zip(found, ids, strict=True):
        assert identifier.startswith("urn:uuid:")
        uuid.UUID(identifier.removeprefix("urn:uuid:"))
        assert entry.findtext(f"{A}title")
        (self_href,) = links(entry, "self")
        (up_href,) = links(entry, "up")
        assert self_href.startswith("/espi/1_1/resource/")
        assert up_href == self_href.rsplit("/", 1)[0]
        by_self[self_href] = entry
        by_kind.setdefault(etree.QName(resource(entry)).localname, []).append(entry)
    block_collections = {links(entry, "up")[0] for entry in by_kind["IntervalBlock"]}
    for reading in by_kind["MeterReading"]:
        blocks, reading_type = sorted(links(reading, "related"), key=lambda h: "ReadingType" in h)
        assert blocks == links(reading, "self")[0] + "/IntervalBlock"
        assert blocks in block_collections
        assert etree.QName(resource(by_self[reading_type])).localname == "ReadingType"
    (point,) = by_kind["UsagePoint"]
    related = links(point, "related")
    assert links(by_kind["LocalTimeParameters"][0], "self")[0] in related
    assert links(point, "self")[0] + "/MeterReading" in related
    assert links(point, "self")[0] + "/UsageSummary" in related
    assert resource(point).findtext(f"{E}ServiceCategory/{E}kind") == "0"


def test_the_espi_feed_is_the_same_every_time_for_the_same_data(customer):
    assert espi.espi_feed(customer, now=NOW) == espi.espi_feed(customer, now=NOW)


def test_espi_round_trips_every_stored_value_and_its_quality(customer, quirks):
    expected = stored(customer)
    channels = {c.id: c for c in export.channels(customer)}
    series = espi.parse_espi(espi.espi_feed(customer, now=NOW))

    assert len(series) == len(channels)
    for channel in channels.values():
        (found,) = [s for s in series if s.reading_type.title.endswith(f"({channel.code})")]
        assert found.reading_type.interval_length == 900
        stored_power = int(channel.code.split(".")[15])  # the CIM code's multiplier: k = 3
        wanted = sorted((ts, row) for (pk, ts), row in expected.items() if pk == channel.id)
        assert len(found.readings) == len(wanted) > 3000
        for reading, (ts, (kind, value, raw, method)) in zip(found.readings, wanted, strict=True):
            assert (reading.start, reading.duration) == (ts - STEP, 900)
            if kind == export.REAL:
                assert found.scaled(reading, stored_power) == value  # exactly as stored
                assert reading.quality == espi.QualityOfReading.VALID
            elif kind == export.INVALID:
                assert reading.value == round(raw * 1000)
                assert reading.quality == espi.QualityOfReading.FAILED
            else:  # estimates: exact to the Wh, the unit of the feed
                assert reading.value == round(value * 1000)
                assert reading.quality == (
                    espi.QualityOfReading.INTERPOLATED
                    if method == INTERPOLATION
                    else espi.QualityOfReading.ESTIMATED
                )
    qualities = {r.quality for s in series for r in s.readings}
    assert {0, 8, 9, 10} <= qualities


def test_a_date_range_limits_the_espi_feed_to_those_days_and_the_bills_around_them(customer):
    first = IntervalReading.objects.filter(channel=import_channel(customer)).earliest("ts").ts
    day = first.astimezone(SANTIAGO).date() + timedelta(days=3)
    feed = espi.espi_feed(customer, day, day, now=NOW)
    kinds = [etree.QName(resource(entry)).localname for entry in entries(feed)]
    billed = [
        bill
        for bill in MonthlyBill.objects.filter(customer=customer)
        if bill.read_from <= day < bill.read_to
    ]

    assert kinds.count("IntervalBlock") == len(export.channels(customer))
    assert kinds.count("UsageSummary") == len(billed) == 1
    for series in espi.parse_espi(feed):
        assert {r.start.astimezone(SANTIAGO).date() for r in series.readings} == {day}


def test_espi_sends_energy_in_wh_with_exports_as_reverse_flow(eg_customer):
    series = espi.parse_espi(espi.espi_feed(eg_customer, now=NOW))
    by_code = {s.reading_type.title.rsplit("(", 1)[1].rstrip(")"): s.reading_type for s in series}

    imported, exported = by_code[A_PLUS], by_code[A_MINUS]
    assert (imported.flow_direction, exported.flow_direction) == (1, 19)
    for reading_type in (imported, exported):
        assert (reading_type.uom, reading_type.power_of_ten_multiplier) == (72, 0)
        assert (reading_type.kind, reading_type.accumulation_behaviour) == (12, 4)
        assert (reading_type.commodity, reading_type.interval_length) == (1, 900)
    exported_series = next(s for s in series if s.reading_type is exported)
    assert any(reading.value > 0 for reading in exported_series.readings)


def test_usage_summaries_carry_each_bill_in_hundred_thousandths_of_clp(eg_customer):
    bills = list(MonthlyBill.objects.filter(customer=eg_customer).order_by("month"))
    summaries = [
        resource(entry)
        for entry in entries(espi.espi_feed(eg_customer, now=NOW))
        if etree.QName(resource(entry)).localname == "UsageSummary"
    ]

    assert len(summaries) == len(bills)
    for summary, bill in zip(summaries, bills, strict=True):
        start = datetime(*bill.read_from.timetuple()[:3], tzinfo=SANTIAGO)
        end = datetime(*bill.read_to.timetuple()[:3], tzinfo=SANTIAGO)
        assert int(summary.findtext(f"{E}billingPeriod/{E}start")) == start.timestamp()
        duration = end.timestamp() - start.timestamp()  # across a clock change too
        assert int(summary.findtext(f"{E}billingPeriod/{E}duration")) == duration
        amount = bill.charges_clp if bill.net_charge_clp is None else bill.net_charge_clp
        assert int(summary.findtext(f"{E}billLastPeriod")) == amount * 100_000
        assert summary.findtext(f"{E}currency") == "152"
        consumption = summary.find(f"{E}overallConsumptionLastPeriod")
        assert consumption.findtext(f"{E}uom") == "72"
        assert int(consumption.findtext(f"{E}value")) == bill.consumption_kwh * 1000
        if bill.injection_value_clp:
            assert int(summary.findtext(f"{E}costAdditionalLastPeriod")) == (
                -bill.injection_value_clp * 100_000
            )
            item = summary.find(f"{E}costAdditionalDetailLastPeriod")
            assert item.findtext(f"{E}itemKind") == "6"
            assert int(item.findtext(f"{E}measurement/{E}value")) == bill.injection_kwh * 1000


def decode_rule(rule: int) -> tuple[int, int, int, int, int, int]:
    """DstRuleType: (month, operator, day of month, day of week, hour, seconds)."""
    return (
        rule >> 28,
        rule >> 25 & 7,
        rule >> 20 & 31,
        rule >> 17 & 7,
        rule >> 12 & 31,
        rule & 0xFFF,
    )


@pytest.mark.parametrize(
    ("year", "ends", "starts"),
    # Chile's clocks change at 24:00 of the Saturday before the first Sunday from the 2nd of
    # April (back) and of September (forward): tz database rule "Sun>=2".
    [(2025, 6, 7), (2026, 5, 6), (2027, 4, 5)],
)
def test_local_time_parameters_give_chiles_clock_changes_of_the_year(year, ends, starts):
    config = espi.time_configuration(SANTIAGO, year)

    assert (config.tz_offset, config.dst_offset) == (-14400, 3600)
    assert decode_rule(config.dst_end_rule) == (4, 0, ends, 0, 0, 0)
    assert decode_rule(config.dst_start_rule) == (9, 0, starts, 0, 0, 0)


def test_a_zone_without_daylight_saving_time_disables_the_rules():
    config = espi.time_configuration(ZoneInfo("America/Punta_Arenas"), 2026)

    assert config == (0xFFFFFFFF, 0, 0xFFFFFFFF, -10800)


def test_the_feed_carries_the_local_time_parameters_of_the_year_it_is_made(customer):
    (entry,) = [
        e
        for e in entries(espi.espi_feed(customer, now=NOW))
        if etree.QName(resource(e)).localname == "LocalTimeParameters"
    ]
    parameters = resource(entry)

    assert parameters.findtext(f"{E}tzOffset") == "-14400"
    assert parameters.findtext(f"{E}dstOffset") == "3600"
    assert (parameters.findtext(f"{E}dstEndRule"), parameters.findtext(f"{E}dstStartRule")) == (
        "40500000",
        "90600000",
    )


def test_the_day_daylight_saving_time_ends_has_25_hours_in_both_files(tmp_path):
    """Chile leaves DST at 24:00 on Saturday 4 April 2026: 23:00-24:00 happens twice."""
    meter = make_meter("customer", serial="MV-DST")
    start = datetime(2026, 4, 4, tzinfo=SANTIAGO).astimezone(UTC)  # 03:00 UTC
    ends = [start + STEP * k for k in range(1, 101)]
    path = tmp_path / "dst.csv"
    path.write_text(
        "meter,reading_type,timestamp,value\n"
        + "".join(f"MV-DST,{A_PLUS},{ts.isoformat()},0.{k:03d}\n" for k, ts in enumerate(ends)),
        encoding="utf-8",
    )
    assert ingest.ingest_file(path, report_path=tmp_path / "report").rejected == 0

    rows = read_csv(export.readings_csv(meter.customer, date(2026, 4, 4), date(2026, 4, 4)))
    blocks = [
        resource(entry)
        for entry in entries(espi.espi_feed(meter.customer, now=NOW))
        if etree.QName(resource(entry)).localname == "IntervalBlock"
    ]

    assert len(rows) == 100
    repeated = [row["Fin del intervalo"] for row in rows if "T23:15:00" in row["Fin del intervalo"]]
    assert repeated == ["2026-04-04T23:15:00-03:00", "2026-04-04T23:15:00-04:00"]
    assert rows[-1]["Fin del intervalo"] == "2026-04-05T00:00:00-04:00"
    (block,) = blocks
    assert int(block.findtext(f"{E}interval/{E}start")) == start.timestamp()
    assert block.findtext(f"{E}interval/{E}duration") == str(25 * 3600)
    assert len(block.findall(f"{E}IntervalReading")) == 100
