from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def metering_tables_of_their_own(request):
    """The metering tests look rows up globally: each starts from empty metering tables,
    whatever the session's demo data set holds (the TRUNCATE rolls back with the test)."""
    marker = request.node.get_closest_marker("django_db")
    if marker is None or marker.kwargs.get("transaction") or "demo_network" in request.fixturenames:
        return
    request.getfixturevalue("db")  # inside the test's transaction, never before it
    from metering.services.reset import clear_metering_data

    clear_metering_data()
