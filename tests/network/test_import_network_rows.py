"""import_network row by row: topology found in the rows, values fixed, broken rows named."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from network.models import Feeder, Pole, Span, Transformer
from network.services.importing import import_network
from tests.network.import_helpers import FIXTURES, mapping_variant, ours, read_report, run

pytestmark = pytest.mark.django_db


def test_a_closed_loop_between_feeders_is_split_and_reported(catalogue, tmp_path):
    switches = json.loads((FIXTURES / "switches.geojson").read_text())
    switches["features"][0]["properties"]["closed"] = True  # the tie SW1 left closed
    closed = tmp_path / "switches.geojson"
    closed.write_text(json.dumps(switches))

    result = import_network(
        mapping_variant(tmp_path, "", ""), files={"equipment": closed}, partial=True
    )

    loops = [p for p in result.problems if p.check == "topologia"]
    assert len(loops) == 1
    assert loops[0].ident == "L6" and loops[0].severity == "aviso"
    assert "une los alimentadores que salen por L1 y L4" in loops[0].reason
    assert "sin equipo normalmente abierto" in loops[0].reason
    assert ours(Span, "PRUEBA").filter(code="L6").exists()


def test_a_span_without_length_takes_the_length_of_its_trace(catalogue, tmp_path):
    lines = json.loads((FIXTURES / "lines.geojson").read_text())
    lines["features"][1]["properties"]["length_m"] = None
    edited = tmp_path / "lines.geojson"
    edited.write_text(json.dumps(lines))

    result = import_network(
        mapping_variant(tmp_path, "", ""), files={"spans": edited}, partial=True
    )

    span = ours(Span, "PRUEBA").get(code="L2")
    assert abs(span.length_m - Decimal("92.93")) < 1
    warning = next(p for p in result.problems if p.ident == "L2" and p.check == "longitud")
    assert warning.severity == "aviso" and f"{span.length_m} m" in warning.outcome


def test_feeders_can_come_from_a_layer_instead_of_the_topology(catalogue, tmp_path):
    feeder = '\nfeeder = { column = "feeder", ref = "feeders" }'
    mapping = mapping_variant(
        tmp_path,
        '[feeders]\nderive = "topology"',
        '[feeders]\nfile = "feeders.csv"\nid = "feeder_id"\n\n[feeders.fields]\n'
        'code = "feeder_id"\nname = "nombre"\nsubstation = { column = "subestacion", '
        'ref = "substations" }\nnominal_voltage_kv = "kv"\ncapacity_a = "amperes"\n'
        'power_kva = "kva"\nshort_circuit_kva = "scc_kva"',
        *((f"[{name}.fields]", f"[{name}.fields]{feeder}")
          for name in ("poles", "spans", "equipment", "transformers")),
    )  # fmt: skip

    result = import_network(mapping, partial=True)

    assert {f.code: f.name for f in ours(Feeder, "PRUEBA")} == {
        "F1": "Prueba Poniente",
        "F2": "Prueba Oriente",
    }
    assert ours(Feeder, "PRUEBA").get(code="F1").capacity_a == 245
    assert set(ours(Pole, "PRUEBA").filter(feeder__code="F2").values_list("plate", flat=True)) == {
        "N4",
        "N5",
    }
    assert ours(Span, "PRUEBA").get(code="L1").from_pole is None
    assert result.skipped == 4


def test_broken_rows_are_named_and_the_rest_is_imported(catalogue, tmp_path):
    report = tmp_path / "informe.csv"
    mapping = mapping_variant(tmp_path, "", "")

    output, error = run(mapping, "--report", report, "--parcial")

    assert error is not None and "4 filas omitidas" in str(error) and error.returncode == 3
    assert "nodes.geojson feature 7 (id N6): sin geometría" in output
    assert "lines.geojson feature 7 (id L7): to_pole: el nodo N99 no existe" in output
    assert "lines.geojson feature 8 (id L8): to_pole: su nodo N6 fue omitido" in output
    assert (
        "transformers.geojson feature 2 (id T2): la placa P-1 ya está en la feature 1 (id T1)"
        in output
    )
    rows = read_report(report)
    errors = {(r["archivo"], r["feature"], r["id"]) for r in rows if r["gravedad"] == "error"}
    assert errors == {
        ("nodes.geojson", "7", "N6"),
        ("lines.geojson", "7", "L7"),
        ("lines.geojson", "8", "L8"),
        ("transformers.geojson", "2", "T2"),
    }
    # The valid rows are stored.
    assert sorted(ours(Pole, "PRUEBA").values_list("plate", flat=True)) == [
        "N1",
        "N2",
        "N3",
        "N4",
        "N5",
    ]
    assert sorted(ours(Span, "PRUEBA").values_list("code", flat=True)) == [
        "L1", "L2", "L3", "L4", "L5", "L6",
    ]  # fmt: skip
    assert sorted(ours(Transformer, "PRUEBA").values_list("code", flat=True)) == ["T1", "T3"]
    feeders = {f.code: f for f in ours(Feeder, "PRUEBA")}
    assert set(feeders) == {"SE1-L1", "SE1-L4"}
    # The tie L6 is open at N2: it belongs to the feeder that feeds N5.
    assert ours(Span, "PRUEBA").get(code="L6").feeder == feeders["SE1-L4"]
    assert ours(Pole, "PRUEBA").get(plate="N2").feeder == feeders["SE1-L1"]
    assert feeders["SE1-L1"].power_kva == 120  # T1 45 kVA + T3 75 kVA
    assert {r["codigo"] for r in rows if r["control"] == "longitud"} == {"L3"}


def test_an_unknown_vnr_code_without_fallback_skips_the_row(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, '"Cu 25" = "VA-CU-25" }', '"Cu 25" = "VA-CU-99" }')

    result = import_network(mapping, partial=True)

    unknown = [p for p in result.problems if p.check == "vnr"]
    assert {p.ident for p in unknown} == {"L5", "L6", "L7", "L8"}
    assert all("código VNR desconocido VA-CU-99" in p.reason for p in unknown)
    assert not ours(Span, "PRUEBA").filter(code__in=["L5", "L6"]).exists()
