from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from accounts.services import PLANNERS_GROUP

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def shared_data() -> Path:
    """The real third-party data sets (../shared/data); never copied into the repository."""
    path = Path(settings.SHARED_DATA_DIR)
    if not path.is_dir():
        pytest.fail(f"real data sets not found at {path} (set SHARED_DATA_DIR)")
    return path


@pytest.fixture
def planner(django_user_model):
    user = django_user_model.objects.create_user(
        "planificadora", "plan@example.cl", "clave-segura-123", profile="planner", is_staff=True
    )
    user.groups.add(Group.objects.get(name=PLANNERS_GROUP))
    return user


@pytest.fixture(scope="session")
def demo_network(django_db_setup, django_db_blocker) -> dict[str, int]:
    """The demo data set, loaded once per test session (tests still roll back their own rows)."""
    from network.services.seed import seed_network

    with django_db_blocker.unblock():
        return seed_network("demo", progress=False, log=lambda _: None)


@pytest.fixture
def public_user(django_user_model):
    return django_user_model.objects.create_user(
        "desarrollador_pmgd",
        "pmgd@example.cl",
        "clave-segura-123",
        profile="public",
        rut="11111111-1",
    )


@pytest.fixture
def public_client(client, public_user):
    client.force_login(public_user)
    return client


def pytest_collection_modifyitems(items):
    # Browser tests run last: their live server commits, and the flush after them empties the
    # database, which would take the session's demo data set away from the tests that follow.
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
