"""Fixtures the network tests share.

The API tests read a demo feeder; the import tests need the VNR catalogue and the demo
geography, and the real mv_oberrhein export.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.demo import ensure_demo_geography
from network.models import ConductorType, Feeder
from network.services.synthetic import CONDUCTOR_CATALOGUE, VNR_CATALOGUE, vnr_costs
from vnr.models import VnrCode


@pytest.fixture
def catalogue(db):
    """The demo VNR catalogue and geography, which the mappings' codes and comunas point at."""
    ensure_demo_geography()
    VnrCode.objects.bulk_create(
        (
            VnrCode(code=code, description=text, unit=unit, **vnr_costs(base))
            for code, text, unit, base in VNR_CATALOGUE
        ),
        ignore_conflicts=True,  # the session's demo data set may have loaded it already
    )
    ConductorType.objects.bulk_create(
        (ConductorType(**row) for row in CONDUCTOR_CATALOGUE), ignore_conflicts=True
    )


@pytest.fixture
def oberrhein(shared_data) -> Path:
    return shared_data / "networks" / "mv_oberrhein"


@pytest.fixture
def feeder(demo_network) -> Feeder:
    return (
        Feeder.objects.filter(kind="alimentador", equipment__kind="regulador")
        .select_related("substation__comuna__region")
        .distinct()
        .first()
    )
