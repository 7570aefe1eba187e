"""The contract with SEC: every record of the demo set validates against its entity's schema,
and the schemas have teeth (a broken record, envelope or manifest is refused)."""

from __future__ import annotations

import copy
import json
from functools import cache

import jsonschema_rs
import pytest
from jsonschema import ValidationError

from regulator import contract
from regulator.contract import delete_envelope, envelope, validate, validate_manifest
from regulator.records import ENTITIES, RECORD_TYPES, record_type

pytestmark = pytest.mark.django_db


def test_schema_files_are_the_generated_ones():
    """The published files are what the record types generate: a model change that changes
    the contract shows up in review as a change to regulator/schemas/."""
    generated = contract.generated_schemas()
    on_disk = {p.name for p in contract.SCHEMA_DIR.glob("*.schema.json")}
    assert on_disk == set(generated)
    for name, schema in generated.items():
        text = (contract.SCHEMA_DIR / name).read_text(encoding="utf-8")
        assert text == contract.schema_text(schema), f"{name}: run export_regulator_schemas"


@pytest.mark.parametrize("name", [*ENTITIES, contract.ENVELOPE, contract.MANIFEST])
def test_schemas_are_valid_draft_2020_12(name):
    schema = contract.schema_for(name)
    assert schema["$schema"] == contract.DRAFT
    contract.validator_for(name)  # check_schema raises on an invalid schema


def test_every_entity_of_the_contract_has_its_own_name_and_model():
    assert len(set(ENTITIES)) == len(RECORD_TYPES) == 19
    assert len({rt.model for rt in RECORD_TYPES}) == len(RECORD_TYPES)


@cache
def _compiled(name: str, part: str | None = None) -> jsonschema_rs.Draft202012Validator:
    schema = contract.schema_for(name)
    return jsonschema_rs.Draft202012Validator(
        schema["$defs"][part] if part else schema, validate_formats=True
    )


def fast_validate(line: dict) -> None:
    """What `contract.validate` checks (the envelope, then the key and the record against
    their entity's schema), against the same published schema files, by a compiled
    validator (jsonschema-rs, schemathesis' own, formats checked): a hundred times faster,
    for the demo set's 136,000 monthly bills. Raises `jsonschema_rs.ValidationError`."""
    _compiled(contract.ENVELOPE).validate(line)
    if "key" in line:
        _compiled(line["entity"], "key").validate(line["key"])
    if "record" in line:
        _compiled(line["entity"]).validate(line["record"])


def is_valid_for_both(line: dict) -> tuple[bool, bool]:
    try:
        validate(line)
    except ValidationError:
        python = False
    else:
        python = True
    try:
        fast_validate(line)
    except jsonschema_rs.ValidationError:
        return python, False
    return python, True


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_demo_record_validates(demo_network, entity):
    rt = record_type(entity)
    keys = set()
    count = 0
    for version, record in enumerate(rt.records(chunk_size=500), start=1):
        line = envelope(rt, "insert", record, version)
        # What goes on the wire: the line survives a JSON round trip unchanged.
        assert json.loads(contract.dumps_line(line)) == line
        # Every line by the compiled validator; by the contract's own (the receiver's) the
        # first hundred and one in a hundred after them. The two refuse the same breakages
        # (the tests below check both).
        fast_validate(line)
        if count < 100 or count % 100 == 0:
            validate(line)
        keys.add(json.dumps(line["key"], sort_keys=True))
        count += 1
    assert count == rt.base_queryset().count()
    assert count > 0, f"the demo set has no {entity}"
    assert len(keys) == count, "keys must be unique"
    delete = delete_envelope(entity, line["key"], count + 1)
    validate(delete)


def test_records_stream_in_chunks(demo_network, django_assert_max_num_queries):
    rt = record_type("postes")
    total = rt.base_queryset().count()
    assert total > 100
    # One query per chunk (a server-side cursor on PostgreSQL): memory stays flat.
    with django_assert_max_num_queries(3):
        assert sum(1 for _ in rt.records(chunk_size=100)) == total


def test_record_shapes(demo_network):
    pole = next(record_type("postes").records())
    assert set(pole) >= {"id", "distributor", "plate", "feeder", "vnr", "location", "as_of"}
    assert pole["location"]["type"] == "Point"
    for coordinate in pole["location"]["coordinates"]:
        assert round(coordinate, 7) == coordinate
    assert isinstance(pole["mt_voltage_kv"], int | float)
    assert len(pole["as_of"]) == 10  # ISO date
    assert record_type("postes").key(pole) == {"id": pole["id"]}
    span = next(record_type("vanos").records())
    assert span["geom"]["type"] == "LineString"
    customer = next(record_type("clientes").records())
    # SEC receives the personal data the distributor shows.
    assert {"rut", "name", "email", "phone", "address"} <= set(customer)
    bill = next(record_type("facturaciones_mensuales").records())
    assert record_type("facturaciones_mensuales").key(bill) == {"id": bill["id"]}
    document = next(record_type("documentos_facturacion").records())
    assert len(document["pdf_sha256"]) == 64
    read = next(record_type("lecturas_registro").records())
    assert read["ts"].endswith("+00:00")


def _pole_line():
    rt = record_type("postes")
    return envelope(rt, "insert", next(rt.records()), 7)


BROKEN_RECORDS = {
    "missing field": lambda r: r.pop("feeder"),
    "unknown field": lambda r: r.update(color="rojo"),
    "decimal as string": lambda r: r.update(mt_voltage_kv="13.2"),
    "date not ISO": lambda r: r.update(as_of="01/02/2026"),
    "geometry kind": lambda r: r["location"].update(type="LineString"),
    "latitude out of range": lambda r: r["location"].update(coordinates=[-70.5, -133.0]),
    "plate too long": lambda r: r.update(plate="P" * 31),
    "null where required": lambda r: r.update(vnr=None),
}


@pytest.mark.parametrize("breakage", BROKEN_RECORDS)
def test_a_broken_record_is_refused(demo_network, breakage):
    line = _pole_line()
    assert is_valid_for_both(line) == (True, True)
    BROKEN_RECORDS[breakage](line["record"])
    assert is_valid_for_both(line) == (False, False)


BROKEN_ENVELOPES = {
    "unknown op": lambda e: e.update(op="upsert"),
    "unknown entity": lambda e: e.update(entity="poles"),
    "negative version": lambda e: e.update(version=-1),
    "insert without record": lambda e: e.pop("record"),
    "delete with record": lambda e: e.update(op="delete"),
    "key of another shape": lambda e: e.update(key={"distributor": "X", "id": 3}),
    "key without id": lambda e: e["key"].pop("id"),
    "key as a code": lambda e: e.update(key={"code": "P1"}),
    "key id as text": lambda e: e["key"].update(id="12"),
}


@pytest.mark.parametrize("breakage", BROKEN_ENVELOPES)
def test_a_broken_envelope_is_refused(demo_network, breakage):
    line = _pole_line()
    assert is_valid_for_both(line) == (True, True)
    BROKEN_ENVELOPES[breakage](line)
    assert is_valid_for_both(line) == (False, False)


def test_a_bad_enum_value_is_refused(demo_network):
    rt = record_type("equipos")
    line = envelope(rt, "update", next(rt.records()), 3)
    assert is_valid_for_both(line) == (True, True)
    line["record"]["kind"] = "transformador"
    assert is_valid_for_both(line) == (False, False)


SHA = "ab" * 32
MANIFEST = {
    "batch": 1,
    "kind": "delta",
    "contract_version": contract.CONTRACT_VERSION,
    "created_at": "2026-12-07T03:00:00+00:00",
    "previous_manifest_sha256": SHA,
    "entities": {
        "postes": {
            "pages": [{"file": "postes-0001.jsonl.gz", "records": 3, "bytes": 512, "sha256": SHA}],
            "records": 3,
            "truncated": False,
            "inserted": 1,
            "updated": 1,
            "deleted": 1,
        }
    },
    "interval_partitions": [
        {
            "partition": "metering_intervalreading_2026_11",
            "month": "2026-11",
            "file": "lecturas_intervalo-2026-11.csv.gz",
            "records": 2880,
            "bytes": 40960,
            "sha256": SHA,
        }
    ],
}


def test_a_manifest_validates():
    validate_manifest(MANIFEST)
    initial = {**MANIFEST, "batch": 0, "kind": "inicial", "previous_manifest_sha256": None}
    validate_manifest(initial)


BROKEN_MANIFESTS = {
    "delta without chain": lambda m: m.update(previous_manifest_sha256=None),
    "initial load not batch 0": lambda m: m.update(kind="inicial"),
    "batch 0 chained": lambda m: m.update(batch=0, kind="inicial"),
    "unknown entity": lambda m: m["entities"].update(poles=m["entities"]["postes"]),
    "bad sha256": lambda m: m["entities"]["postes"]["pages"][0].update(sha256="xyz"),
    "missing counts": lambda m: m["entities"]["postes"].pop("deleted"),
    "unknown kind": lambda m: m.update(kind="parcial"),
}


@pytest.mark.parametrize("breakage", BROKEN_MANIFESTS)
def test_a_broken_manifest_is_refused(breakage):
    manifest = copy.deepcopy(MANIFEST)
    BROKEN_MANIFESTS[breakage](manifest)
    with pytest.raises(ValidationError):
        validate_manifest(manifest)


def test_contract_1_2_sends_the_customers_tariff(demo_network):
    """1.2 only adds: the tariff is a field of clientes, an unknown option is refused."""
    assert contract.CONTRACT_VERSION == "1.2"
    rt = record_type("clientes")
    schema = contract.schema_for("clientes")
    assert "tariff" in schema["required"] and "" in schema["properties"]["tariff"]["enum"]
    record = next(rt.records())
    assert record["tariff"] in schema["properties"]["tariff"]["enum"]
    line = envelope(rt, "update", {**record, "tariff": "BT4.3"}, 5)
    validate(line)
    line["record"]["tariff"] = "BT9"
    with pytest.raises(ValidationError):
        validate(line)


def test_a_tariff_change_is_captured_as_an_update_of_the_customer():
    from regulator.models import Change, CurrentTxid
    from tests.factories import make_customer

    customer = make_customer()
    Change.objects.filter(txid=CurrentTxid()).delete()  # the factory's own rows
    customer.tariff = "BT2"
    customer.save(update_fields=["tariff"])
    changes = Change.objects.filter(txid=CurrentTxid(), aggregatetype="clientes")
    assert list(changes.values_list("aggregateid", "type")) == [(str(customer.pk), "update")]
