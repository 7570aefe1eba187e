from __future__ import annotations

import random
from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count, Max, Min, Sum

from core.months import add_months, month_start
from demand.models import MonthlyDemand
from metering.models import (
    Alarm,
    BillingDocument,
    Channel,
    DrEvent,
    DrEventTarget,
    DrMessage,
    EgContract,
    EnergyBalance,
    EstimatedReading,
    IntervalReading,
    LoadTransfer,
    Meter,
    MonthlyBill,
    PriceNotification,
    RegisterRead,
    RemanenteMovement,
    ValidationDay,
)
from metering.services.demo import BILL_MONTHS, DAYS, seed_metering
from metering.services.monitoring import A_MINUS, A_PLUS
from metering.services.reset import clear_metering_data
from network.models import Customer, Distributor, Feeder, Transformer

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_of(demo_network):
    return Distributor.objects.get(code="DEMO").as_of


@pytest.fixture
def metered(demo_network):
    """The customers with 15-minute readings."""
    return Customer.objects.filter(
        meters__channels__reading_type__code=A_PLUS, meters__kind="customer"
    ).distinct()


def local_midnight(day):
    return datetime.combine(day, time(), tzinfo=ZoneInfo(settings.TIME_ZONE))


def test_every_monitored_transformer_has_a_totalizer_and_every_feeder_a_head_meter(demo_network):
    monitored = Transformer.objects.filter(smmc=True)
    # Main meters (the demo's one backup and its virtual meters are tested below).
    totalizers = Meter.objects.filter(kind="totalizer", backup_for__isnull=True)
    assert totalizers.count() == monitored.count() > 0
    assert set(totalizers.values_list("transformer_id", flat=True)) == set(
        monitored.values_list("pk", flat=True)
    )
    assert all(
        m.serial == f"TT-{m.transformer.code}" for m in totalizers.select_related("transformer")
    )
    heads = Meter.objects.filter(kind="feeder_head", virtual=False)
    assert heads.count() == Feeder.objects.count()
    assert all(m.serial == f"FH-{m.feeder.code}" for m in heads.select_related("feeder"))


def test_every_customer_has_a_meter_named_after_its_number(demo_network):
    assert Meter.objects.filter(kind="customer").count() == Customer.objects.count()
    assert not Customer.objects.filter(meters__isnull=True).exists()
    meter = Meter.objects.filter(kind="customer").select_related("customer").first()
    assert meter.serial == f"MC-{meter.customer.number}"


def test_every_customer_of_a_few_monitored_transformers_has_readings_over_thirty_five_days(
    metered, as_of
):
    transformers = set(metered.values_list("transformer_id", flat=True))
    assert 3 <= len(transformers) <= 5
    assert Transformer.objects.filter(pk__in=transformers, smmc=True).count() == len(transformers)
    # All of their customers, so that their balances can be computed.
    assert metered.count() == Customer.objects.filter(transformer__in=transformers).count()
    days = (
        ValidationDay.objects.filter(
            channel__reading_type__code=A_PLUS, channel__meter__customer__in=metered
        )
        .values("channel")
        .annotate(n=Count("day"), first=Min("day"), last=Max("day"))
    )
    assert len(days) == metered.count()
    assert all(d["n"] == DAYS for d in days)
    assert {(d["first"], d["last"]) for d in days} == {
        (as_of - timedelta(days=DAYS), as_of - timedelta(days=1))
    }
    start, end = local_midnight(as_of - timedelta(days=DAYS)), local_midnight(as_of)
    readings = IntervalReading.objects.filter(
        channel__in=Channel.objects.filter(meter__customer__in=metered, reading_type__code=A_PLUS)
    )
    assert readings.count() > metered.count() * DAYS * 90
    assert not readings.filter(ts__lte=start).exists() and not readings.filter(ts__gt=end).exists()


def test_eg_customers_with_readings_have_import_and_export_channels(metered):
    eg = metered.filter(is_eg=True)
    assert eg.exists()
    for customer in eg:
        codes = set(
            Channel.objects.filter(meter__customer=customer).values_list(
                "reading_type__code", flat=True
            )
        )
        assert {A_PLUS, A_MINUS} <= codes
    exported = IntervalReading.objects.filter(
        channel__in=Channel.objects.filter(meter__customer__in=eg, reading_type__code=A_MINUS)
    ).aggregate(total=Sum("value"))["total"]
    assert exported > 0


def test_totalizers_and_feeder_heads_have_readings(metered):
    transformers = set(metered.values_list("transformer_id", flat=True))
    with_readings = set(
        Channel.objects.filter(meter__kind="totalizer").values_list(
            "meter__transformer_id", flat=True
        )
    )
    assert with_readings == transformers
    assert (
        Channel.objects.filter(
            meter__kind="feeder_head", meter__virtual=False, reading_type__code=A_PLUS
        ).count()
        == Feeder.objects.count()
    )


def test_daily_register_reads_add_up_the_intervals_and_meet_the_bills(metered, as_of):
    checked = 0
    for customer in metered.filter(is_eg=False):
        meter = customer.meters.get()
        channel = meter.channels.get(reading_type__code=A_PLUS)
        days = ValidationDay.objects.filter(channel=channel)
        if not all(day.complete and not day.estimated for day in days):
            continue  # the meters the VEE has work on
        reads = list(RegisterRead.objects.filter(meter=meter, obis__code="1.8.0").order_by("ts"))
        assert len(reads) == DAYS + 1
        assert reads[0].ts == local_midnight(as_of - timedelta(days=DAYS))
        total = IntervalReading.objects.filter(channel=channel).aggregate(s=Sum("value"))["s"]
        assert abs(float(reads[-1].value - reads[0].value) - total) < 0.01
        by_time = {r.ts: r.value for r in reads}
        for bill in MonthlyBill.objects.filter(customer=customer):
            at = local_midnight(bill.read_to)
            if at in by_time:
                assert abs(by_time[at] - bill.consumption_end_kwh) < Decimal("0.01")
                checked += 1
    assert checked > 0


def test_one_transformer_balance_is_flagged_and_the_others_are_not(metered, as_of):
    balances = EnergyBalance.objects.filter(month=add_months(month_start(as_of), -1))
    transformers = set(metered.values_list("transformer_id", flat=True))
    assert set(balances.values_list("transformer_id", flat=True)) == transformers
    flagged = balances.filter(flagged=True)
    assert flagged.count() == 1
    threshold = Decimal(str(settings.METERING_LOSS_THRESHOLD_PCT))
    assert flagged.get().loss_pct > threshold
    for balance in balances.filter(flagged=False):
        assert Decimal(0) < balance.loss_pct <= threshold
        assert balance.metered_customers == balance.customers


def test_the_monitoring_raised_alarms_of_several_kinds(demo_network):
    kinds = set(Alarm.objects.values_list("kind", flat=True))
    assert {"voltage", "outage", "tamper", "missing"} <= kinds
    voltage = Alarm.objects.get(kind="voltage")
    assert voltage.value < 220 * (1 - settings.METERING_VOLTAGE_BAND_PCT / 100)
    outage = Alarm.objects.get(kind="outage")
    assert outage.ended_at > outage.started_at


def test_the_vee_reported_every_day_and_estimated_what_was_missing_or_wrong(demo_network):
    days = ValidationDay.objects.aggregate(
        spikes=Sum("spikes"),
        negatives=Sum("negatives"),
        flat=Sum("flat"),
        missing=Sum("missing"),
        estimated=Sum("estimated"),
    )
    assert all(value > 0 for value in days.values()), days
    assert EstimatedReading.objects.filter(method="interpolation").exists()
    assert EstimatedReading.objects.filter(method="like_days").exists()


def test_the_load_transfer_is_left_out_of_the_feeder_demand(demo_network, as_of):
    transfer = LoadTransfer.objects.get()
    month = add_months(month_start(as_of), -1)
    demand = MonthlyDemand.objects.get(feeder=transfer.feeder, month=month)
    assert demand.excludes_load_transfer
    with connection.cursor() as cur:
        cur.execute(
            "SELECT max(r.value) * 4 FROM metering_intervalreading r "
            "JOIN metering_channel c ON c.id = r.channel_id "
            "JOIN metering_meter m ON m.id = c.meter_id "
            "WHERE m.feeder_id = %s AND r.ts > %s AND r.ts <= %s",
            [transfer.feeder_id, transfer.starts_at, transfer.ends_at],
        )
        during = cur.fetchone()[0]
    assert during > float(demand.max_kw)


def test_every_customer_has_thirty_six_months_of_bills(demo_network, as_of):
    months = MonthlyBill.objects.values("customer").annotate(
        n=Count("id"), first=Min("month"), last=Max("month")
    )
    assert len(months) == Customer.objects.count()
    assert {(m["n"], m["first"], m["last"]) for m in months} == {
        (
            BILL_MONTHS,
            add_months(month_start(as_of), -BILL_MONTHS),
            add_months(month_start(as_of), -1),
        )
    }
    assert not MonthlyBill.objects.filter(consumption_kwh__lte=0).exists()
    eg = MonthlyBill.objects.filter(customer__is_eg=True, injection_kwh__gt=0)
    assert eg.exists()
    for bill in eg[:50]:
        assert bill.net_charge_clp == bill.charges_clp - bill.injection_value_clp
    for bill in MonthlyBill.objects.order_by("?")[:200]:
        assert bill.consumption_end_kwh - bill.consumption_start_kwh == bill.consumption_kwh
        assert bill.charges_clp > bill.consumption_kwh * 100  # CLP, not thousands


def test_billing_documents_have_stored_pdfs_that_open(demo_network):
    documents = BillingDocument.objects.select_related("pdf")
    assert documents.filter(kind="boleta").exists()
    assert documents.filter(kind="anexo_inyeccion", customer__is_eg=True).exists()
    per_customer = documents.filter(kind="boleta").values("customer").annotate(n=Count("id"))
    assert {row["n"] for row in per_customer} == {BILL_MONTHS}
    assert documents.filter(customer__is_eg=False).exists()
    for document in documents:
        content = document.pdf.path.read_bytes()
        assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
        assert len(content) == document.pdf.size
        assert f"N\xb0 {document.folio}".encode("cp1252") in content


def test_every_eg_customer_has_a_contract_and_a_consistent_remanente(demo_network):
    eg = Customer.objects.filter(is_eg=True)
    assert EgContract.objects.count() == eg.count()
    for contract in EgContract.objects.select_related("contract_pdf")[:20]:
        assert contract.contract_pdf.path.read_bytes().startswith(b"%PDF-")
    movements = RemanenteMovement.objects.order_by("customer", "date", "id")
    assert movements.filter(kind="generado").exists()
    assert movements.filter(kind="descontado").exists()
    balances: dict[int, int] = {}
    for move in movements:
        sign = 1 if move.kind == "generado" else -1
        balances[move.customer_id] = balances.get(move.customer_id, 0) + sign * move.amount_clp
        assert balances[move.customer_id] == move.balance_clp >= 0
    assert set(balances) <= set(eg.values_list("pk", flat=True))


def test_dr_events_were_received_with_devices_acknowledging_opting_in_and_out(demo_network):
    assert DrEvent.objects.filter(program__kind="dlc").count() == 2
    assert PriceNotification.objects.filter(program__kind="cpp").get().acks.exists()
    states = set(DrEventTarget.objects.values_list("state", flat=True))
    assert {"acknowledged", "opted_in", "opted_out"} <= states
    # Every message went through the real path and was applied, the early ones included.
    assert set(DrMessage.objects.values_list("outcome", flat=True)) == {"applied"}
    assert DrMessage.objects.filter(channel="json").count() == DrMessage.objects.count()


def test_two_seeds_with_the_same_rng_give_the_same_data(demo_network, as_of, settings, tmp_path):
    settings.BILLING_DIR = tmp_path / "billing"

    def seed():
        with connection.cursor() as cur:
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending checks
        clear_metering_data()
        counts = seed_metering(random.Random(7), as_of, log=lambda _: None)
        sums = (
            round(IntervalReading.objects.aggregate(s=Sum("value"))["s"], 2),  # any order
            MonthlyBill.objects.aggregate(s=Sum("charges_clp"))["s"],
        )
        return counts, sums

    first = seed()
    assert first == seed()
    assert first[0]["interval_readings"] > 0 and first[0]["flagged_balances"] == 1


def test_the_demo_has_a_virtual_sum_a_virtual_border_and_a_backup_pair_off_one_day(
    demo_network, as_of
):
    from metering.models import BackupComparison, VirtualTerm

    total = Meter.objects.get(virtual=True, kind="feeder_head")
    border = Meter.objects.get(virtual=True, kind="border")
    sum_terms = VirtualTerm.objects.filter(channel__meter=total)
    assert sum_terms.count() >= 1 and set(sum_terms.values_list("sign", flat=True)) == {1}
    border_signs = sorted(
        VirtualTerm.objects.filter(channel__meter=border).values_list("sign", flat=True)
    )
    assert border_signs[0] == -1 and border_signs[-1] == 1
    # The sum equals its totalizers' valid values at an interval where all of them have one.
    channel = total.channels.get()
    sample = IntervalReading.objects.filter(channel=channel, quality=0).order_by("ts")[10]
    sources = IntervalReading.objects.filter(
        channel__in=sum_terms.values("source"), ts=sample.ts
    ).aggregate(s=Sum("value"))["s"]
    assert sample.value == pytest.approx(sources)
    flagged = BackupComparison.objects.filter(flagged=True)
    assert [row.day for row in flagged] == [as_of - timedelta(days=3)]
    assert flagged.get().difference_pct == pytest.approx(2.0, abs=0.01)
    assert BackupComparison.objects.count() == DAYS  # every day of readings, compared
