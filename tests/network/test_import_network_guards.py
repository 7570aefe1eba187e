"""What stops import_network before it writes anything.

Mistakes in the mapping, VNR constants the catalogue lacks, demo distributors, dry runs.
"""

from __future__ import annotations

import pytest

from network.models import Distributor, Pole
from network.services.importing import NetworkImportError, import_network, load_mapping
from tests.network.import_helpers import counts, mapping_variant, ours, run

pytestmark = pytest.mark.django_db


def test_an_unknown_column_in_the_mapping_is_fatal_and_names_column_and_file(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, 'mt_voltage_kv = "kv"', 'mt_voltage_kv = "kv_nominal"')
    before = counts()

    output, error = run(mapping)

    assert error is not None
    assert "nodes.geojson" in str(error) and "'kv_nominal'" in str(error)
    assert "[poles] fields.mt_voltage_kv" in str(error)
    assert "No se modificó la base de datos" in str(error)
    assert counts() == before


def test_a_vnr_constant_missing_from_the_catalogue_is_fatal(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, '"PO-HA-10"', '"PO-XX-99"')

    with pytest.raises(NetworkImportError, match="catálogo VNR no tiene PO-XX-99"):
        import_network(mapping)

    assert not Distributor.objects.filter(code="PRUEBA").exists()


def test_mapping_mistakes_are_fatal_before_anything_is_read(tmp_path):
    cases = {
        ('mt_voltage_kv = "kv"', 'mt_volts = "kv"'): "no tiene un campo importable así",
        ('mt_voltage_kv = "kv"', ""): "falta mt_voltage_kv",
        ('capacity_a = "amps"', 'capacity_a = { expr = "max(amps)" }'): "expresión",
        ('ref = "poles" }\nto_pole', 'ref = "spans" }\nto_pole'): "ref 'spans' inválido",
    }
    for (old, new), message in cases.items():
        with pytest.raises(NetworkImportError, match=message):
            load_mapping(mapping_variant(tmp_path, old, new))


def test_a_demo_distributor_is_never_imported_into(catalogue, tmp_path):
    Distributor.objects.create(code="PRUEBA", name="Demo", synthetic=True)
    mapping = mapping_variant(tmp_path, "", "")

    with pytest.raises(NetworkImportError, match="es de demostración"):
        import_network(mapping)

    assert not ours(Pole, "PRUEBA").exists()


def test_a_dry_run_reports_but_stores_nothing(catalogue, tmp_path):
    mapping = mapping_variant(tmp_path, "", "")
    before = counts()

    output, error = run(mapping, "--dry-run")

    assert "simulación: no se guardó nada" in output
    assert error is not None  # rows would have been skipped
    assert counts() == before
