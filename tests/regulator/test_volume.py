"""The volume estimate of the initial load (annex §6.1) is within ±10 % of the actual size."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from metering.services.partitions import partition_months
from regulator.records import RECORD_TYPES
from regulator.volume import (
    estimate_entity,
    estimate_partition,
    estimate_volume,
    measure_entity,
    measure_partition,
)

pytestmark = pytest.mark.django_db

SAMPLE = 500  # below the demo set's larger tables, so the estimate really extrapolates
TOLERANCE = 0.10


@pytest.fixture(scope="module")
def volumes(demo_network, django_db_blocker):
    with django_db_blocker.unblock():
        return [(estimate_entity(rt, SAMPLE), measure_entity(rt)) for rt in RECORD_TYPES]


def test_the_estimate_is_within_ten_percent_per_entity(volumes):
    extrapolated = 0
    for estimate, actual in volumes:
        assert estimate.records == actual.records, estimate.entity
        if actual.records <= 50:
            continue
        if actual.records > SAMPLE:
            extrapolated += 1
            assert estimate.sample < actual.records
        for field in ("gzip_bytes", "json_bytes"):
            got, want = getattr(estimate, field), getattr(actual, field)
            assert abs(got - want) <= TOLERANCE * want, (estimate.entity, field, got, want)
    assert extrapolated >= 3, "the demo set should exercise the sampling path"


def test_the_estimate_is_within_ten_percent_in_total(volumes):
    for field in ("gzip_bytes", "json_bytes"):
        got = sum(getattr(e, field) for e, _ in volumes)
        want = sum(getattr(a, field) for _, a in volumes)
        assert abs(got - want) <= TOLERANCE * want, (field, got, want)


def test_the_interval_months_are_estimated_within_ten_percent(demo_network):
    months = partition_months()
    checked = 0
    for month in months:
        actual = measure_partition(month)
        if actual.records <= 50:
            continue
        estimate = estimate_partition(month, SAMPLE)
        assert estimate.records == actual.records
        if actual.records > SAMPLE:
            assert estimate.sample < actual.records
        for field in ("gzip_bytes", "csv_bytes"):
            got, want = getattr(estimate, field), getattr(actual, field)
            assert abs(got - want) <= TOLERANCE * want, (month, field, got, want)
        checked += 1
    assert checked, "the demo set has interval readings"
    total = estimate_volume(SAMPLE)
    assert [p.month for p in total.partitions] == [f"{m:%Y-%m}" for m in months]
    assert total.gzip_bytes == sum(e.gzip_bytes for e in total.entities) + sum(
        p.gzip_bytes for p in total.partitions
    )


def test_the_command_prints_the_table(demo_network, capsys):
    call_command("estimate_regulator_volume", "--muestra", "100")
    out = capsys.readouterr().out
    assert "Entidad" in out and "Registros" in out and "gzip" in out
    assert "postes" in out and "clientes" in out and "Total" in out
    assert "exacto" in out
    assert "Carga inicial estimada:" in out


def test_the_command_writes_json(demo_network, capsys):
    call_command("estimate_regulator_volume", "--muestra", "100", "--json")
    data = json.loads(capsys.readouterr().out)
    assert {e["entity"] for e in data["entities"]} == {rt.entity for rt in RECORD_TYPES}
    assert data["total"]["gzip_bytes"] == sum(e["gzip_bytes"] for e in data["entities"]) + sum(
        p["gzip_bytes"] for p in data["partitions"]
    )
    assert data["total"]["records"] > 0
