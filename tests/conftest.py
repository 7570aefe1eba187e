from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Group

from accounts.services import PLANNERS_GROUP

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing():
    """Passwords hashed with MD5 in tests: the production hasher (PBKDF2, a million rounds) takes
    a quarter of a second a hash, and most tests make users (five for the personas) or log in.
    Tests about the hashers themselves set their own list (the `settings` fixture)."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def _fresh_alarms():
    """Each test reads the alarms its own rows raise, not those a test before it saw (the
    process remembers them for ALARM_CACHE_SECONDS)."""
    from portal.context_processors import remembered

    remembered.clear()
    yield
    remembered.clear()


@pytest.fixture(autouse=True)
def _no_waiting_tiles():
    """Each test starts without tiles another one's fast-path requests rendered and left
    waiting to be stored (maps.tiles.cache: store_later), and leaves none."""
    from maps.tiles import cache

    cache.drop_waiting()
    yield
    cache.drop_waiting()


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
def demo_network(request, django_db_setup, django_db_blocker) -> dict[str, int]:
    """The demo data set, loaded once per test session (tests still roll back their own rows).
    When tests that flush the database (browser tests: their live server commits) need it
    after that, a copy of every table is kept, for `reload_demo` to put back."""
    from portal.services import seed_demo

    with django_db_blocker.unblock():
        counts = seed_demo("demo", progress=False, log=lambda _: None)
        if any(
            _flushes(item) and "demo_network" in getattr(item, "fixturenames", ())
            for item in request.session.items
        ):
            _DemoSnapshot.take()
    return counts


def reload_demo() -> None:
    """The demo data set again, after a transactional test's flush emptied the database: the
    rows `demo_network` loaded, copied back table by table (the same rows, ids included, as
    the seed wrote them), or, without that copy or the rights to restore it, seeded again."""
    if not _DemoSnapshot.restore():
        from portal.services import seed_demo

        seed_demo("demo", progress=False, log=lambda _: None)


class _DemoSnapshot:
    """Every table's rows, as the demo seed left them, in a schema of their own (unlogged
    copies: no indexes, no triggers, not seen by the application)."""

    SCHEMA = "demo_snapshot"
    KEPT = ("django_migrations", "spatial_ref_sys")  # the flush leaves them as they are
    tables: list[tuple[str, str]] = []  # (table, its column list without generated columns)

    @classmethod
    def take(cls) -> None:
        from django.db import connection

        with connection.cursor() as cur:
            cur.execute(
                "SELECT c.relname, string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)"
                " FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid"
                " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
                " AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''"
                " AND c.relname <> ALL(%s) GROUP BY c.relname ORDER BY c.relname",
                [list(cls.KEPT)],
            )
            tables = cur.fetchall()
            cur.execute(f"DROP SCHEMA IF EXISTS {cls.SCHEMA} CASCADE")
            cur.execute(f"CREATE SCHEMA {cls.SCHEMA}")
            for table, columns in tables:
                cur.execute(
                    f'CREATE UNLOGGED TABLE {cls.SCHEMA}."{table}" AS'
                    f' SELECT {columns} FROM public."{table}"'
                )
        cls.tables = tables

    @classmethod
    def restore(cls) -> bool:
        from django.db import DatabaseError, connection, transaction

        if not cls.tables:
            return False
        with transaction.atomic(), connection.cursor() as cur:
            try:
                # No trigger (foreign keys, SEC's change capture) fires on the copy: the rows
                # go back exactly as they were, the captured changes included. Superusers only
                # (./dev's local role is one).
                with transaction.atomic():
                    cur.execute("SET LOCAL session_replication_role = replica")
            except DatabaseError:
                return False
            names = ", ".join(f'public."{table}"' for table, _ in cls.tables)
            cur.execute(f"TRUNCATE {names}")
            for table, columns in cls.tables:
                cur.execute(
                    f'INSERT INTO public."{table}" ({columns})'
                    f' SELECT {columns} FROM {cls.SCHEMA}."{table}"'
                )
        # The flush's post_migrate created content types again, under other ids.
        from django.contrib.contenttypes.models import ContentType

        ContentType.objects.clear_cache()
        return True


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
    # Tests on the session's demo data set run after the others: it stays loaded once loaded,
    # and some tests need an empty territory (the boundary imports). Browser tests run last:
    # their live server commits, and the flush after them empties the database, which would
    # take the demo set away from the tests that follow. The sort is stable: within each
    # group the files keep their order.
    # Other tests in real transactions (the regulator's cuts) flush too: they go last as well.
    items.sort(
        key=lambda item: (
            _flushes(item),
            "demo_network" in getattr(item, "fixturenames", ()),
        )
    )


def _flushes(item) -> bool:
    return item.get_closest_marker("browser") is not None or _transactional(item)


def _transactional(item) -> bool:
    marker = item.get_closest_marker("django_db")
    return bool(marker and marker.kwargs.get("transaction"))


# --- Personas: the six profiles of SPEC.md's table (healthchecks' alice/bob/charlie) ---------

PERSONAS = ("anonymous", "public", "client", "eg", "sec", "planner")
PASSWORD = "clave-segura-123"


@pytest.fixture
def client_user(demo_network, django_user_model):
    """A customer of the demo network, without generation, with an account of their own: the
    one the demo account shows (bills, invoices, meter readings, a DR program)."""
    from customers.services.demo import showcase_customer

    customer = showcase_customer(eg=False)
    return django_user_model.objects.create_user(
        "cliente_demo", "cliente@example.cl", PASSWORD, profile="client", customer=customer
    )


@pytest.fixture
def eg_user(demo_network, django_user_model):
    """An EG (net billing) customer of the demo network, with an account of their own (the
    demo EG account's customer: contract, remanentes, register reads)."""
    from customers.services.demo import showcase_customer

    customer = showcase_customer(eg=True)
    return django_user_model.objects.create_user(
        "cliente_eg_demo", "eg@example.cl", PASSWORD, profile="eg", customer=customer
    )


@pytest.fixture
def sec_user(django_user_model):
    return django_user_model.objects.create_user(
        "auditor_sec", "auditor@sec.example.cl", PASSWORD, profile="sec"
    )


@pytest.fixture
def persona_users(public_user, client_user, eg_user, sec_user, planner) -> dict:
    """Each persona's user (None for the anonymous visitor), over the demo network."""
    return {
        "anonymous": None,
        "public": public_user,
        "client": client_user,
        "eg": eg_user,
        "sec": sec_user,
        "planner": planner,
    }


@pytest.fixture
def login_as(persona_users):
    """A test client logged in as the named persona (a new client each call)."""
    from django.test import Client

    def login(name: str) -> Client:
        browser = Client()
        user = persona_users[name]
        if user is not None:
            browser.force_login(user)
        return browser

    return login


def pytest_collection_finish(session):
    """What collection loaded (Django, the apps, every test module and item) kept out of the
    garbage collector's full collections, as the servers' processes are (core/runtime.py)."""
    import gc

    gc.collect()
    gc.freeze()
