"""Fixtures of the capacity tests: the real mv_oberrhein export imported into the database."""

from __future__ import annotations

import pytest

from network.models import Distributor
from tests.network.conftest import catalogue, oberrhein  # noqa: F401  (fixtures)
from tests.network.import_helpers import OBERRHEIN, run


@pytest.fixture
def imported(catalogue, oberrhein) -> Distributor:  # noqa: F811
    """mv_oberrhein through the importer, with its catalogue conductor types."""
    output, error = run(OBERRHEIN, "--source", oberrhein)
    assert error is None, output
    return Distributor.objects.get(code="OBERRHEIN")
