"""The cut (§6, points 3 and 5) and the reference receiver: batches cut by snapshot, numbered
and immutable, applied once to SEC's mirror, which then equals a fresh full export."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal

import psycopg
import pytest
from django.db import connection

from network.models import Pole
from regulator import cut, files
from regulator.models import Batch, Change
from regulator.receiver import Refused
from tests import factories as f
from tests.regulator.helpers import fresh_export, fresh_interval_months, mirror_at

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def batch_dir(settings, tmp_path, reference_data):
    settings.REGULATOR_BATCH_DIR = tmp_path / "lotes"
    settings.REGULATOR_PAGE_RECORDS = 3  # several pages per entity with a handful of rows
    return settings.REGULATOR_BATCH_DIR


def small_network():
    feeder = f.make_feeder()
    poles = [f.make_pole(feeder=feeder) for _ in range(5)]
    f.make_span(feeder=feeder, from_pole=poles[0], to_pole=poles[1])
    customer = f.make_customer()
    return feeder, poles, customer


def manifest(number: int) -> dict:
    return json.loads((files.batch_dir(number) / files.MANIFEST_FILE).read_bytes())


def test_a_delta_is_refused_before_the_initial_load_and_the_initial_load_only_once():
    with pytest.raises(cut.CutError, match="carga inicial"):
        cut.cut()
    cut.cut(initial=True)
    with pytest.raises(cut.CutError, match="ya existe"):
        cut.cut(initial=True)


def test_initial_load_then_deltas_keep_the_mirror_equal_to_a_fresh_export(tmp_path):
    feeder, poles, customer = small_network()
    zero = cut.cut(initial=True)
    assert zero.number == 0 and zero.kind == "inicial"
    assert not Change.objects.filter(batch__isnull=True).exists()
    first = manifest(0)
    assert first["previous_manifest_sha256"] is None
    assert first["entities"]["postes"]["records"] == Pole.objects.count() == 6  # one a customer's
    assert first["entities"]["postes"]["inserted"] == 6
    assert [p["records"] for p in first["entities"]["postes"]["pages"]] == [3, 3]

    mirror = mirror_at(tmp_path)
    mirror.apply_all(files.root())
    assert mirror.records() == fresh_export()

    # Edits of every kind: update, delete, insert, a code renamed that other records read.
    Pole.objects.filter(pk=poles[2].pk).update(height_m=Decimal("14.0"))
    poles[4].delete()
    f.make_pole(feeder=feeder)
    feeder.code = "AL-NUEVO"
    feeder.save()
    one = cut.cut()
    delta = manifest(1)
    assert delta["previous_manifest_sha256"] == zero.manifest_sha256
    assert delta["kind"] == "delta" and one.number == 1
    poles_delta = delta["entities"]["postes"]
    # Every remaining pole of the renamed feeder is re-sent (its record names the feeder).
    assert poles_delta["deleted"] == 1 and poles_delta["inserted"] == 1
    assert poles_delta["updated"] == 4
    assert delta["entities"]["alimentadores"]["updated"] == 1
    assert "clientes" not in delta["entities"]  # untouched entities are not in a delta

    mirror.apply_all(files.root())
    assert mirror.records() == fresh_export()
    assert mirror.records()["postes"][poles[0].pk]["feeder"] == "AL-NUEVO"

    empty = cut.cut()  # a day without changes is still a numbered batch
    assert manifest(2)["entities"] == {} and empty.records == 0
    mirror.apply_all(files.root())
    assert mirror.last_applied() == (2, empty.manifest_sha256)


def test_a_transaction_that_commits_after_the_cut_started_lands_in_the_next_batch(
    tmp_path, monkeypatch
):
    small_network()
    cut.cut(initial=True)
    settings_dict = connection.settings_dict
    other = psycopg.connect(
        dbname=settings_dict["NAME"],
        user=settings_dict["USER"],
        password=settings_dict["PASSWORD"],
        host=settings_dict["HOST"],
        port=settings_dict["PORT"],
    )
    vnr = f.make_vnr()
    with other.cursor() as cur:
        cur.execute(
            "UPDATE vnr_vnrcode SET description = 'Poste de la transacción tardía' WHERE id = %s",
            [vnr.pk],
        )

    real = cut.crash_point

    def commit_late(name):
        # The cut has its snapshot and has assigned its changes: now the other one commits.
        if name == "cut.after_assign":
            other.commit()
        real(name)

    monkeypatch.setattr(cut, "crash_point", commit_late)
    one = cut.cut()
    monkeypatch.setattr(cut, "crash_point", real)
    other.close()

    carried = manifest(1)["entities"]["codigos_vnr"]
    # The insert of the VNR code (committed before) is in batch 1, as the cut saw it.
    lines = _lines(1, "codigos_vnr")
    assert [line["op"] for line in lines] == ["insert"]
    assert lines[0]["record"]["description"] != "Poste de la transacción tardía"
    assert carried["records"] == 1
    # The late update is open, and the next batch carries it.
    assert Change.objects.filter(batch__isnull=True, aggregatetype="codigos_vnr").count() == 1
    two = cut.cut()
    assert two.number == one.number + 1
    assert [line["record"]["description"] for line in _lines(2, "codigos_vnr")] == [
        "Poste de la transacción tardía"
    ]
    mirror = mirror_at(tmp_path)
    mirror.apply_all(files.root())
    assert mirror.records() == fresh_export()


def _lines(number: int, entity: str) -> list[dict]:
    import gzip

    found = []
    for page in manifest(number)["entities"][entity]["pages"]:
        data = gzip.decompress((files.batch_dir(number) / page["file"]).read_bytes())
        found += [json.loads(line) for line in data.splitlines()]
    return found


def test_a_truncated_entity_is_one_truncate_line_then_what_it_holds(tmp_path):
    small_network()
    cut.cut(initial=True)
    mirror = mirror_at(tmp_path)
    mirror.apply_all(files.root())
    with connection.cursor() as cur:
        # Equipment references the span it switches: truncated with the spans.
        cur.execute("TRUNCATE network_span, network_equipment, network_equipmentsetting")
    f.make_span()
    cut.cut()
    lines = _lines(1, "vanos")
    assert [line["op"] for line in lines] == ["truncate", "insert"]
    assert manifest(1)["entities"]["vanos"]["truncated"] is True
    assert [line["op"] for line in _lines(1, "equipos")][:1] == ["truncate"]
    mirror.apply_all(files.root())
    assert mirror.records() == fresh_export()


def test_duplicate_gap_and_tampered_batches_are_refused(tmp_path):
    small_network()
    cut.cut(initial=True)
    Pole.objects.update(height_m=Decimal("9.0"))
    cut.cut()
    f.make_pole()
    cut.cut()
    mirror = mirror_at(tmp_path)

    with pytest.raises(Refused) as gap:
        mirror.apply_directory(files.batch_dir(1))
    assert gap.value.reason == "hueco"
    mirror.apply_directory(files.batch_dir(0))
    with pytest.raises(Refused) as duplicate:
        mirror.apply_directory(files.batch_dir(0))
    assert duplicate.value.reason == "duplicado"

    # A page changed on the way: its sha256 is not the manifest's.
    tampered = tmp_path / "alterado"
    shutil.copytree(files.batch_dir(1), tampered)
    page = tampered / manifest(1)["entities"]["postes"]["pages"][0]["file"]
    data = bytearray(page.read_bytes())
    data[len(data) // 2] ^= 0xFF
    page.write_bytes(bytes(data))
    with pytest.raises(Refused) as bad_page:
        mirror.apply_directory(tampered)
    assert bad_page.value.reason == "alterado"

    # A manifest rewritten to match the altered page: refused against the announced sha256,
    # and, without it, the next batch no longer chains.
    forged = manifest(1)
    entry = forged["entities"]["postes"]["pages"][0]
    entry["sha256"], entry["bytes"] = files.sha256_file(page)
    (tampered / files.MANIFEST_FILE).write_bytes(files.manifest_bytes(forged))
    announced = Batch.objects.get(number=1).manifest_sha256
    with pytest.raises(Refused) as forged_manifest:
        mirror.apply(
            (tampered / files.MANIFEST_FILE).read_bytes(),
            lambda name: (tampered / name).read_bytes(),
            expected_sha256=announced,
        )
    assert forged_manifest.value.reason == "alterado"
    with pytest.raises(Refused):  # the forged page is not even valid gzip now
        mirror.apply_directory(tampered)
    assert mirror.last_applied()[0] == 0  # nothing of a refused batch was applied

    mirror.apply_all(files.root())
    assert mirror.last_applied()[0] == 2
    assert mirror.records() == fresh_export()


def test_interval_months_travel_as_files(tmp_path):
    from pathlib import Path

    from metering.services import ingest

    readings = Path(__file__).parents[1] / "fixtures" / "metering" / "readings"
    f.make_meter("customer", serial="MC-0001")
    f.make_meter("totalizer", serial="TT-0001")
    result = ingest.ingest_file(readings / "lecturas_ok.xml", report_path=tmp_path / "informe.csv")
    assert result.rejected == 0 and result.inserted > 0
    cut.cut(initial=True)
    partitions = manifest(0)["interval_partitions"]
    # Every month with a partition is a file (other tests may have left empty ones).
    assert {p["month"] for p in partitions if p["records"]} == {"2026-03"}
    assert next(p for p in partitions if p["month"] == "2026-03")["records"] == 8
    mirror = mirror_at(tmp_path)
    mirror.apply_all(files.root())
    assert mirror.interval_months() == fresh_interval_months()

    with connection.cursor() as cur:
        cur.execute(
            "UPDATE metering_intervalreading SET value = value + 1 WHERE channel_id IN ("
            "SELECT c.id FROM metering_channel c JOIN metering_meter m ON m.id = c.meter_id "
            "WHERE m.serial = 'MC-0001')"
        )
    cut.cut()
    touched = manifest(1)["interval_partitions"]
    assert [p["month"] for p in touched] == ["2026-03"]
    cut.cut()
    assert manifest(2)["interval_partitions"] == []  # untouched months are not re-sent
    mirror.apply_all(files.root())
    assert mirror.interval_months() == fresh_interval_months()
