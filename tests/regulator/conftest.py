"""The network import tests' fixtures, for the capture tests that run an import."""

from __future__ import annotations

import pytest

from tests.network.conftest import catalogue  # noqa: F401


@pytest.fixture
def reference_data(db):
    """What migrations load, again: a transactional test's flush empties every table, the
    catalogues and groups included, for the tests after it."""
    from accounts.services import ensure_groups
    from metering.services.catalogs import load_catalogs

    load_catalogs()
    ensure_groups()
